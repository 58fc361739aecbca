"""Recording a stream to a file through PyAV, on a worker thread (the receive path never waits).

``.mp4`` gets H.264 (libx264, ultrafast), ``.webm`` VP8 (libvpx, realtime). Timestamps follow
arrival times, so the file plays at the speed the stream was received. Every frame handed in is
written: recording does not drop frames.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "clip.mp4"
>>> rec = Recorder(path)
>>> frame = av.VideoFrame(64, 48, "yuv420p")
>>> for i in range(3):
...     rec.write(frame, 100.0 + i / 30)
>>> rec.close().name, rec.frames
('clip.mp4', 3)
"""

from __future__ import annotations

import logging
import queue
import threading
from fractions import Fraction
from pathlib import Path

import av

from mezon_nb.errors import MediaError

logger = logging.getLogger(__name__)
_CODECS = {".mp4": ("libx264", {"preset": "ultrafast", "tune": "zerolatency"}),
           ".mkv": ("libx264", {"preset": "ultrafast", "tune": "zerolatency"}),
           ".webm": ("libvpx", {"deadline": "realtime", "cpu-used": "8"})}


class Recorder:
    """Writes decoded ``av.VideoFrame``s handed to :meth:`write` into ``path``."""

    def __init__(self, path: str | Path, *, bitrate: int = 2_000_000):
        self.path = Path(path)
        if self.path.suffix.lower() not in _CODECS:
            raise MediaError(f"cannot record to {self.path.suffix!r}: use .mp4 or .webm")
        self.bitrate = bitrate
        self.frames = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[av.VideoFrame, float] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="mezon_nb-recorder",
                                        daemon=True)
        self._thread.start()

    def write(self, frame: av.VideoFrame, received_at: float) -> None:
        """Queue one frame (non-blocking)."""
        self._queue.put((frame, received_at))

    def close(self, timeout: float = 30.0) -> Path:
        """Flush and close the file; returns its path. Raises MediaError if writing failed."""
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise MediaError(f"recording to {self.path.name} did not finish in {timeout} s")
        if self.error is not None:
            raise MediaError(f"recording to {self.path.name} failed: {self.error}") \
                from self.error
        return self.path

    def _run(self) -> None:
        container = None
        stream = None
        start, last_pts = 0.0, -1
        try:
            while (item := self._queue.get()) is not None:
                frame, received_at = item
                if container is None:
                    container = av.open(str(self.path), "w")
                    name, options = _CODECS[self.path.suffix.lower()]
                    stream = container.add_stream(name, rate=30, options=options)
                    stream.width, stream.height = frame.width, frame.height
                    stream.pix_fmt = "yuv420p"
                    stream.bit_rate = self.bitrate
                    stream.codec_context.time_base = Fraction(1, 1000)
                    stream.codec_context.thread_count = 1  # see sandbox.stn.fanout
                    start = received_at
                pts = max(round((received_at - start) * 1000), last_pts + 1)
                last_pts = pts
                frame = frame.reformat(stream.width, stream.height, "yuv420p")
                frame.pts, frame.time_base = pts, Fraction(1, 1000)
                frame.pict_type = av.video.frame.PictureType.NONE
                container.mux(stream.encode(frame))
                self.frames += 1
            if container is not None:
                container.mux(stream.encode(None))
        except Exception as exc:  # surfaced by close()
            self.error = exc
            logger.exception("recording failed")
        finally:
            if container is not None:
                container.close()


__all__ = ["Recorder"]
