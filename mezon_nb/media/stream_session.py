"""``StreamSession``: one joined stream as the notebook sees it — frames, audio, state, stats.

The session lives on the library's loop thread (``LoopThread.shared()``), so frames keep
arriving while a cell blocks. Every public method can be called from any thread. The stream's
encoded frames reach :meth:`StreamSession.listen_encoded` listeners (the widget forwards them
to the browser); aiortc decodes them only while something in Python takes decoded frames
(``frames()``, ``on_frame``, ``listen_frames``, a recording, or ``latest_frame`` in the last
``DECODE_LEASE`` seconds), so watching alone costs the kernel little; the sound likewise
(``audio_frames()``, a recording, or ``latest_audio`` in the last ``DECODE_LEASE`` seconds;
``stats.audio_frames_received`` counts every packet that arrived). The rgb24 conversion
happens only when a consumer reads ``.array`` (the README's "Life of a frame" gives the
thread of each hop).

States: ``connecting`` → ``waiting`` (channel not live yet) → ``live`` (first audio or video
frame; a radio-style stream has audio only) →
``ended`` (publisher stopped) / ``error`` (see ``session.error``) / ``closed`` (``leave()``).
:meth:`StreamSession.on_state` callbacks run on the loop thread on each change.

>>> s = StreamSession("6")
>>> (s.state, s.stats.frames_received, s.latest_frame())
('connecting', 0, None)
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np

from mezon_nb.core.loop import call_sync, run_on
from mezon_nb.media.encoded import EncodedFrame, KeyframeRequests
from mezon_nb.media.frames import AudioChunk, Frame, FrameHub, FrameStream
from mezon_nb.media.ice import CandidatePair
from mezon_nb.media.recording import Recorder
from mezon_nb.protocol.stamp import read_stamp

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger(__name__)
TERMINAL = ("ended", "error", "closed")
#: Seconds a ``latest_frame()`` call keeps the decoder running for the next calls.
DECODE_LEASE = 3.0


@dataclass(frozen=True)
class StreamStats:
    """A snapshot of a session's numbers (``latency_ms`` needs stamped frames).

    ``bitrate_kbps`` counts everything received (audio, video, RTCP) over the last second;
    ``frames_received`` counts encoded video frames, ``frames_decoded`` those decoded for Python;
