"""What a live channel plays: the test pattern, a local file, or a WebRTC publisher's tracks.

Every source fills a video and an audio :class:`~mezon_nb.sandbox.stn.fanout.Fanout` and calls
``on_end`` once when it runs out (end of file, publisher gone). Encoding happens once per source
and only while someone watches, in the server's ``stream_codec`` (VP8 or H.264; a relayed file
stays VP8); keyframes are forced at the rate :meth:`Fanout.take_keyframe` allows.

>>> src = PatternSource(320, 240, fps=15)
>>> (src.has_video, len(src.video), src.codec)
(True, 0, 'VP8')
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from mezon_nb.core.pattern import AUDIO_SAMPLES, SAMPLE_RATE, TestPattern
from mezon_nb.sandbox.config import video_codec_name
from mezon_nb.sandbox.stn.fanout import Fanout, OpusEncoder, VideoEncoder

logger = logging.getLogger(__name__)


class Source:
    """Base: two fanouts, a set of tasks, and ``on_end`` fired once.

    >>> src = Source()
    >>> (src.video.kind, src.audio.kind, src.has_video)
    ('video', 'audio', True)
    """

    has_video = True
    codec = "VP8"

    def __init__(self) -> None:
        self.video = Fanout("video")
        self.audio = Fanout("audio")
        self.on_end: Callable[[], None] = lambda: None
        self._tasks: list[asyncio.Task[None]] = []
        self._ended = False

    def start(self) -> None:
        """Start producing packets on the running loop."""

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.warning("stream source failed: %r", task.exception())
        self._finish()

    def _finish(self) -> None:
        if not self._ended:
            self._ended = True
            self.on_end()

    async def stop(self) -> None:
        """Stop producing and end every viewer track; does not fire ``on_end``."""
        self._ended = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.video.close()
        self.audio.close()


class PatternSource(Source):
    """The built-in publisher: :class:`TestPattern` video with a tone, paced to the wall clock.

    >>> PatternSource(640, 360, fps=30).pattern.speed
    4
    >>> PatternSource(640, 360, codec="h264").codec
    'H264'
    """

    def __init__(self, width: int, height: int, fps: float = 30, codec: str = "vp8"):
        super().__init__()
        self.pattern = TestPattern(width, height, fps)
        self.encoder = VideoEncoder(width, height, fps, codec=codec)
        self.codec = self.encoder.name
        self.opus = OpusEncoder()

    def start(self) -> None:
        self._spawn(self._video())
        self._spawn(self._audio())

    def _encode(self, index: int, keyframe: bool) -> list[av.Packet]:
        return self.encoder.encode(self.pattern.video_frame(index, time.time()), keyframe)

    async def _video(self) -> None:
        loop = asyncio.get_running_loop()
        fps, start = self.pattern.fps, loop.time()
        index = 0
        while True:
            index = max(index + 1, int((loop.time() - start) * fps))  # skip frames when late
            await asyncio.sleep(max(0.0, start + index / fps - loop.time()))
            if not len(self.video):
                continue
            keyframe = self.video.take_keyframe(loop.time())
            for packet in await loop.run_in_executor(None, self._encode, index, keyframe):
                self.video.push(packet)

    async def _audio(self) -> None:
        loop = asyncio.get_running_loop()
        step, start = AUDIO_SAMPLES / SAMPLE_RATE, loop.time()
        index = 0
        while True:
            index += 1
            await asyncio.sleep(max(0.0, start + index * step - loop.time()))
            if len(self.audio):
                for packet in self.opus.encode(self.pattern.audio_frame(index)):
                    self.audio.push(packet)


def local_path(file_url: str) -> Path:
    """The local file behind ``file://…`` or a plain path; anything with a network scheme fails.

    >>> local_path("file:///tmp/a%20b.webm").as_posix()
    '/tmp/a b.webm'
    >>> local_path("https://example.com/x.ogg")
    Traceback (most recent call last):
    ...
    ValueError: only local files can be published in the sandbox (got a https:// URL)
    """
    parsed = urlparse(file_url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:
        raise ValueError(f"only local files can be published in the sandbox "
                         f"(got a {parsed.scheme}:// URL)")
    return Path(file_url)


class FileSource(Source):
    """A WebM (VP8 + Opus) or Ogg Opus file relayed packet by packet, without transcoding.

    >>> FileSource(Path("clip.mp4"))
    Traceback (most recent call last):
    ...
    ValueError: unsupported file type '.mp4': use .webm, .ogg or .opus
    """

    def __init__(self, path: Path):
        super().__init__()
        if path.suffix.lower() not in (".webm", ".ogg", ".opus"):
            raise ValueError(f"unsupported file type {path.suffix!r}: use .webm, .ogg or .opus")
        self.container = av.open(str(path))
        streams = self.container.streams
        if streams.video and streams.video[0].codec_context.name != "vp8":
            raise ValueError("the video of a published WebM must be VP8")
        if streams.audio and streams.audio[0].codec_context.name != "opus":
            raise ValueError("the audio of a published file must be Opus")
        self.has_video = bool(streams.video)
        self._stop = threading.Event()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._spawn(loop.run_in_executor(None, self._play, loop))

    def _play(self, loop: asyncio.AbstractEventLoop) -> None:
        wanted = [*self.container.streams.video[:1], *self.container.streams.audio[:1]]
        start = time.monotonic()
        try:
            for packet in self.container.demux(wanted):
                if packet.size == 0 or packet.pts is None or self._stop.is_set():
                    continue
                due = start + float(packet.pts * packet.time_base)
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    break
                fanout = self.video if packet.stream.type == "video" else self.audio
                loop.call_soon_threadsafe(fanout.push, packet)
        finally:
            self.container.close()

    async def stop(self) -> None:
        self._stop.set()
        await super().stop()


class TrackSource(Source):
    """A WebRTC publisher's received tracks, decoded by aiortc and encoded once for everyone.

    >>> TrackSource([], codec="h264").codec
    'H264'
    """

    def __init__(self, tracks: list[MediaStreamTrack], fps: float = 30, codec: str = "vp8"):
        super().__init__()
        self.tracks = tracks
        self.has_video = any(t.kind == "video" for t in tracks)
        self.fps = fps
        self.codec = video_codec_name(codec)
        self.opus = OpusEncoder()

    def start(self) -> None:
        for track in self.tracks:
            self._spawn(self._pump(track))

    async def _pump(self, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        encoder: VideoEncoder | None = None
        fanout = self.video if track.kind == "video" else self.audio
        while True:
            try:
                frame: Any = await track.recv()   # an av.VideoFrame or av.AudioFrame
            except MediaStreamError:
                return
            if not len(fanout):
                continue
            if track.kind == "audio":
                packets = self.opus.encode(frame)
            else:
                if encoder is None or (encoder.codec.width, encoder.codec.height) != (
                        frame.width, frame.height):
                    encoder = VideoEncoder(frame.width, frame.height, self.fps,
                                           codec=self.codec.lower())
                    fanout.request_keyframe("resync")
                keyframe = fanout.take_keyframe(loop.time())
                packets = await loop.run_in_executor(None, encoder.encode, frame, keyframe)
            for packet in packets:
                fanout.push(packet)


__all__ = ["FileSource", "PatternSource", "Source", "TrackSource", "local_path"]
