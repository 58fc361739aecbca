"""A video jitter buffer that hands a frame on as soon as its last packet is in.

aiortc's own buffer (1.16) knows a video frame is complete only when a packet of the *next*
frame arrives (its RTP timestamp differs), so every decoded frame waits one frame interval
(33 ms at 30 fps) for no reason. Senders mark the last packet of each video frame with the RTP
marker bit (RFC 3550 §5.1; the VP8 and H.264 payload formats require it, and aiortc's and
Chromium's senders set it), so :class:`MarkerJitterBuffer` releases a frame when its packets,
from the buffer's start up to a marked one, are all in and share one timestamp. Anything else
(a sender that never marks, reordering) falls back to aiortc's rule unchanged.

A packet lost for good (its resend lost too, or none asked for) would hold aiortc's buffer
until ``capacity`` (512) packets pass: seconds to half a minute of frozen picture. Here, once
``patience`` (3) complete frames wait behind a missing packet — time enough for a resend asked
for by NACK to arrive on a link of up to about 100 ms round trip at 30 fps — the buffer gives
up on it and releases the newest of them (the older ones are deltas after a gap, which no
decoder may take; a release per packet would also leave them as a standing delay). A frame counts as complete when all its packets are
in, up to the marked one, and its start is known: the packet before it is in and ends a frame
(marker bit) or carries another timestamp. Each frame it releases says whether frames were
lost just before it (``gap``), so that no delta frame reaches a decoder until a keyframe
(:mod:`mezon_nb.widgets.keyframes`, :mod:`.encoded`), and ``ssrc`` names the stream, for
keyframe requests.

:func:`release_on_marker` puts one into a video receiver of an ``RTCPeerConnection`` before any
packet arrives; on an aiortc whose receiver no longer has the private attribute it does nothing
and says so in a DEBUG line (frames then come one interval later, nothing breaks).

>>> from aiortc.rtp import RtpPacket
>>> buffer = MarkerJitterBuffer(capacity=16, is_video=True)
>>> def packet(seq, ts, marker):
...     p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, marker=marker)
...     p._data = bytes([seq])
...     return p
>>> buffer.add(packet(1, 3000, 0))[1] is None
True
>>> buffer.add(packet(2, 3000, 1))[1].data            # marked: released at once
b'\\x01\\x02'
"""

from __future__ import annotations

import logging
from typing import Any

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.utils import uint16_add

log = logging.getLogger(__name__)

_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"   # where aiortc 1.x keeps a receiver's buffer
_HALF = 0x8000   # a sequence number less than this past another one is newer


class MarkerJitterBuffer(JitterBuffer):
    """aiortc's video :class:`~aiortc.jitterbuffer.JitterBuffer`, plus: a frame whose last
    packet (marker bit) is in, with all its packets before it, is released at once; a missing
    packet is given up once ``patience`` complete frames wait behind it (see the module doc).

    >>> MarkerJitterBuffer(capacity=512, is_video=True).capacity
    512
    >>> MarkerJitterBuffer(capacity=512, patience=0)
    Traceback (most recent call last):
    ...
    ValueError: patience must be at least 1 frame, got 0
    """

    def __init__(self, capacity: int, prefetch: int = 0, is_video: bool = False,
                 patience: int = 3) -> None:
        if patience < 1:
            raise ValueError(f"patience must be at least 1 frame, got {patience!r}")
        super().__init__(capacity, prefetch, is_video)
        self.patience = patience
        self.ssrc: int | None = None
        self.given_up = 0                   # times a missing packet was given up
        self._expected: int | None = None   # first sequence number of the next frame
        self._newest: int | None = None     # the highest sequence number seen

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        self.ssrc = packet.ssrc
        seq = packet.sequence_number
        if self._newest is None or 0 < uint16_add(seq, -self._newest) < _HALF:
            self._newest = seq
        return super().add(packet)

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        start = self._origin
        frame = self._release(sequence_number)
        gap = frame is not None and self._expected is not None and start != self._expected
        if frame is None:
            frame = self._give_up_hole()
            gap = frame is not None
        if frame is not None:
            frame.gap = gap  # type: ignore[attr-defined]
            self._expected = self._origin
        return frame

    def _slot(self, offset: int) -> Any:
        assert self._origin is not None
        return self._packets[(self._origin + offset) % self.capacity]

    def _release(self, sequence_number: int) -> JitterFrame | None:
        packets: list[Any] = []
        assert self._origin is not None  # a packet was added before any frame is removed
        for count in range(self.capacity):
            packet = self._slot(count)
            if packet is None or (packets and packet.timestamp != packets[0].timestamp):
                break
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return _frame(packets)
        return super()._remove_frame(sequence_number)

    def _give_up_hole(self) -> JitterFrame | None:
        """The frame at the origin cannot leave (a packet of it is missing): once ``patience``
        complete frames wait behind the first missing packet, the newest of them, with
        everything before it dropped; else None."""
        assert self._origin is not None and self._newest is not None
        span = min(uint16_add(self._newest, -self._origin) + 1, self.capacity)
        hole = next((offset for offset in range(span) if self._slot(offset) is None), None)
        if hole is None:
            return None
        newest: tuple[int, int] | None = None
        complete, start, previous = 0, None, None
        for offset in range(hole + 1, span):
            packet = self._slot(offset)
            if packet is None:
                start = previous = None
                continue
            if previous is None:
                start = None                     # what came just before it is unknown
            elif previous.marker or previous.timestamp != packet.timestamp:
                start = offset                   # a frame starts here
            previous = packet
            if packet.marker and start is not None:
                complete += 1
                newest = (start, offset)
        if complete < self.patience or newest is None:
            return None
        packets = [self._slot(offset) for offset in range(newest[0], newest[1] + 1)]
        self.remove(newest[1] + 1)
        self.given_up += 1
        return _frame(packets)


def _frame(packets: list[Any]) -> JitterFrame:
    return JitterFrame(data=b"".join(p._data for p in packets), timestamp=packets[0].timestamp)


def release_on_marker(receiver: Any) -> bool:
    """Give ``receiver`` (an ``RTCRtpReceiver`` for video, before it gets packets) a
    :class:`MarkerJitterBuffer` of the same capacity; False if this aiortc has no buffer there.

    >>> import asyncio
    >>> from aiortc import RTCPeerConnection
    >>> async def video_receiver_gets_one():
    ...     pc = RTCPeerConnection()
    ...     try:
    ...         return release_on_marker(pc.addTransceiver("video", "recvonly").receiver)
    ...     finally:
    ...         await pc.close()
    >>> asyncio.run(video_receiver_gets_one())
    True
    """
    current = getattr(receiver, _ATTRIBUTE, None)
    if not isinstance(current, JitterBuffer):
        log.debug("aiortc's receiver has no %s: video frames keep aiortc's own timing", _ATTRIBUTE)
        return False
    setattr(receiver, _ATTRIBUTE, MarkerJitterBuffer(capacity=current.capacity, is_video=True))
    return True


def stream_ssrc(receiver: Any) -> int | None:
    """The SSRC of the last video packet ``receiver``'s :class:`MarkerJitterBuffer` took.

    >>> stream_ssrc(object()) is None
    True
    """
    return getattr(getattr(receiver, _ATTRIBUTE, None), "ssrc", None)


__all__ = ["MarkerJitterBuffer", "release_on_marker", "stream_ssrc"]
