"""MarkerJitterBuffer: a video frame leaves the buffer when its marked last packet is in, and
everything else (loss, reordering, no marker) behaves as aiortc's own buffer."""

from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from mezon_nb.media.jitter import MarkerJitterBuffer, release_on_marker


def packet(seq: int, timestamp: int, marker: bool = False) -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp, marker=int(marker))
    p._data = bytes([seq % 256])
    return p


def frames(buffer: JitterBuffer, packets: list[RtpPacket]) -> list[tuple[int, int, bytes]]:
    """(index of the packet whose arrival released it, timestamp, data) per frame released."""
    out = []
    for index, p in enumerate(packets):
        _pli, frame = buffer.add(p)
        if frame is not None:
            out.append((index, frame.timestamp, frame.data))
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


def test_a_lost_packet_holds_frames_as_aiortc_does_and_the_sequence_wraps():
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
