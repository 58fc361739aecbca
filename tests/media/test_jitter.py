"""MarkerJitterBuffer: a video frame leaves the buffer when its marked last packet is in; a
packet lost for good is given up once ``patience`` complete frames wait behind it, and the frame
released then says ``gap``; everything else (reordering, no marker) behaves as aiortc's own
buffer. Packet-level: sequences of RtpPackets in, frames out, no clock."""

import itertools
import random

import pytest
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from mezon_nb.media.jitter import MarkerJitterBuffer, release_on_marker


def packet(seq: int, timestamp: int, marker: bool = False) -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp, marker=int(marker))
    p._data = bytes([seq % 256])
    return p


def frames(buffer: JitterBuffer, packets: list[RtpPacket], field: str = "data") -> list[tuple]:
    """(index of the packet whose arrival released it, timestamp, ``field``) per frame
    released (``field``: ``data`` or ``gap``)."""
    out = []
    for index, p in enumerate(packets):
        _pli, frame = buffer.add(p)
        if frame is not None:
            out.append((index, frame.timestamp, getattr(frame, field)))
    return out


def stream(count: int, per_frame: int = 3, first_seq: int = 1, marker: bool = True):
    packets, seq = [], first_seq
    for f in range(count):
        for i in range(per_frame):
            packets.append(packet(seq, 3000 * f, marker and i == per_frame - 1))
            seq = (seq + 1) % 65536
    return packets


def test_each_frame_leaves_with_its_marked_packet_not_with_the_next_frame():
    packets = stream(4)
    ours = frames(MarkerJitterBuffer(capacity=64, is_video=True), packets)
    theirs = frames(JitterBuffer(capacity=64, is_video=True), packets)
    assert [(i, ts) for i, ts, _ in ours] == [(2, 0), (5, 3000), (8, 6000), (11, 9000)]
    assert [(i, ts) for i, ts, _ in theirs] == [(3, 0), (6, 3000), (9, 6000)]   # a frame late
    assert [d for _, _, d in ours[:3]] == [d for _, _, d in theirs]             # same bytes
    assert ours[0][2] == bytes([1, 2, 3])


def test_a_reordered_frame_leaves_once_its_gap_is_filled():
    a, b, c, d, e, f = stream(2)
    ours = frames(MarkerJitterBuffer(capacity=64, is_video=True), [a, c, b, d, e, f])
    assert [(i, ts, data) for i, ts, data in ours] == [(2, 0, bytes([1, 2, 3])),
                                                       (5, 3000, bytes([4, 5, 6]))]


def test_a_lost_packet_holds_frames_while_fewer_than_patience_wait_and_the_sequence_wraps():
    packets = stream(3, first_seq=65534)
    lost = packets[:1] + packets[2:]            # the middle packet of frame 0 never comes
    ours = frames(MarkerJitterBuffer(capacity=64, is_video=True), lost)
    assert ours == frames(JitterBuffer(capacity=64, is_video=True), lost) == []  # until a NACK
    complete = frames(MarkerJitterBuffer(capacity=64, is_video=True), packets)
    assert [ts for _, ts, _ in complete] == [0, 3000, 6000]


def test_without_markers_it_is_aiortcs_buffer():
    packets = stream(4, marker=False)
    ours = frames(MarkerJitterBuffer(capacity=64, is_video=True), packets)
    theirs = frames(JitterBuffer(capacity=64, is_video=True), packets)
    assert ours == theirs and len(ours) == 3


def test_release_on_marker_needs_aiortcs_receiver():
    class NotAReceiver:
        pass

    assert release_on_marker(NotAReceiver()) is False


