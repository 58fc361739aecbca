"""The stream's own video (and sound) before decoding: encoded frames, keyframe requests,
decode on demand.

aiortc's video receiver depacketizes RTP into whole encoded frames (our
:class:`~mezon_nb.media.jitter.MarkerJitterBuffer` releases them) and queues each one for its
decoder thread. :func:`tap_receiver` puts an :class:`EncodedTap` in place of that queue before
the receiver starts: every frame is handed on as an :class:`EncodedFrame` (on the loop thread,
where it arrives), and reaches the decoder only while ``wants_decoded()`` says something in
Python consumes decoded frames. When decoding starts again, or after a gap, the decoder gets
nothing until a keyframe, so it never paints a delta frame on a missing reference.
:func:`tap_audio` does the same for the audio receiver with an :class:`AudioTap`: each Opus
packet is counted as it arrives and decoded only while ``wants_decoded()`` (Opus needs no
keyframe: the decoder resumes on any packet).

:class:`KeyframeRequests` rate-limits the RTCP PLI (RFC 4585 §6.3.1) sent to the stream server:
at most one per ``interval`` seconds; a request inside the interval is sent when it ends.

>>> vp8_key = bytes([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01])
>>> is_keyframe("vp8", vp8_key), frame_size("vp8", vp8_key)
(True, (640, 360))
>>> is_keyframe("vp8", bytes([0x31, 0x02, 0x00]))
False
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

_QUEUE_ATTRIBUTE = "_RTCRtpReceiver__decoder_queue"   # where aiortc 1.x queues frames to decode
_IDR, _SPS = 5, 7


@dataclass(frozen=True, eq=False)
class EncodedFrame:
    """One encoded video frame as received: ``codec`` (``"vp8"`` or ``"h264"``, H.264 in Annex
    B), ``data``, ``key`` (decodable alone), ``timestamp`` (90 kHz RTP clock, from 0), ``index``
    (frames received before it), ``gap`` (frames were lost just before it), the picture size
    when the frame says it (keyframes), and ``received_at`` (``time.time()``).

    >>> f = EncodedFrame("vp8", b"\\x31", key=False, timestamp=3000, index=1)
    >>> f.size, f.gap
    (1, False)
    """

    codec: str
    data: bytes
    key: bool
    timestamp: int
    index: int
    gap: bool = False
    width: int | None = None
    height: int | None = None
    received_at: float = 0.0

    @property
    def size(self) -> int:
        """Bytes of encoded data."""
        return len(self.data)


def _nal_units(data: bytes) -> list[bytes]:
    return [unit for unit in data.split(b"\x00\x00\x01") if unit]


def is_keyframe(codec: str, data: bytes) -> bool:
    """Whether ``data`` (one encoded frame) decodes without earlier frames: a VP8 key frame
    (frame-tag bit 0 clear, RFC 6386 §9.1) or H.264 with an IDR slice.

    >>> is_keyframe("h264", b"\\x00\\x00\\x00\\x01\\x67\\x42\\x00\\x1f\\x00\\x00\\x00\\x01\\x65")
    True
    """
    if not data:
        return False
    if codec == "vp8":
        return not data[0] & 0x01
    if codec == "h264":
        return any(unit[0] & 0x1F == _IDR for unit in _nal_units(data))
    return False


def frame_size(codec: str, data: bytes) -> tuple[int, int] | None:
    """The picture size a VP8 key frame carries (RFC 6386 §9.1), else None.

    >>> frame_size("vp8", bytes([0x31, 0, 0])) is None
    True
    """
    if codec == "vp8" and len(data) >= 10 and is_keyframe(codec, data) \
            and data[3:6] == b"\x9d\x01\x2a":
        return (int.from_bytes(data[6:8], "little") & 0x3FFF,
                int.from_bytes(data[8:10], "little") & 0x3FFF)
    return None


def h264_codec_string(data: bytes) -> str | None:
    """The WebCodecs/RFC 6381 name (``avc1.PPCCLL``) from the SPS of an H.264 key frame.

    >>> h264_codec_string(b"\\x00\\x00\\x00\\x01\\x67\\x42\\xe0\\x1f\\x00\\x00\\x01\\x65")
    'avc1.42e01f'
    """
    for unit in _nal_units(data):
        if unit[0] & 0x1F == _SPS and len(unit) >= 4:
            return "avc1." + unit[1:4].hex()
    return None


class KeyframeRequests:
    """Rate limit for keyframe requests: ``request(now)`` sends at once when the last one went
    at least ``interval`` s ago, else it is held and :meth:`due` sends it when the interval ends.
    ``send()`` does the sending; ``sent`` counts them. Time comes in (``time.monotonic()``).

    >>> sent = []
    >>> limit = KeyframeRequests(lambda: sent.append(1), interval=0.5)
    >>> limit.request(now=10.0), limit.request(now=10.1), limit.due(now=10.4)
    (True, False, False)
    >>> limit.due(now=10.5), limit.sent
    (True, 2)
    """

    def __init__(self, send: Callable[[], Any], interval: float = 0.5) -> None:
        self.send = send
        self.interval = interval
        self.sent = 0
        self._last = -math.inf
        self._held = False

    def request(self, now: float) -> bool:
        """Ask for a keyframe; True when the request went now."""
        if now - self._last >= self.interval:
            self._fire(now)
            return True
        self._held = True
        return False

    def next_due(self) -> float | None:
        """When a held request goes, or None.

        >>> KeyframeRequests(lambda: None).next_due() is None
        True
        """
        return self._last + self.interval if self._held else None

    def due(self, now: float) -> bool:
        """Send a held request if its time has come; True when one went."""
        if self._held and now - self._last >= self.interval:
            self._fire(now)
            return True
        return False

    def _fire(self, now: float) -> None:
        self._last, self._held = now, False
        self.sent += 1
        self.send()


class EncodedTap(queue.Queue):
    """Stands in for an aiortc receiver's decoder queue (see the module doc).

    ``on_frame(EncodedFrame)`` sees every frame; ``wants_decoded()`` is asked per frame;
    ``request_keyframe()`` is called when decoding must wait for a keyframe. ``put`` runs on the
    loop thread (aiortc's receive path); the decoder thread takes frames with ``get``.

    >>> seen = []; tap = EncodedTap(seen.append, lambda: False, lambda: None)
    >>> class Codec: name = "VP8"
    >>> class Jf: data, timestamp = bytes([0x31, 0, 0]), 0
    >>> tap.put((Codec, Jf)); tap.qsize(), seen[0].key, tap.skipped
    (0, False, 1)
    """

    def __init__(self, on_frame: Callable[[EncodedFrame], Any],
                 wants_decoded: Callable[[], bool],
                 request_keyframe: Callable[[], Any]) -> None:
        super().__init__()
        self.on_frame = on_frame
        self.wants_decoded = wants_decoded
        self.request_keyframe = request_keyframe
        self.count = 0
        self.skipped = 0        # frames not decoded (nobody wanted them, or waiting for a key)
        self._decoding = False
        self._need_key = True

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:                       # aiortc stops its decoder thread
            super().put(item, block, timeout)
            return
        codec, jitter_frame = item
        name = str(codec.name).lower()
        data = bytes(jitter_frame.data)
        key = is_keyframe(name, data)
        width, height = frame_size(name, data) or (None, None)
        gap = bool(getattr(jitter_frame, "gap", False))
        frame = EncodedFrame(name, data, key, int(jitter_frame.timestamp), self.count, gap,
                             width, height, time.time())
        self.count += 1
        try:
            self.on_frame(frame)
        except Exception:  # a consumer must not stop the receive path
            log.exception("encoded frame listener failed")
        if self._admit(frame):
            super().put(item, block, timeout)
        else:
            self.skipped += 1

    def _admit(self, frame: EncodedFrame) -> bool:
        wanted = self.wants_decoded()
        if not wanted:
            self._decoding = False
            return False
        if not self._decoding or frame.gap:
            self._decoding, self._need_key = True, True
        if self._need_key and not frame.key:
            self.request_keyframe()
            return False
        self._need_key = False
        return True


class AudioTap(queue.Queue):
    """Stands in for an aiortc audio receiver's decoder queue: ``on_packet()`` is called for
    every packet as it arrives (loop thread); the packet reaches the decoder only while
    ``wants_decoded()``.

    >>> arrived = []; tap = AudioTap(lambda: arrived.append(1), lambda: False)
    >>> tap.put(("opus", "packet")); tap.qsize(), len(arrived), tap.skipped
    (0, 1, 1)
    """

    def __init__(self, on_packet: Callable[[], Any], wants_decoded: Callable[[], bool]) -> None:
        super().__init__()
        self.on_packet = on_packet
        self.wants_decoded = wants_decoded
        self.skipped = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is not None:                   # None: aiortc stops its decoder thread
            try:
                self.on_packet()
            except Exception:  # a listener must not stop the receive path
                log.exception("audio packet listener failed")
            if not self.wants_decoded():
                self.skipped += 1
                return
        super().put(item, block, timeout)


def _replace_decoder_queue(receiver: Any, tap: queue.Queue) -> bool:
    """Put ``tap`` where ``receiver`` (an aiortc ``RTCRtpReceiver`` before it starts) queues
    frames for its decoder thread; False, with a DEBUG line, on an aiortc that keeps it
    elsewhere (then every frame is decoded, as before)."""
    current = getattr(receiver, _QUEUE_ATTRIBUTE, None)
    if not isinstance(current, queue.Queue) or current.qsize():
        log.debug("aiortc's receiver has no %s: every frame is decoded", _QUEUE_ATTRIBUTE)
        return False
    setattr(receiver, _QUEUE_ATTRIBUTE, tap)
    return True


def tap_audio(receiver: Any, on_packet: Callable[[], Any],
              wants_decoded: Callable[[], bool]) -> AudioTap | None:
    """Put an :class:`AudioTap` into ``receiver`` (an aiortc audio ``RTCRtpReceiver`` before
    it starts); None when this aiortc keeps its queue elsewhere.

    >>> import asyncio
    >>> from aiortc import RTCPeerConnection
    >>> async def tapped():
    ...     pc = RTCPeerConnection()
    ...     try:
    ...         receiver = pc.addTransceiver("audio", "recvonly").receiver
    ...         return tap_audio(receiver, lambda: None, lambda: True) is not None
    ...     finally:
    ...         await pc.close()
    >>> asyncio.run(tapped())
    True
    """
    tap = AudioTap(on_packet, wants_decoded)
    return tap if _replace_decoder_queue(receiver, tap) else None


def tap_receiver(receiver: Any, on_frame: Callable[[EncodedFrame], Any],
                 wants_decoded: Callable[[], bool],
                 request_keyframe: Callable[[], Any]) -> EncodedTap | None:
    """Put an :class:`EncodedTap` into ``receiver`` (an aiortc video ``RTCRtpReceiver`` before
    it starts); None, with a DEBUG line, on an aiortc that keeps its queue elsewhere (then every
    frame is decoded, as before).

    >>> import asyncio
    >>> from aiortc import RTCPeerConnection
    >>> async def tapped():
    ...     pc = RTCPeerConnection()
    ...     try:
    ...         receiver = pc.addTransceiver("video", "recvonly").receiver
    ...         return tap_receiver(receiver, print, lambda: True, lambda: None) is not None
    ...     finally:
    ...         await pc.close()
    >>> asyncio.run(tapped())
    True
    """
    tap = EncodedTap(on_frame, wants_decoded, request_keyframe)
    return tap if _replace_decoder_queue(receiver, tap) else None


def picture_loss_sender(receiver: Any, ssrc: Callable[[], int | None]) -> Callable[[], None]:
    """A function that sends one RTCP PLI for the stream ``ssrc()`` through ``receiver`` (on
    the loop thread); it does nothing before the first packet names the stream.

    >>> picture_loss_sender(object(), lambda: None)()
    """
    def send() -> None:
        media_ssrc = ssrc()
        pli = getattr(receiver, "_send_rtcp_pli", None)
        if media_ssrc is not None and pli is not None:
            asyncio.ensure_future(pli(media_ssrc))
    return send


__all__ = ["AudioTap", "EncodedFrame", "EncodedTap", "KeyframeRequests", "frame_size",
           "h264_codec_string", "is_keyframe", "picture_loss_sender", "tap_audio",
           "tap_receiver"]
