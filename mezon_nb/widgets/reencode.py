"""A lighter picture for a view whose link is smaller than the stream: VP8 at a rung's bitrate.

When the :class:`~mezon_nb.widgets.bitrate.BitrateController` of a view leaves pass-through,
the pump decodes the stream (aiortc, in the kernel) and a :class:`Vp8Reencoder` encodes each
frame it sends again with libvpx (PyAV), at the rung's bitrate and scale, with realtime
settings (no look-ahead, one thread, the fastest speed). Every change of size or bitrate opens
a new encoder, whose first frame is a keyframe, so the browser's decoder starts afresh on the
new size; :meth:`Vp8Reencoder.encode` also makes a keyframe on request (a view that lost its
decoder). Frames the flow control leaves out never reach the encoder: its output is one
unbroken sequence, each frame referring only to frames sent before it.

>>> import numpy as np
>>> from mezon_nb.media.frames import Frame
>>> encoder = Vp8Reencoder()
>>> frame = Frame.from_array(np.zeros((96, 128, 3), np.uint8), index=0)
>>> data, key = encoder.encode(frame, size=(64, 48), bitrate=200_000)
>>> key, data[3:6] == b"\\x9d\\x01\\x2a"                     # a VP8 key frame's start code
(True, True)
>>> encoder.encode(frame, size=(64, 48), bitrate=200_000)[1]
False
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import av

#: RTP's 90 kHz video clock: the encoder's time base.
_CLOCK = 90_000


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """``width`` x ``height`` times ``scale``, rounded to even numbers (4:2:0 chroma), at
    least 2 x 2.

    >>> scaled_size(1280, 720, 0.75), scaled_size(1280, 720, 0.5), scaled_size(3, 3, 0.1)
    ((960, 540), (640, 360), (2, 2))
    """
    return (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2))


class Vp8Reencoder:
    """Encodes decoded frames to VP8 at a given size and bitrate (see the module docstring).

    ``keyframes`` counts the keyframes made, ``reopened`` the encoders opened. Use from one
    thread at a time (the pump encodes one frame at a time per view).

    >>> Vp8Reencoder().reopened
    0
    """

    def __init__(self) -> None:
        self.keyframes = 0
        self.reopened = 0
        self._codec: Any = None
        self._config: tuple[int, int, int] | None = None
        self._opened_at = 0.0
        self._pts = -1

    @property
    def pts(self) -> int:
        """The last frame's presentation time, in 1/90000 s since its encoder opened."""
        return max(0, self._pts)

    def _open(self, width: int, height: int, bitrate: int) -> None:
        codec = av.CodecContext.create("libvpx", "w")
        codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
        codec.bit_rate = bitrate
        codec.time_base = Fraction(1, _CLOCK)
        codec.thread_count = 1          # a busy 2-core machine: threads cost more than they save
        codec.gop_size = 1 << 30        # keyframes only when opened or asked for
        codec.qmin, codec.qmax = 4, 56
        codec.options = {
            "deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0",
            "error-resilient": "1", "static-thresh": "1",
            "minrate": str(bitrate), "maxrate": str(bitrate), "bufsize": str(bitrate // 2),
            "undershoot-pct": "95", "overshoot-pct": "10", "max-intra-rate": "300",
        }
        self._codec, self._config = codec, (width, height, bitrate)
        self._opened_at, self._pts = time.monotonic(), -1
        self.reopened += 1

    def encode(self, frame: Any, size: tuple[int, int], bitrate: int,
               keyframe: bool = False) -> tuple[bytes, bool] | None:
        """Encode ``frame`` (a :class:`mezon_nb.media.Frame`) at ``size`` (width, height) and
        ``bitrate`` bit/s; returns ``(data, is_keyframe)``, or None when libvpx gave nothing
        for it. A new size or bitrate starts a new encoder (a keyframe); so does
        ``keyframe=True`` on this one.

        >>> import numpy as np
        >>> from mezon_nb.media.frames import Frame
        >>> encoder = Vp8Reencoder()
        >>> frame = Frame.from_array(np.zeros((8, 8, 3), np.uint8), index=0)
        >>> encoder.encode(frame, size=(8, 8), bitrate=0)
        Traceback (most recent call last):
        ...
        ValueError: bitrate must be a positive number of bit/s, got 0
        """
        if isinstance(bitrate, bool) or not isinstance(bitrate, int) or bitrate <= 0:
            raise ValueError(f"bitrate must be a positive number of bit/s, got {bitrate!r}")
        width, height = size
        if self._config != (width, height, bitrate):
            self._open(width, height, bitrate)
            keyframe = True
        picture = frame.resized(width, height, "yuv420p")
        # a picture of the same size may be the decoded frame itself: only pts and the
        # keyframe flag are set on it, what the encoder reads
        self._pts = max(self._pts + 1, int((time.monotonic() - self._opened_at) * _CLOCK))
        picture.pts, picture.time_base = self._pts, Fraction(1, _CLOCK)
        picture.pict_type = (av.video.frame.PictureType.I if keyframe
                             else av.video.frame.PictureType.NONE)
        packets = self._codec.encode(picture)
        if not packets:
            return None
        data = b"".join(bytes(packet) for packet in packets)
        key = any(packet.is_keyframe for packet in packets)
        self.keyframes += key
        return data, key


__all__ = ["Vp8Reencoder", "scaled_size"]