def test_a_frame_after_lost_frames_says_gap_and_names_its_stream():
    packets = stream(12, per_frame=2)
    lost = packets[:3] + packets[4:]     # frame 1 is incomplete: it never leaves
    buffer = MarkerJitterBuffer(capacity=8, is_video=True)
    released = []
    for p in lost:
        p.ssrc = 1234
        _pli, frame = buffer.add(p)
        if frame is not None:
            released.append((frame.timestamp, frame.gap))
    assert released[0] == (0, False)
    after = [gap for ts, gap in released if ts > 3000]
    assert after and after[0] is True and not any(after[1:]), released
    assert 3000 not in [ts for ts, _ in released]
    assert buffer.ssrc == 1234


@pytest.mark.parametrize("lost", [0, 1, 2], ids=["first", "middle", "marked"])
def test_a_packet_lost_for_good_is_given_up_after_patience_frames(lost):
    """aiortc's buffer would hold every later frame until 512 packets had passed."""
    packets = stream(10, per_frame=3)
    arriving = packets[:3 + lost] + packets[4 + lost:]     # one packet of frame 1 never comes
    buffer = MarkerJitterBuffer(capacity=512, is_video=True, patience=3)
    out = frames(buffer, arriving, "gap")
    assert out[0] == (2, 0, False)
    # frame 1 is lost; when its marked packet is lost, frame 2's start is unknown too, so the
    # three complete frames that release the picture are 2, 3, 4 or 3, 4, 5
    newest = 4 if lost < 2 else 5
    assert out[1] == (arriving.index(packets[3 * newest + 2]), 3000 * newest, True)
    assert [(ts, gap) for _, ts, gap in out[2:]] == [(3000 * f, False)
                                                    for f in range(newest + 1, 10)]
    assert buffer.given_up == 1
    assert frames(JitterBuffer(capacity=512, is_video=True), arriving)[1:] == []  # aiortc's


def test_a_resend_within_patience_keeps_every_frame_and_no_gap():
    packets = stream(6, per_frame=3)
    late = packets[4]                                     # frame 1's middle packet, resent
    arriving = packets[:4] + packets[5:11] + [late] + packets[11:]
    out = frames(MarkerJitterBuffer(capacity=512, is_video=True, patience=3), arriving, "gap")
    assert [(ts, gap) for _, ts, gap in out] == [(3000 * f, False) for f in range(6)]


def test_patience_must_be_a_frame_or_more():
    with pytest.raises(ValueError, match="patience must be at least 1"):
        MarkerJitterBuffer(capacity=64, is_video=True, patience=0)


@pytest.mark.parametrize("per_frame", [1, 2, 5, 8])
@pytest.mark.parametrize("seed", range(4))
def test_random_loss_every_frame_out_is_whole_and_a_gap_is_always_said(per_frame, seed):
    """Bursts of loss, random per packet: every frame released is exactly one sent frame, in
    order; a frame after a frame that never left says gap (and only then); after the loss
    ends, the picture comes back within ``patience`` frames."""
    rng = random.Random(seed)
    count = 300
    packets = stream(count, per_frame=per_frame, first_seq=65000)
    sent = {p.timestamp: b"" for p in packets}
    for p in packets:
        sent[p.timestamp] += p._data
    arriving = [p for i, p in enumerate(packets)
                if not (100 * per_frame <= i < 200 * per_frame and rng.random() < 0.2)]
    buffer = MarkerJitterBuffer(capacity=512, is_video=True, patience=3)
    out = []
    for index, p in enumerate(arriving):
        _pli, frame = buffer.add(p)
        if frame is not None:
            assert frame.data == sent[frame.timestamp]           # whole, never patched
            out.append((index, frame.timestamp, frame.gap))
    stamps = [ts for _, ts, _ in out]
    assert stamps == sorted(set(stamps))
    for (_, before, _), (_, ts, gap) in itertools.pairwise(out):
        assert gap == (ts != before + 3000), (before, ts, gap)
    assert stamps[:100] == [3000 * f for f in range(100)]
    # the clean tail: at most `patience` + 1 frames after the loss ended are held back
    assert set(range(203, count)) <= {ts // 3000 for ts in stamps}
    if any(gap for _, _, gap in out):
        assert buffer.given_up >= 1
