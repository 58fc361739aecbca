"""Recording a stream to a file through PyAV, on a worker thread (the receive path never waits).

``.mp4`` / ``.mkv`` get H.264 (libx264, ultrafast) and AAC, ``.webm`` VP8 (libvpx, realtime)
and Opus. Timestamps follow arrival times, so the file plays at the speed the stream was
received. Frames wait for the writer in a queue of ``max_queue`` frames (audio and video): a
writer that falls that far behind (a slow disk, a busy CPU) has newer frames dropped and
counted in ``dropped``, so memory stays bounded. After the writer failed, or once the recorder
is closed, writes are refused (counted in ``dropped`` too) and ``close()`` raises the error.
The file starts with the first video frame (audio before it is skipped); with ``video=False``
it is audio only.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "clip.mp4"
>>> rec = Recorder(path, audio=False)
>>> frame = av.VideoFrame(64, 48, "yuv420p")
>>> for i in range(3):
...     rec.write(frame, 100.0 + i / 30)
>>> rec.close().name, rec.frames, rec.dropped
('clip.mp4', 3, 0)
>>> rec.write(frame, 101.0); rec.dropped          # closed: refused, counted
1
"""

from __future__ import annotations

import logging
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from mezon_nb.errors import MediaError
from mezon_nb.media.frames import SWSCALE_LOCK

logger = logging.getLogger(__name__)
_X264 = ("libx264", {"preset": "ultrafast", "tune": "zerolatency"}, "aac")
_CODECS = {".mp4": _X264, ".mkv": _X264,
           ".webm": ("libvpx", {"deadline": "realtime", "cpu-used": "-8"}, "libopus")}
_MS = Fraction(1, 1000)
_RATE = 48_000


class _Writer:
    """The open container; lives on the recorder thread only."""

    def __init__(self, path: Path, first: av.VideoFrame | None, audio: bool, bitrate: int):
        video_codec, options, audio_codec = _CODECS[path.suffix.lower()]
        self.container = av.open(str(path), "w")
        self.video: Any = None
        self.audio: Any = None
        self.last_pts = -1
        self.resampler: av.AudioResampler | None = None
        self.audio_pts = 0
        if first is not None:
            self.video = self.container.add_stream(video_codec, rate=30, options=options)
            self.video.width, self.video.height = first.width, first.height
            self.video.pix_fmt, self.video.bit_rate = "yuv420p", bitrate
            self.video.codec_context.time_base = _MS
            self.video.codec_context.thread_count = 1  # see mezon_nb.sandbox.stn.fanout
        if audio:
            self.audio = self.container.add_stream(audio_codec, rate=_RATE)
            self.audio.layout = "stereo"
            self.audio.codec_context.time_base = Fraction(1, _RATE)

    def video_frame(self, frame: av.VideoFrame, at_ms: int) -> None:
        pts = self.last_pts = max(at_ms, self.last_pts + 1)
        with SWSCALE_LOCK:  # the same frame may be converted to rgb24 elsewhere
            frame = frame.reformat(self.video.width, self.video.height, "yuv420p")
        frame.pts, frame.time_base = pts, _MS
        frame.pict_type = av.video.frame.PictureType.NONE
        self.container.mux(self.video.encode(frame))

    def audio_frame(self, frame: av.AudioFrame, at_ms: int) -> None:
        if self.resampler is None:
            ctx = self.audio.codec_context
            self.resampler = av.AudioResampler(format=ctx.format.name, layout="stereo",
                                               rate=_RATE, frame_size=ctx.frame_size or 960)
            self.audio_pts = at_ms * _RATE // 1000
        for chunk in self.resampler.resample(frame):
            chunk.pts, chunk.time_base = self.audio_pts, Fraction(1, _RATE)
            self.audio_pts += chunk.samples
            self.container.mux(self.audio.encode(chunk))

    def close(self) -> None:
        try:
            for stream in (self.video, self.audio):
                if stream is not None:
                    self.container.mux(stream.encode(None))
        finally:
            self.container.close()


class Recorder:
    """Writes decoded frames handed to :meth:`write` / :meth:`write_audio` into ``path``.

    >>> Recorder("clip.avi")
    Traceback (most recent call last):
    ...
    mezon_nb.errors.MediaError: cannot record to '.avi': use .mp4, .mkv or .webm
    """

    def __init__(self, path: str | Path, *, video: bool = True, audio: bool = True,
                 bitrate: int = 2_000_000, max_queue: int = 300):
        self.path = Path(path)
        if self.path.suffix.lower() not in _CODECS:
            raise MediaError(f"cannot record to {self.path.suffix!r}: use .mp4, .mkv or .webm")
        if not (video or audio):
            raise ValueError("record video, audio or both")
        self.with_video, self.with_audio, self.bitrate = video, audio, bitrate
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.frames = 0
        self.dropped = 0  #: frames not written: the writer was behind, had failed, or closed
        self.error: BaseException | None = None
        self._closed = False
        self._queue: queue.Queue[tuple[Any, float] | None] = queue.Queue(max_queue)
        self._thread = threading.Thread(target=self._run, name="mezon_nb-recorder",
                                        daemon=True)
        self._thread.start()

    def write(self, frame: av.VideoFrame, received_at: float) -> None:
        """Queue one video frame (never blocks; see the module doc for when it is dropped)."""
        if self.with_video:
            self._offer((frame, received_at))

    def write_audio(self, frame: av.AudioFrame, received_at: float) -> None:
        """Queue one audio frame (never blocks, like :meth:`write`)."""
        if self.with_audio:
            self._offer((frame, received_at))

    def _offer(self, item: tuple[Any, float]) -> None:
        if self._closed or self.error is not None:
            self.dropped += 1
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning("recording to %s: the writer is %d frames behind; dropping "
                               "frames", self.path.name, self._queue.maxsize)

    def close(self, timeout: float = 30.0) -> Path:
        """Flush and close the file; returns its path. Raises MediaError if writing failed."""
        if not self._closed:
            self._closed = True
            try:
                self._queue.put(None, timeout=timeout)  # the writer drains a full queue
            except queue.Full:
                pass  # reported below: the writer did not finish
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise MediaError(f"recording to {self.path.name} did not finish in {timeout} s")
        if self.error is not None:
            raise MediaError(f"recording to {self.path.name} failed: {self.error}") \
                from self.error
        return self.path

    def _discard_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                return
            self.dropped += 1

    def _run(self) -> None:
        writer: _Writer | None = None
        start = 0.0
        try:
            while (item := self._queue.get()) is not None:
                frame, received_at = item
                is_video = isinstance(frame, av.VideoFrame)
                if writer is None:
                    if is_video != self.with_video:
                        continue  # the file starts with the first frame of its main kind
                    writer = _Writer(self.path, frame if is_video else None, self.with_audio,
                                     self.bitrate)
                    start = received_at
                at_ms = round((received_at - start) * 1000)
                if is_video:
                    writer.video_frame(frame, at_ms)
                    self.frames += 1
                else:
                    writer.audio_frame(frame, at_ms)
        except Exception as exc:  # surfaced by close()
            self.error = exc
            logger.exception("recording failed")
            self._discard_queued()  # later writes are refused
        finally:
            if writer is not None:
                try:
                    writer.close()
                except (av.FFmpegError, OSError, ValueError) as exc:
                    self.error = self.error or exc


__all__ = ["Recorder"]
