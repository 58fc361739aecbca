"""The sandbox stream server's codecs, keyframe requests and packet loss, over real WebRTC.

Covers, for ``stream_codec="vp8"`` and ``"h264"``: mezon_nb's own viewer (``join_stream``)
negotiates that codec and decodes stamped pictures; a viewer's RTCP PLI makes the shared
encoder send a keyframe, and a burst of PLIs makes no more keyframes than the rate limit
allows (one per ``KEYFRAME_INTERVAL``, for all viewers together); ``drop_packets`` drops a
share of the video RTP packets, the viewer notices (it asks for every one again: NACK), and
the pictures keep coming, readable and in order, once the loss is over.

Loss that NACKs cannot repair (resends dropped too, the default): aiortc's own receiver would
hold every later frame until 512 packets had passed; ours gives the lost packets up
(:mod:`mezon_nb.media.jitter`), the frame after them says ``gap`` (counted in the session's
``stats.gaps``), decoding waits for a keyframe it asks for, and readable pictures come back in
order. A plain aiortc peer speaks the STN viewer exchange where the test has to send its own
PLIs.

No timing thresholds: waits are bounded and only decide how long to try; the rate-limit bound
is computed from the time the test itself saw pass, so a slow machine only loosens it.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from websockets.asyncio.client import connect

import mezon_nb
from mezon_nb.media import read_stamp
from mezon_nb.media.ice import host_candidates
from mezon_nb.protocol import stn
from mezon_nb.sandbox.stn.fanout import KEYFRAME_INTERVAL

pytestmark = pytest.mark.media

SIZE, FPS = (320, 240), 15


@pytest.fixture(scope="module", params=["vp8", "h264"])
def codec(request):
    return request.param


@pytest.fixture(scope="module")
def sandbox(codec):  # conftest's ``client`` connects to this one
    with mezon_nb.Sandbox.start(crowd=False, stream_size=SIZE, stream_fps=FPS,
                                stream_codec=codec) as box:
        yield box


def stream_state(sandbox) -> dict:
    return sandbox.control("state")["stream"]


def video_stats(sandbox) -> dict:
    channels = stream_state(sandbox)["channels"]
    return next(c for c in channels if c["channel_id"] == sandbox.stream_channel_id)[
        "video_stats"]


def eventually(predicate, tries: int = 200) -> bool:
    """Whether ``predicate()`` comes true within ``tries`` looks, 0.1 s apart."""
    for _ in range(tries):
        if predicate():
            return True
        time.sleep(0.1)
    return False


def stamped_frames(session, count: int, timeout: float = 30.0) -> list[int]:
    """The stamp indexes of the next ``count`` readable frames (bounded in count and time)."""
    found, deadline = [], time.monotonic() + timeout
    with session.frames(buffer=2) as frames:
        for frame in frames:
            stamp = read_stamp(frame.array)
            if stamp is not None:
                found.append(stamp.index)
            if len(found) >= count or time.monotonic() > deadline:
                break
    return found


def test_the_viewer_negotiates_and_decodes_the_codec(client, sandbox, codec):
    assert stream_state(sandbox)["codec"] == codec.upper()
    session = client.join_stream(sandbox.stream_channel_id, timeout=30)
    try:
        indexes = stamped_frames(session, 10)
        assert session.stats.codec == codec.upper()
        assert len(indexes) == 10 and indexes == sorted(indexes)
        stats = video_stats(sandbox)
        assert stats["viewers"] == 1 and stats["keyframes"] >= 1
    finally:
        session.leave()


class RawViewer:
    """A plain aiortc peer watching the main stream over the STN viewer exchange."""

    def __init__(self, sandbox, client) -> None:
        self.sandbox, self.client = sandbox, client

    async def __aenter__(self) -> RawViewer:
        auth = self.client.session()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.receiver = self.pc.addTransceiver("video", direction="recvonly").receiver
        track = asyncio.get_running_loop().create_future()
        self.pc.on("track", lambda t: track.done() or track.set_result(t))
        with host_candidates(loopback=True):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        self.ws = await connect(f"{self.sandbox.stream_url}/ws?token={auth.token}")
        cid = self.sandbox.stream_channel_id
        envelope = {"ClanId": self.sandbox.clan_id, "ChannelId": cid, "UserId": auth.user_id}
        await self.ws.send(stn.encode("session_subscriber", {
            "type": "offer", "sdp": self.pc.localDescription.sdp}, **envelope))
        while True:
            msg = stn.decode(await asyncio.wait_for(self.ws.recv(), 10))
            assert msg is not None and msg.key != "error", msg
            if msg.key == "session_received":
                await self.ws.send(stn.encode("connect_subscriber", {"ChannelId": cid},
                                              **envelope))
            elif msg.key == "sd_answer":
                await self.pc.setRemoteDescription(
                    RTCSessionDescription(stn.answer_sdp(msg.value), "answer"))
                break
        self.track = await asyncio.wait_for(track, 10)
        await asyncio.wait_for(self.track.recv(), 20)  # the first picture arrived
        return self

    async def ssrc(self) -> int:
        stats = (await self.receiver.getStats()).values()
        return next(s.ssrc for s in stats if s.type == "inbound-rtp")

    async def send_pli(self, count: int = 1) -> None:
        ssrc = await self.ssrc()
        for _ in range(count):
            await self.receiver._send_rtcp_pli(ssrc)  # aiortc's own RTCP PLI sender

    async def __aexit__(self, *exc: object) -> None:
        await self.pc.close()
        await self.ws.close()


def test_a_pli_makes_one_keyframe_and_a_burst_is_rate_limited(client, sandbox):
    async def main():
        async with RawViewer(sandbox, client) as viewer:
            loop = asyncio.get_running_loop()

            async def stats_when(predicate):
                for _ in range(100):  # at most ~10 s
                    stats = await loop.run_in_executor(None, video_stats, sandbox)
                    if predicate(stats):
                        return stats
                    await asyncio.sleep(0.1)
                return stats

            await asyncio.sleep(2 * KEYFRAME_INTERVAL)  # the join's keyframe is long served
            before = await stats_when(lambda s: True)
            await viewer.send_pli()
            one = await stats_when(lambda s: s["keyframes_forced"] > before["keyframes_forced"])
            assert one["keyframe_requests"]["pli"] == before["keyframe_requests"]["pli"] + 1
            assert one["keyframes_forced"] > before["keyframes_forced"]
            assert one["keyframes"] > before["keyframes"]

            # 40 PLIs, one every 50 ms: unlimited, nearly every one would force a keyframe
            started = time.monotonic()
            for _ in range(40):
                await viewer.send_pli()
                await asyncio.sleep(0.05)
            burst = await stats_when(
                lambda s: s["keyframe_requests"]["pli"] >= one["keyframe_requests"]["pli"] + 41
                and s["keyframes_forced"] > one["keyframes_forced"])
            elapsed = time.monotonic() - started
            assert burst["keyframe_requests"]["pli"] == one["keyframe_requests"]["pli"] + 40
            forced = burst["keyframes_forced"] - one["keyframes_forced"]
            assert 1 <= forced <= int(elapsed / KEYFRAME_INTERVAL) + 1, (forced, elapsed)
            assert forced < 40
            # nothing asks any more: the pending request is served, then no more are forced
            await asyncio.sleep(3 * KEYFRAME_INTERVAL)
            settled = await stats_when(lambda s: True)
            await asyncio.sleep(3 * KEYFRAME_INTERVAL)
            assert (await stats_when(lambda s: True))["keyframes_forced"] == \
                settled["keyframes_forced"]

    asyncio.run(main())


def test_dropped_packets_are_noticed_and_the_stream_recovers(client, sandbox):
    session = client.join_stream(sandbox.stream_channel_id, timeout=30)
    try:
        assert stamped_frames(session, 3)
        before = stream_state(sandbox)["loss"]
        loss = sandbox.control("drop_packets", share=0.3, seconds=2, retransmissions=False)
        assert loss["active"] and loss["share"] == 0.3
        assert eventually(lambda: not stream_state(sandbox)["loss"]["active"], 300)
        after = stream_state(sandbox)["loss"]
        dropped = after["dropped"] - before["dropped"]
        assert dropped > 0
        assert after["passed"] > before["passed"]  # a share, not everything
        # the viewer saw every gap and asked for the packets again (NACK)
        assert eventually(
            lambda: stream_state(sandbox)["loss"]["resent"] - before["resent"] >= dropped)
        # and pictures keep coming, readable, in order
        indexes = stamped_frames(session, 10)
        assert len(indexes) == 10 and indexes == sorted(indexes)
        assert session.state == "live"
    finally:
        session.leave()


def test_after_loss_no_resend_repairs_the_picture_comes_back_from_a_keyframe(client, sandbox):
    session = client.join_stream(sandbox.stream_channel_id, timeout=30)
    try:
        assert stamped_frames(session, 3)
        asked = session.stats.keyframe_requests
        forced = video_stats(sandbox)["keyframes_forced"]
        sandbox.control("drop_packets", share=0.3, seconds=2)     # resends are dropped too
        assert eventually(lambda: not stream_state(sandbox)["loss"]["active"], 300)
        indexes = stamped_frames(session, 10)
        assert len(indexes) == 10 and indexes == sorted(indexes)
        stats = session.stats
        assert stats.gaps >= 1 and stats.keyframe_requests > asked, stats
        assert video_stats(sandbox)["keyframes_forced"] > forced
        assert session.state == "live"
    finally:
        session.leave()


@pytest.mark.parametrize(("params", "text"), [
    ({"share": 1.5, "seconds": 1}, "share must be between 0 and 1"),
    ({"share": 0.5, "seconds": 0}, "seconds must be > 0"),
    ({"share": 0.5, "seconds": 10_000}, "seconds must be > 0 and <= 600"),
    ({"share": "lots", "seconds": 1}, "could not convert"),
    ({"seconds": 1}, "missing parameter 'share'"),
    ({"share": 0.1, "seconds": 1, "retransmissions": "yes"}, "must be true or false"),
])
def test_drop_packets_refuses_bad_parameters(sandbox, params, text):
    with pytest.raises(RuntimeError, match=text):
        sandbox.control("drop_packets", **params)
    assert not stream_state(sandbox)["loss"]["active"]


def test_a_bad_codec_is_refused_before_anything_starts():
    with pytest.raises(ValueError, match="stream_codec must be 'vp8' or 'h264'"):
        mezon_nb.Sandbox.start(stream_codec="av1")