``gaps`` counts the frames that came after lost ones (RTP packets lost for good);
    ``audio_frames_received`` counts the audio packets, ``audio_frames_decoded`` those decoded.

    >>> StreamStats("live", 30.0, 640, 480, "VP8", 800.0, 90, 0, 42.0).fps
    30.0
    """

    state: str
    fps: float
    width: int
    height: int
    codec: str | None
    bitrate_kbps: float
    frames_received: int
    frames_dropped: int
    latency_ms: float | None
    audio_frames_received: int = 0
    frames_decoded: int = 0
    keyframe_requests: int = 0
    gaps: int = 0
    audio_frames_decoded: int = 0


def stamp_of(frame: av.VideoFrame) -> float | None:
    """The capture time stamped in a decoded frame, read from its luma plane (no rgb copy)."""
    if frame.format.name.startswith("yuv"):
        plane = frame.planes[0]
        luma = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        stamp = read_stamp(luma[:frame.height, :frame.width])
    else:
        stamp = read_stamp(frame.to_ndarray(format="rgb24"))
    return None if stamp is None else stamp.captured_at


class StreamSession:
    """A joined stream. Get one from ``client.join_stream(channel_id)``; see the module doc.

    ``latest_frame(timeout)`` waits only while no frame has arrived yet; ``frames()`` and
    ``on_frame()`` see every frame unless they fall ``buffer`` frames behind.

    >>> session = client.join_stream(sandbox.stream_channel_id, timeout=10)
    >>> session.latest_frame(timeout=5).array.shape                 # a 320x240 stream
    (240, 320, 3)
    >>> session.leave()
    """

    def __init__(self, channel_id: str, *, buffer: int = 4):
        self.channel_id = str(channel_id)
        self.error: BaseException | None = None
        self.codec: str | None = None
        self.bitrate_kbps = 0.0
        self._state = "connecting"
        self._video: FrameHub[Frame] = FrameHub(buffer)
        self._encoded: FrameHub[EncodedFrame] = FrameHub(1)
        self._keyframes: KeyframeRequests | None = None    # set once a video receiver exists
        self._keyframe_timer: asyncio.TimerHandle | None = None
        self._lease_until = time.monotonic() + DECODE_LEASE   # the first frames decode
        self.decodes_on_demand = False   # True when the receiver's frames come through a tap
        self._audio_lease_until = self._lease_until
        self.decodes_audio_on_demand = False     # the same for the audio receiver
        self._audio_packets = 0
        self._audio: FrameHub[AudioChunk] = FrameHub(max(buffer, 16))
        self._state_callbacks: list[Callable[[str], Any]] = []
        self._arrivals: deque[float] = deque(maxlen=120)
        self._gaps = 0
        self._latencies: deque[float] = deque(maxlen=30)
        self._size = (0, 0)
        self._recorder: Any = None
        self._close: Callable[[], Awaitable[None]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.track_kinds: set[str] = set()  # "audio" / "video", as the server sends them
        #: The ICE candidate pair in use once connected (``.local_type == "relay"`` through TURN).
        self.candidate_pair: CandidatePair | None = None

    def __repr__(self) -> str:
        return f"<StreamSession channel={self.channel_id} state={self.state}>"

    # -- state -------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """One of connecting, waiting, live, ended, error, closed."""
        return self._state

    def _set_state(self, state: str, error: BaseException | None = None) -> None:
        if state == self._state or self._state == "closed":
            return
        logger.info("stream %s: %s -> %s", self.channel_id, self._state, state)
        self._state = state
        if error is not None:
            self.error = error
        if state in TERMINAL:
            self._video.close()
            self._audio.close()
            self._encoded.close()
            if self._keyframe_timer is not None:
                self._keyframe_timer.cancel()
                self._keyframe_timer = None
        for fn in list(self._state_callbacks):
            try:
                fn(state)
            except Exception:
                logger.exception("on_state callback failed")

    def on_state(self, fn: Callable[[str], Any]) -> Callable[[], None]:
        """Call ``fn(state)`` on every state change; returns an unsubscribe function."""
        self._state_callbacks.append(fn)

        def unsubscribe() -> None:
            if fn in self._state_callbacks:
                self._state_callbacks.remove(fn)
        return unsubscribe

    # -- receive path (loop thread) ----------------------------------------------------

    def _on_encoded(self, frame: EncodedFrame) -> None:
        self._arrivals.append(frame.received_at)
        self._gaps += frame.gap
        if frame.width and frame.height:
            self._size = (frame.width, frame.height)
        self._encoded.publish(frame)
        if self._state in ("connecting", "waiting"):
            self._set_state("live")

    def wants_decoded(self) -> bool:
        """Whether something in Python takes decoded frames now (see the module doc).

        >>> s = StreamSession("6"); s.wants_decoded()        # the first frames decode
        True
        >>> s._lease_until = 0.0; s.wants_decoded()
        False
        """
        return (self._video.consumers > 0 or self._recorder is not None
                or time.monotonic() < self._lease_until)

    def wants_audio(self) -> bool:
        """Whether something in Python takes decoded sound now (see the module doc).

        >>> s = StreamSession("6"); s._audio_lease_until = 0.0; s.wants_audio()
        False
        """
        return (self._audio.consumers > 0 or self._recorder is not None
                or time.monotonic() < self._audio_lease_until)

    def _on_audio_packet(self) -> None:
        """An audio packet arrived (loop thread), decoded or not."""
        self._audio_packets += 1
        if self._state in ("connecting", "waiting"):
            self._set_state("live")

    def request_keyframe(self) -> None:
        """Ask the stream server for a keyframe (RTCP PLI), at most one each 0.5 s: a request
        inside that interval goes when it ends. Any thread.

        >>> StreamSession("6").request_keyframe()      # not joined: nothing to ask
        """
        if self._loop is not None and self._keyframes is not None:
            self._loop.call_soon_threadsafe(self._request_keyframe)

    def _request_keyframe(self) -> None:
        limiter, loop = self._keyframes, self._loop
        if limiter is None or loop is None or limiter.request(time.monotonic()):
            return
        due = limiter.next_due()
        if due is not None and self._keyframe_timer is None:
            self._keyframe_timer = loop.call_later(max(0.0, due - time.monotonic()),
                                                   self._keyframe_due)

    def _keyframe_due(self) -> None:
        self._keyframe_timer = None
        if self._keyframes is not None and self._state not in TERMINAL:
            self._keyframes.due(time.monotonic())

    def _on_video(self, frame: av.VideoFrame) -> None:
        now = time.time()
        captured = stamp_of(frame)
        item = Frame(self._video.count, frame.pts, frame.width, frame.height, now, captured,
                     _source=frame)
        if not self.decodes_on_demand:
            self._arrivals.append(now)
        self._size = (frame.width, frame.height)
        if captured is not None:
            self._latencies.append(item.latency_ms or 0.0)
        recorder = self._recorder  # read once: stop_recording() may clear it from a cell
        if recorder is not None:
            recorder.write(frame, now)
        self._video.publish(item)
        if self._state in ("connecting", "waiting"):
            self._set_state("live")

    def _on_audio(self, frame: av.AudioFrame) -> None:
        chunk = AudioChunk(self._audio.count, frame.pts, frame.sample_rate, frame.samples,
                           len(frame.layout.channels), time.time(), _source=frame)
        recorder = self._recorder
        if recorder is not None:
            recorder.write_audio(frame, chunk.received_at)
        self._audio.publish(chunk)
        if self._state in ("connecting", "waiting"):
            self._set_state("live")

    # -- consumers (any thread) --------------------------------------------------------

    def latest_frame(self, timeout: float | None = None) -> Frame | None:
        """The newest video frame; waits up to ``timeout`` s when none has arrived yet, or
        when nothing was decoding (then decoding starts on the next keyframe, and goes on
        ``DECODE_LEASE`` s after the last call)."""
        idle = self.decodes_on_demand and not self.wants_decoded()
        self._lease_until = time.monotonic() + DECODE_LEASE
        if idle:
            self.request_keyframe()
            return self._video.newer(self._video.count, timeout)
        return self._video.latest(timeout)

    def frames(self, buffer: int | None = None) -> FrameStream[Frame]:
        """Iterate (``for`` or ``async for``) over frames; keeps the newest ``buffer`` only."""
        return self._video.stream(buffer)

    def on_frame(self, fn: Callable[[Frame], Any]) -> Callable[[], None]:
        """Call ``fn(frame)`` on a worker thread per frame (drop-oldest); returns unsubscribe."""
        return self._video.subscribe(fn, "frame")

    def listen_encoded(self, fn: Callable[[EncodedFrame], Any]) -> Callable[[], None]:
        """Call ``fn(frame)`` on the loop thread with each :class:`EncodedFrame` as it arrives
        (before any decoding; nothing is decoded for it); ``fn`` must return at once.
        Returns unsubscribe.

        >>> s = StreamSession("6"); seen = []
        >>> stop = s.listen_encoded(seen.append); stop(); seen
        []
        """
        return self._encoded.listen(fn)

    def listen_frames(self, fn: Callable[[Frame], Any]) -> Callable[[], None]:
        """Call ``fn(frame)`` on the loop thread as each frame arrives, for consumers that live
        on the library's loop (the widget pump); ``fn`` must return at once. Notebook code
        wants :meth:`on_frame`. Returns unsubscribe.

        >>> s = StreamSession("6"); seen = []
        >>> stop = s.listen_frames(seen.append); stop(); seen
        []
        """
        return self._video.listen(fn)

    def latest_audio(self, timeout: float | None = None) -> AudioChunk | None:
        """The newest audio chunk (20 ms of 48 kHz sound); waits up to ``timeout`` s when none
        has arrived yet, or when nothing was decoding (decoding goes on ``DECODE_LEASE`` s after
        the last call)."""
        idle = self.decodes_audio_on_demand and not self.wants_audio()
        self._audio_lease_until = time.monotonic() + DECODE_LEASE
        if idle:
            return self._audio.newer(self._audio.count, timeout)
        return self._audio.latest(timeout)

    def audio_frames(self, buffer: int | None = None) -> FrameStream[AudioChunk]:
        """Iterate over audio chunks, drop-oldest like :meth:`frames`."""
        return self._audio.stream(buffer)

    @property
    def stats(self) -> StreamStats:
        """Current numbers: fps over the last 2 s, size, codec, bitrate, counts, latency."""
        now = time.time()
        recent = [t for t in list(self._arrivals) if now - t <= 2.0]
        fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 2 and \
            recent[-1] > recent[0] else 0.0
        lat = list(self._latencies)
        received = self._encoded.count if self.decodes_on_demand else self._video.count
        return StreamStats(self._state, round(fps, 1), *self._size, self.codec,
                           round(self.bitrate_kbps, 1), received, self._video.dropped,
                           round(statistics.median(lat), 1) if lat else None,
                           self._audio_packets if self.decodes_audio_on_demand
                           else self._audio.count,
                           self._video.count,
                           self._keyframes.sent if self._keyframes is not None else 0,
                           self._gaps, self._audio.count)

    # -- recording ---------------------------------------------------------------------

    def record(self, path: str | Path, *, video: bool | None = None, audio: bool | None = None,
               **options: Any) -> Path:
        """Start writing the stream to ``path``: ``.mp4`` (H.264 + AAC) or ``.webm`` (VP8 + Opus).

        By default it records the tracks the stream carries (``track_kinds``).
        """
        if self._recorder is not None:
            raise RuntimeError("already recording; call stop_recording() first")
        kinds = self.track_kinds
        self._recorder = Recorder(
            path, video="video" in kinds or not kinds if video is None else video,
            audio="audio" in kinds if audio is None else audio, **options)
        return self._recorder.path

    def stop_recording(self, timeout: float = 30.0) -> Path | None:
        """Finish the file and return its path (``None`` when not recording)."""
        recorder, self._recorder = self._recorder, None
        return None if recorder is None else recorder.close(timeout)

    # -- leaving -----------------------------------------------------------------------

    async def aleave(self) -> None:
        """Leave the stream (State 5, close); idempotent."""
        await run_on(self._loop, self._leave)

    async def _leave(self) -> None:
        if self._recorder is not None:
            await asyncio.to_thread(self.stop_recording)
        close, self._close = self._close, None
        if close is not None:
            await close()
        self._set_state("closed")

    def leave(self, timeout: float = 10.0) -> None:
        """Leave the stream from synchronous code (any thread); idempotent."""
        if self._loop is None:
            self._set_state("closed")
        else:
            call_sync(self._loop, self._leave, timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.leave()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aleave()


__all__ = ["StreamSession", "StreamStats", "stamp_of"]
