"""The stream's encoded frames: read from aiortc's receiver before decoding, decoded for Python
only on demand (its sound too), keyframe requests rate-limited (in simulated time).

Real VP8 from libvpx and the real sandbox stream over loopback WebRTC."""

from __future__ import annotations

import time
from fractions import Fraction

import av
import pytest

from mezon_nb.core.pattern import TestPattern
from mezon_nb.media.encoded import KeyframeRequests, frame_size, is_keyframe

SIZE = (320, 240)      # the module sandbox's stream (conftest.py)


def vp8_packets(count: int, gop: int) -> list[bytes]:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = *SIZE, "yuv420p"
    codec.time_base, codec.gop_size = Fraction(1, 15), gop
    pattern = TestPattern(*SIZE, fps=15)
    out = []
    for i in range(count):
        frame = pattern.video_frame(i, 0.0)
        frame.pts = i
        out += [bytes(p) for p in codec.encode(frame)]
    return out


def test_vp8_keyframes_and_their_size_are_read_from_the_bytes():
    packets = vp8_packets(12, gop=5)
    keys = [i for i, data in enumerate(packets) if is_keyframe("vp8", data)]
    assert keys and keys[0] == 0 and len(keys) < len(packets)
    assert frame_size("vp8", packets[0]) == SIZE
    assert frame_size("vp8", packets[1]) is None


def test_keyframe_requests_are_rate_limited_and_a_held_one_goes_when_due():
    sent: list[int] = []
    limit = KeyframeRequests(lambda: sent.append(1), interval=0.5)
    assert [limit.request(t) for t in (0.0, 0.1, 0.2, 0.3)] == [True, False, False, False]
    assert limit.next_due() == 0.5 and not limit.due(0.49) and len(sent) == 1
    assert limit.due(0.5) and len(sent) == 2 and limit.next_due() is None
    assert not limit.due(5.0)                    # nothing held: nothing sent
    assert limit.request(5.0) and limit.sent == 3


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def session(client, sandbox):
    session = client.join_stream(sandbox.stream_channel_id, timeout=20)
    yield session
    session.leave()


def test_encoded_frames_reach_listeners_and_a_keyframe_decodes_alone(session):
    seen = []
    unsubscribe = session.listen_encoded(seen.append)
    try:
        assert _wait(lambda: any(f.key for f in seen) and len(seen) > 5, 20)
    finally:
        unsubscribe()
    assert session.decodes_on_demand
    assert {f.codec for f in seen} == {"vp8"}
    key = next(f for f in seen if f.key)
    assert (key.width, key.height) == SIZE
    decoder = av.CodecContext.create("vp8", "r")
    pictures = decoder.decode(av.Packet(key.data))
    assert [(p.width, p.height) for p in pictures] == [SIZE]
    indexes = [f.index for f in seen]
    assert indexes == sorted(indexes) and not any(f.gap for f in seen)


def _arrive_undecoded(session, received: str, decoded: str, count: int) -> int:
    """With nothing in Python taking them: wait (bounded) for ``count`` more items to arrive
    (``session.stats.<received>``); at most 2 of them, already queued to the decoder when the
    lease ended, are decoded (``<decoded>``). Returns the decoded count before."""
    time.sleep(0.3)                              # items already queued to the decoder
    before, start = getattr(session.stats, decoded), getattr(session.stats, received)
    assert _wait(lambda: getattr(session.stats, received) >= start + count, 20)
    assert getattr(session.stats, decoded) - before <= 2
    return before


def test_nothing_is_decoded_while_python_takes_no_frames(session):
    session._lease_until = 0.0                   # the first frames' lease is over
    assert not session.wants_decoded()
    _arrive_undecoded(session, "frames_received", "frames_decoded", 20)
    with session.frames() as frames:             # a consumer: decoding starts on a keyframe
        assert session.wants_decoded()
        frame = frames.get(timeout=15)
        assert frame is not None and frame.array.shape == (SIZE[1], SIZE[0], 3)
    assert session.stats.keyframe_requests >= 1


@pytest.mark.parametrize(("lease", "decoded", "latest", "wants"), [
    ("_lease_until", "frames_decoded", "latest_frame", "wants_decoded"),
    ("_audio_lease_until", "audio_frames_decoded", "latest_audio", "wants_audio"),
], ids=["frame", "audio"])
def test_latest_after_an_idle_while_is_a_fresh_one(session, lease, decoded, latest, wants):
    setattr(session, lease, 0.0)                 # the first items' lease is over
    time.sleep(0.3)
    before = getattr(session.stats, decoded)
    item = getattr(session, latest)(timeout=15)
    assert item is not None and item.index >= before
    assert getattr(session, wants)()             # the lease goes on for the next calls


def test_sound_is_decoded_only_while_python_listens(session):
    session._audio_lease_until = 0.0             # the first chunks' lease is over
    assert session.decodes_audio_on_demand and not session.wants_audio()
    decoded = _arrive_undecoded(session, "audio_frames_received", "audio_frames_decoded", 25)
    with session.audio_frames() as chunks:       # a listener: decoding goes on at once
        assert session.wants_audio()
        chunk = chunks.get(timeout=15)
        assert chunk is not None and chunk.sample_rate == 48_000
    assert session.stats.audio_frames_decoded > decoded
