"""Debian's Chromium plays the sandbox's H.264 stream (``stream_codec="h264"``) over WebRTC.

The SDP negotiation is the point: Chromium offers several H.264 profiles; the stream server
answers with constrained baseline, packetization mode 1, and the picture Chromium decodes
carries the sandbox's stamp. Frame rates are not checked (see ``benchmarks/browser.py``).
"""

from __future__ import annotations

import time

import pytest
from browserkit import png_array, wait_for

import mezon_nb
from mezon_nb.media import read_stamp

pytestmark = pytest.mark.browser

SIZE = (640, 480)


def test_chromium_plays_the_h264_stream(context, pages):
    with mezon_nb.Sandbox.start(crowd=False, stream_size=SIZE, stream_fps=30,
                                stream_codec="h264") as sandbox, \
            mezon_nb.connect(sandbox=sandbox) as client:
        auth = client.session()
        cid = sandbox.stream_channel_id
        page = context.new_page()
        page.goto(pages.url + "/stn.html")
        page.evaluate("opts => stnView(opts)", {
            "url": client.stream_url, "token": auth.token, "userId": str(auth.user_id),
            "clanId": str(client.channel(cid).clan_id), "channelId": cid})
        assert wait_for(lambda: page.evaluate("stn.frames") >= 30, timeout=30), \
            page.evaluate("stn.log")
        codecs = page.evaluate("""async () => {
            const out = [];
            (await stn.pc.getStats()).forEach(s => {
                if (s.type === "codec" && s.mimeType.startsWith("video/"))
                    out.push([s.mimeType, s.sdpFmtpLine || ""]);
            });
            return out; }""")
        assert [mime for mime, _ in codecs] == ["video/H264"], codecs
        assert "packetization-mode=1" in codecs[0][1]
        assert "profile-level-id=42e01f" in codecs[0][1].lower() or \
            "profile-level-id=42001f" in codecs[0][1].lower()
        stamp = wait_for(lambda: read_stamp(png_array(page.locator("video").screenshot()),
                                            now=time.time()), 10)
        assert stamp is not None, "Chromium's picture has no readable stamp"
        assert sandbox.control("state")["stream"]["codec"] == "H264"
        page.evaluate("stn.leave()")
        page.close()
