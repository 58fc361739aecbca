"""Tracks a publisher sends: numpy frames, the stamped test pattern with its tone, or a file.

:func:`source_tracks` turns what the user passes to ``publish()`` into aiortc tracks:

* ``"pattern"`` — the sandbox's scrolling bars (stamped) and a 440 Hz tone;
* a path (``str`` / ``Path``) — anything PyAV can read, through aiortc's ``MediaPlayer``;
* an iterable (or a callable returning one) of H x W x 3 uint8 rgb24 arrays.

Video is paced to ``fps`` on the wall clock; with ``stamp=True`` each frame gets a stamp
(:func:`mezon_nb.protocol.stamp.write_stamp`) so viewers can measure latency.

>>> import numpy as np
>>> tracks = source_tracks((np.zeros((48, 64, 3), np.uint8) for _ in range(2)), fps=10)
>>> [t.kind for t in tracks]
['video']
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from mezon_nb.core.pattern import TestPattern
from mezon_nb.protocol.stamp import write_stamp

VIDEO_CLOCK = 90_000


class PacedVideoTrack(MediaStreamTrack):
    """Video frames from ``next_frame(index)`` (``None`` ends the track), paced to ``fps``.

    >>> track = PacedVideoTrack(lambda i: av.VideoFrame(64, 48, "rgb24"), fps=30)
    >>> frame = asyncio.run(track.recv())
    >>> (frame.pts, track.frames_sent, track.size)
    (0, 1, (64, 48))
    """

    kind = "video"

    def __init__(self, next_frame: Callable[[int], av.VideoFrame | None], fps: float):
        super().__init__()
        self.fps = fps
        self.frames_sent = 0
        self.size = (0, 0)
        self._next = next_frame
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        index = self.frames_sent
        await asyncio.sleep(max(0.0, self._start + index / self.fps - loop.time()))
        frame = await loop.run_in_executor(None, self._next, index)
        if frame is None:
            self.stop()
            raise MediaStreamError
        frame.pts = round(index * VIDEO_CLOCK / self.fps)
        frame.time_base = Fraction(1, VIDEO_CLOCK)
        self.frames_sent += 1
        self.size = (frame.width, frame.height)
        return frame


class ToneTrack(MediaStreamTrack):
    """The test pattern's tone: 20 ms frames of 48 kHz stereo, paced to the wall clock.

    >>> from mezon_nb.core.pattern import TestPattern
    >>> asyncio.run(ToneTrack(TestPattern(64, 48)).recv()).samples
    960
    """

    kind = "audio"

    def __init__(self, pattern: Any):
        super().__init__()
        self._pattern = pattern
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        await asyncio.sleep(max(0.0, self._start + self._index * 0.02 - loop.time()))
        frame = self._pattern.audio_frame(self._index)
        self._index += 1
        return frame


def _array_frames(arrays: Iterator[np.ndarray], stamp: bool
                  ) -> Callable[[int], av.VideoFrame | None]:
    def next_frame(index: int) -> av.VideoFrame | None:
        array = next(arrays, None)
        if array is None:
            return None
        array = np.ascontiguousarray(array, dtype=np.uint8)
        if stamp:
            array = array.copy()
            write_stamp(array, index, time.time())
        return av.VideoFrame.from_ndarray(array, format="rgb24" if array.ndim == 3 else "gray")
    return next_frame


def source_tracks(source: Any, *, fps: float = 30, size: tuple[int, int] = (640, 480),
                  stamp: bool = True) -> list[MediaStreamTrack]:
    """aiortc tracks for ``source`` (see the module doc)."""
    if isinstance(source, str) and source == "pattern":
        pattern = TestPattern(*size, fps=fps)
        return [PacedVideoTrack(lambda i: pattern.video_frame(i, time.time()), fps),
                ToneTrack(pattern)]
    if isinstance(source, (str, Path)):
        from aiortc.contrib.media import MediaPlayer

        player = MediaPlayer(str(source))
        return [t for t in (player.video, player.audio) if t is not None]
    if callable(source):
        source = source()
    if isinstance(source, Iterable):
        return [PacedVideoTrack(_array_frames(iter(source), stamp), fps)]
    raise TypeError("publish() takes 'pattern', a file path, or an iterable of numpy frames; "
                    f"got {type(source).__name__}")


__all__ = ["PacedVideoTrack", "ToneTrack", "source_tracks"]
