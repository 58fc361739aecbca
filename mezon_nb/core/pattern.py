"""The built-in test pattern: scrolling colour bars with a stamp, and a 440 Hz tone.

Frames are cheap: a double-width yuv420p background is computed once and each frame is a
shifted slice of it, with the stamp (``mezon_nb.protocol.stamp``) written into the luma plane.

>>> pattern = TestPattern(320, 240, fps=15)
>>> frame = pattern.video_frame(3, captured_at=100.0)
>>> (frame.width, frame.height, frame.format.name, frame.pts)
(320, 240, 'yuv420p', 18000)
>>> pattern.audio_frame(0).samples
960
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from mezon_nb.protocol.stamp import COLS, ROWS, block_size, write_stamp

SAMPLE_RATE = 48_000
AUDIO_SAMPLES = 960  # 20 ms, one Opus frame
VIDEO_CLOCK = 90_000
_BARS_YUV = [(235, 128, 128), (210, 16, 146), (170, 166, 16), (145, 54, 34),
             (106, 202, 222), (81, 90, 240), (41, 240, 110), (16, 128, 128)]


class TestPattern:
    """Scrolling bars of ``width`` x ``height`` at ``fps``; crosses the screen in about 4 s.

    >>> TestPattern(640, 480, fps=30).speed
    4
    """

    __test__ = False  # not a pytest class

    def __init__(self, width: int, height: int, fps: float = 30, tone_hz: float = 440.0):
        if width % 2 or height % 2:
            raise ValueError(f"pattern size must be even, got {width}x{height}")
        self.width, self.height, self.fps = width, height, fps
        self.speed = max(2, int(width / (fps * 4)) // 2 * 2)
        bar = np.arange(2 * width) * len(_BARS_YUV) // width % len(_BARS_YUV)
        table = np.array(_BARS_YUV, np.uint8)
        ramp = np.linspace(0, 40, height, dtype=np.float32)[:, None]
        self._y = np.clip(table[bar, 0][None, :] - ramp, 0, 255).astype(np.uint8)
        self._u = np.repeat(table[bar[::2], 1][None, :], height // 2, axis=0)
        self._v = np.repeat(table[bar[::2], 2][None, :], height // 2, axis=0)
        self._buf = np.empty((height * 3 // 2, width), np.uint8)
        self._stamp_h = ROWS * block_size(height)
        self._stamp_w = COLS * block_size(height)
        t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
        tone = (np.sin(2 * np.pi * tone_hz * t) * 8000).astype(np.int16)
        self._tone = np.concatenate([tone, tone[:AUDIO_SAMPLES]])

    def video_frame(self, index: int, captured_at: float | None = None) -> av.VideoFrame:
        """Frame ``index`` (pts in 1/90000), stamped with ``index`` and ``captured_at``."""
        w, h = self.width, self.height
        off = index * self.speed % w
        buf = self._buf
        buf[:h] = self._y[:, off:off + w]
        u_rows = buf[h:h + h // 4].reshape(h // 2, w // 2)
        v_rows = buf[h + h // 4:].reshape(h // 2, w // 2)
        u_rows[:] = self._u[:, off // 2:off // 2 + w // 2]
        v_rows[:] = self._v[:, off // 2:off // 2 + w // 2]
        write_stamp(buf[:h], index, captured_at)
        sh, sw = self._stamp_h // 2, self._stamp_w // 2
        u_rows[:sh, :sw] = 128
        v_rows[:sh, :sw] = 128
        frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
        frame.pts = round(index * VIDEO_CLOCK / self.fps)
        frame.time_base = Fraction(1, VIDEO_CLOCK)
        return frame

    def audio_frame(self, index: int) -> av.AudioFrame:
        """20 ms of stereo s16 tone at 48 kHz, pts = index * 960 in 1/48000."""
        start = index * AUDIO_SAMPLES % SAMPLE_RATE
        mono = self._tone[start:start + AUDIO_SAMPLES]
        frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2)[None, :], format="s16",
                                           layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = index * AUDIO_SAMPLES
        frame.time_base = Fraction(1, SAMPLE_RATE)
        return frame


__all__ = ["AUDIO_SAMPLES", "SAMPLE_RATE", "VIDEO_CLOCK", "TestPattern"]
