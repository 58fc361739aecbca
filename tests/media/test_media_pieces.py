"""The pure pieces, without WebRTC: the stamp through VP8 and H.264, the drop-oldest buffers,
encode-once fan-out, tolerant STN parsing and error mapping.

Not covered: anything on a socket (the other files in this folder).
"""

from __future__ import annotations

import asyncio

import av
import pytest

from mezon_nb.errors import AuthenticationError, StreamEndedError, StreamError, StreamNotLiveError
from mezon_nb.media.frames import FrameHub
from mezon_nb.media.session import stamp_of
from mezon_nb.media.signaling import error_for
from mezon_nb.protocol import stn
from mezon_nb.protocol.stamp import read_stamp
from mezon_nb.sandbox.stn.fanout import Fanout, VideoEncoder
from mezon_nb.sandbox.stn.pattern import TestPattern


@pytest.mark.parametrize("size", [(320, 240), (640, 480), (1280, 720)])
@pytest.mark.parametrize("codec", ["libvpx", "libx264"])
def test_stamp_survives_compression(size, codec):
    pattern = TestPattern(*size, fps=30)
    if codec == "libvpx":
        encoder = VideoEncoder(*size, fps=30, bitrate=300_000)  # the low end
        encode = encoder.encode
    else:
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = *size, "yuv420p"
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "35"}
        encode = lambda frame, keyframe=False: ctx.encode(frame)
    decoder = av.CodecContext.create("libvpx" if codec == "libvpx" else "h264", "r")
    decoded = []
    for i in range(10):
        for packet in encode(pattern.video_frame(i, 1000.0 + i / 30), i == 0):
            decoded += decoder.decode(packet)
    assert len(decoded) >= 8
    for frame in decoded:
        assert stamp_of(frame) is not None
        stamp = read_stamp(frame.to_ndarray(format="rgb24"), now=1000.5)
        assert stamp is not None and stamp.captured_at == pytest.approx(1000 + stamp.index / 30,
                                                                         abs=0.002)


def test_hub_drop_policy_counts_and_closes():
    hub = FrameHub(buffer=3)
    fast, slow = hub.stream(100), hub.stream()
    for i in range(10):
        hub.publish(i)
    assert list(fast.drain()) == list(range(10))
    assert list(slow.drain()) == [7, 8, 9] and slow.dropped == 7
    slow.close()
    assert hub.dropped == 7
    hub.close()
    assert fast.get(timeout=0.01) is None and list(hub.stream()) == []


def test_fanout_hands_the_same_encoded_packets_to_every_viewer():
    async def main():
        fanout = Fanout("video")
        tracks = [fanout.subscribe() for _ in range(3)]
        encoder = VideoEncoder(320, 240, fps=15)
        pattern = TestPattern(320, 240, fps=15)
        sent = []
        for i in range(5):
            for packet in encoder.encode(pattern.video_frame(i), keyframe=i == 0):
                fanout.push(packet)
                sent.append(packet)
        late = fanout.subscribe()  # waits for the next keyframe
        fanout.push(sent[2])
        assert late.pending == 0 and fanout.keyframe_requested
        received = []
        for t in tracks:  # not a nested comprehension: Python 3.10 rejects an await inside one
            received.append([await t.recv() for _ in sent])
        assert all(r == sent for r in received)  # the very same objects: encoded once
        fanout.close()

    asyncio.run(main())


def test_stn_parsing_is_tolerant():
    assert stn.decode('{"Key":"sd_answer","Value":{"type":"answer","sdp":"v=0"},"X":1}').extra \
        == {"X": 1}
    assert stn.decode("[1,2]") is None and stn.decode('{"Value":1}') is None
    msg = stn.decode('{"Key":"session_state_changed","State":"3","ChannelId":6}')
    assert msg.state is None and msg.channel_id == "6"
    assert stn.candidate_fields('{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}') == (
        "1 1 udp 1 1.2.3.4 5 typ host", None, None)
    assert stn.channel_ids({"not": "a list"}) == {}


@pytest.mark.parametrize(("text", "kind"), [
    ('channel "6" not found', StreamNotLiveError),
    ('channel "6" not ready', StreamNotLiveError),
    ("invalid token", AuthenticationError),
    ("publisher session closed", StreamEndedError),
    ('channel "6" is already in use', StreamError),
])
def test_error_texts_map_to_typed_errors(text, kind):
    assert type(error_for(text)) is kind


def test_publish_rejects_what_it_cannot_read(tmp_path):
    from types import SimpleNamespace

    from mezon_nb.errors import MediaError
    from mezon_nb.media import publish

    async def session():
        return SimpleNamespace(token="t", user_id="1")

    async def channel(cid):
        return SimpleNamespace(clan_id="1", is_streaming=True)

    fake = SimpleNamespace(stream_url="ws://127.0.0.1:9/stn", session=session, channel=channel)
    with pytest.raises(MediaError, match="opening the source"):
        asyncio.run(publish(fake, "6", str(tmp_path / "missing.mp4")))
    with pytest.raises(TypeError, match="numpy frames"):
        asyncio.run(publish(fake, "6", 42))


def test_frame_array_is_safe_from_many_threads_at_once():
    """A notebook cell, the widget's encoder and the recorder may convert one frame together:
    without a lock PyAV's libswscale crashed the process (seen as a dead kernel)."""
    import threading

    import av
    import numpy as np

    from mezon_nb.media import Frame

    rgb = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    source = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    for index in range(40):
        frame = Frame(index, None, 1280, 720, 0.0, None, _source=source.reformat())
        start = threading.Barrier(4)
        shapes = []

        def read(frame=frame, start=start, shapes=shapes):
            start.wait(timeout=10)
            shapes.append(frame.array.shape)

        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert shapes == [(720, 1280, 3)] * 4
