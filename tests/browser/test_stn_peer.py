"""Chromium as a WebRTC peer of the sandbox's STN stand-in (no Jupyter involved).

Covers: a plain page of ours (``pages/stn.js``) that speaks the STN viewer exchange
(``get_channels`` → ``session_subscriber`` → ``session_received`` → ``connect_subscriber`` +
``session_state_changed`` 3 → ``sd_answer``) receives the sandbox's VP8 test pattern in a
``<video>`` element (``requestVideoFrameCallback`` count, ``getVideoPlaybackQuality``, the
stamp read back from a screenshot), shows up in the sandbox's presence and leaves it; the
production web client's older order (offer at once, Chromium's candidates trickled as
``ice_candidate``, ``connect_subscriber`` on ``channels``, no presence messages) plays too; and a
page that publishes Chromium's fake camera with ``session_publisher`` / ``connect_publisher``
is watched by our Python viewer (``client.join_stream``).

Not covered: frame rates (the machine is shared; see ``benchmarks/browser.py``), audio
content, H.264 (the sandbox sends VP8 only), trickle ICE from the server (aiortc puts its
candidates in the answer).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from browserkit import pixel_difference, png_array, save, wait_for

import mezon_nb
from mezon_nb.media import read_stamp

pytestmark = pytest.mark.browser

SIZE, FPS = (640, 480), 30


@pytest.fixture(scope="module")
def sandbox():
    with mezon_nb.Sandbox.start(crowd=False, stream_size=SIZE, stream_fps=FPS) as box:
        yield box


@pytest.fixture(scope="module")
def client(sandbox):
    client = mezon_nb.connect(sandbox=sandbox)
    yield client
    client.close()


def peer_options(client, channel_id):
    """What the page needs to sign in to the stream server (the token is never printed)."""
    auth = client.session()
    return {"url": client.stream_url, "token": auth.token, "userId": str(auth.user_id),
            "clanId": str(client.channel(channel_id).clan_id), "channelId": str(channel_id)}


def bot_watching(sandbox, channel_id, bot_id):
    presence = sandbox.control("state")["presence"]
    return any(p["user_id"] == bot_id and p["channel_id"] == channel_id for p in presence)


def test_chromium_watches_the_sandbox_stream(context, pages, sandbox, client):
    page = context.new_page()
    page.goto(pages.url + "/stn.html")
    page.evaluate("opts => stnView(opts)", peer_options(client, sandbox.stream_channel_id))
    video = page.locator("video")
    assert wait_for(lambda: page.evaluate("stn.frames") >= 30, timeout=60), \
        page.evaluate("stn.log")
    quality = page.evaluate("document.querySelector('video').getVideoPlaybackQuality()"
                            ".totalVideoFrames")
    assert quality >= 30
    assert page.evaluate("[document.querySelector('video').videoWidth,"
                         " document.querySelector('video').videoHeight]") == list(SIZE)

    a = png_array(video.screenshot())
    first = read_stamp(a, now=time.time())        # the sandbox's stamp, decoded by Chromium
    assert first is not None
    # progress, not a rate: the next pictures carry later stamps, however slowly they come
    later = wait_for(lambda: (s := read_stamp(b := png_array(video.screenshot()),
                                              now=time.time())) is not None
                     and s.index > first.index and (s, b), timeout=30, interval=0.2)
    assert later, "the picture did not move"
    stamp, b = later
    save("stn_viewer.png", video.screenshot())
    assert pixel_difference(a, b) > 2.0, "the picture did not move"
    assert first.captured_at <= stamp.captured_at <= time.time()   # captured before shown

    assert wait_for(lambda: bot_watching(sandbox, sandbox.stream_channel_id, client.bot_id), 30)
    stats = page.evaluate("""async () => {
        const out = [];
        (await stn.pc.getStats()).forEach(s => {
            if (s.type === "inbound-rtp" && s.kind === "video") out.push(s.framesDecoded);
            if (s.type === "codec" && s.mimeType.startsWith("video/")) out.push(s.mimeType);
        });
        return out; }""")
    assert "video/VP8" in stats

    page.evaluate("stn.leave()")
    assert wait_for(lambda: not bot_watching(sandbox, sandbox.stream_channel_id,
                                             client.bot_id), 30), "presence kept the browser"
    page.close()


def test_chromium_trickles_its_candidates_in_the_production_order(context, pages, sandbox,
                                                                    client):
    page = context.new_page()
    page.goto(pages.url + "/stn.html")
    page.evaluate("opts => stnView(opts)",
                  {**peer_options(client, sandbox.stream_channel_id), "trickle": True})
    assert wait_for(lambda: page.evaluate("stn.frames") >= 30, timeout=60), \
        page.evaluate("stn.log")
    log = page.evaluate("stn.log")
    sent = [line.split()[-1] for line in log if " -> " in line]
    assert sent.index("session_subscriber") < sent.index("ice_candidate")
    assert sent.index("get_channels") < sent.index("connect_subscriber")
    assert "session_state_changed" not in sent           # generation A never sends presence
    stamp = read_stamp(png_array(page.locator("video").screenshot()), now=time.time())
    assert stamp is not None
    assert wait_for(lambda: bot_watching(sandbox, sandbox.stream_channel_id, client.bot_id), 30)
    page.evaluate("stn.leave()")      # no State 5 either: the closed socket ends the presence
    assert wait_for(lambda: not bot_watching(sandbox, sandbox.stream_channel_id,
                                             client.bot_id), 10), "presence kept the browser"
    page.close()


def test_python_watches_chromiums_fake_camera(context, pages, sandbox, client):
    idle = next(c.channel_id for c in client.streaming_channels()
                if c.channel_id != sandbox.stream_channel_id)
    assert idle not in sandbox.control("state")["live"]
    page = context.new_page()
    page.goto(pages.url + "/stn.html")
    page.evaluate("opts => stnPublish(opts)", {**peer_options(client, idle),
                                               "width": 640, "height": 480, "fps": 30})
    assert idle in sandbox.control("state")["live"]
    assert wait_for(lambda: bot_watching(sandbox, idle, client.bot_id), 30), \
        "a publisher appears as a joined member"
    session = client.join_stream(idle, timeout=20)
    try:
        assert session.state == "live"
        first = session.latest_frame(timeout=20)
        assert first is not None
        assert wait_for(lambda: session.stats.frames_received >= first.index + 10, timeout=60)
        last = session.latest_frame(timeout=20)
        assert last.array.shape == (480, 640, 3)
        assert pixel_difference(first.array, last.array) > 0.5, "the camera picture is frozen"
        assert float(np.std(last.array)) > 5.0          # a picture, not a flat colour
        stats = session.stats
        assert stats.codec in ("VP8", "H264")
        assert session.latest_audio(timeout=20) is not None
    finally:
        session.leave()
    page.evaluate("stn.stop()")
    assert wait_for(lambda: idle not in sandbox.control("state")["live"], 30)
    page.close()
