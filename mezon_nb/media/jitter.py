"""A video jitter buffer that hands a frame on as soon as its last packet is in.

aiortc's own buffer (1.16) knows a video frame is complete only when a packet of the *next*
frame arrives (its RTP timestamp differs), so every decoded frame waits one frame interval
(33 ms at 30 fps) for no reason. Senders mark the last packet of each video frame with the RTP
marker bit (RFC 3550 §5.1; the VP8 and H.264 payload formats require it, and aiortc's and
Chromium's senders set it), so :class:`MarkerJitterBuffer` releases a frame when its packets,
from the buffer's start up to a marked one, are all in and share one timestamp. Anything else
(a lost packet, a sender that never marks) falls back to aiortc's rule unchanged. Each frame
it releases says whether frames were lost just before it (``gap``: its first packet does not
follow the last packet of the frame before), and ``ssrc`` names the stream, for keyframe
requests (:mod:`.encoded`).

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

log = logging.getLogger(__name__)

_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"   # where aiortc 1.x keeps a receiver's buffer


class MarkerJitterBuffer(JitterBuffer):
    """aiortc's video :class:`~aiortc.jitterbuffer.JitterBuffer`, plus: a frame whose last
    packet (marker bit) is in, with all its packets before it, is released at once.

    >>> MarkerJitterBuffer(capacity=512, is_video=True).capacity
    512
    """

    def __init__(self, capacity: int, prefetch: int = 0, is_video: bool = False) -> None:
        super().__init__(capacity, prefetch, is_video)
        self.ssrc: int | None = None
        self._expected: int | None = None   # first sequence number of the next frame

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        self.ssrc = packet.ssrc
        return super().add(packet)

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        start = self._origin
        frame = self._release(sequence_number)
        if frame is not None:
            gap = self._expected is not None and start != self._expected
            frame.gap = gap  # type: ignore[attr-defined]
            self._expected = self._origin
        return frame

    def _release(self, sequence_number: int) -> JitterFrame | None:
        packets: list[Any] = []
        assert self._origin is not None  # a packet was added before any frame is removed
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None or (packets and packet.timestamp != packets[0].timestamp):
                break
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return JitterFrame(data=b"".join(p._data for p in packets),
                                   timestamp=packets[0].timestamp)
        return super()._remove_frame(sequence_number)


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
