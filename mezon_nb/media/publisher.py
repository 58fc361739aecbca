"""Publishing into a streaming channel: the bot's file path, or a WebRTC publisher.

* :func:`publish_file` — today's Mezon bot path: ``connect_publisher {ChannelId, Password: "",
  FileUrl}`` and the stream server pulls the file itself; ``stop_publisher`` ends it. Local
  paths become ``file://`` URLs (which only the sandbox can read).
* :func:`publish` — ``session_publisher`` (offer) → ``sd_answer``, then ``connect_publisher
  {ChannelId}`` once ICE is up; frames come from numpy arrays, a file or the test pattern
  (:mod:`mezon_nb.media.tracks`).

Both return a :class:`Publisher`: ``state`` (connecting, live, ended, error, closed),
``stats``, ``stop()`` / ``await astop()``. Stopping sends ``stop_publisher`` and waits (at most
:data:`RELEASE_WAIT` s) for the server to say the publication ended, so that the channel is
free for the next publisher when ``stop()`` returns.

>>> file_url("https://cdn.example/x.ogg")
'https://cdn.example/x.ogg'
>>> file_url("/tmp/clip.webm")
'file:///tmp/clip.webm'
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from mezon_nb.core.loop import LoopThread, call_sync, run_on
from mezon_nb.errors import MediaError, MezonError, StreamEndedError
from mezon_nb.media.errors import map_media_errors
from mezon_nb.media.ice import host_candidates, is_loopback
from mezon_nb.media.signaling import StnSignaling, StreamAccess, error_for, signaling_for
from mezon_nb.media.tracks import PacedVideoTrack, source_tracks
from mezon_nb.protocol import stn

logger = logging.getLogger(__name__)

#: Seconds ``stop()`` waits for the stream server to confirm the end of the publication.
RELEASE_WAIT = 2.0


def file_url(url_or_path: str | Path) -> str:
    """A URL for ``connect_publisher``: URLs pass through, local paths become ``file://``."""
    text = str(url_or_path)
    if len(urlparse(text).scheme) > 1:
        return text
    return Path(text).expanduser().resolve().as_uri()


@dataclass(frozen=True)
class PublisherStats:
    """A publisher's numbers (``frames_sent`` and ``fps`` only for WebRTC video).

    >>> PublisherStats("live", 10.0, 300, 30.0, 640, 480).fps
    30.0
    """

    state: str
    seconds: float
    frames_sent: int
    fps: float
    width: int
    height: int


class Publisher:
    """A running publication; stop it with :meth:`stop` (or ``await astop()``).

    >>> p = Publisher("6", signaling=None)
    >>> p.state, p.stats.frames_sent
    ('connecting', 0)
    """

    def __init__(self, channel_id: str, signaling: StnSignaling | None,
                 tracks: list[MediaStreamTrack] | None = None, file_url: str = ""):
        self.channel_id = channel_id
        self.state = "connecting"
        self.error: BaseException | None = None
        self._sig, self._tracks, self.file_url = signaling, tracks or [], file_url
        self._pc: RTCPeerConnection | None = None
        self._started = time.monotonic()
        self._monitor: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"<Publisher channel={self.channel_id} state={self.state}>"

    @property
    def stats(self) -> PublisherStats:
        """Seconds since start, frames sent and their rate, frame size."""
        video = next((t for t in self._tracks if isinstance(t, PacedVideoTrack)), None)
        seconds = time.monotonic() - self._started
        sent = video.frames_sent if video else 0
        width, height = video.size if video else (0, 0)
        return PublisherStats(self.state, round(seconds, 2), sent,
                              round(sent / seconds, 1) if seconds > 0 else 0.0, width, height)

    def _set_state(self, state: str, error: BaseException | None = None) -> None:
        if self.state in ("closed", state):
            return
        logger.info("publisher %s: %s -> %s", self.channel_id, self.state, state)
        self.state, self.error = state, error or self.error

    async def _accepted(self, timeout: float) -> None:
        """Wait for the server's ``connect_publisher`` (or the channel listed as live)."""
        assert self._sig is not None
        sig = self._sig

        async def reply() -> bool:
            while True:
                msg = await sig.receive()
                if msg.key == "error":
                    raise error_for(stn.error_text(msg.value))
                if msg.key == "connect_publisher" or (
                        msg.key == "channels" and self.channel_id in stn.channel_ids(msg.value)):
                    return True

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            await sig.send("get_channels", {})
            with contextlib.suppress(asyncio.TimeoutError):
                if await asyncio.wait_for(reply(), min(left, 1.0)):
                    return
        raise MediaError(f"the stream server did not accept the publication within {timeout} s")

    def _start_monitor(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._set_state("live")
        self._monitor = asyncio.ensure_future(self._watch())
        for track in self._tracks:
            track.on("ended", lambda: asyncio.ensure_future(self._finish("ended")))

    async def _watch(self) -> None:
        assert self._sig is not None
        try:
            while True:
                msg = await self._sig.receive()
                if msg.key == "error":
                    raise error_for(stn.error_text(msg.value))
                if _ends_publication(msg):
                    raise StreamEndedError(f"publication on {self.channel_id} ended")
        except StreamEndedError as exc:
            await self._finish("ended", exc, notify=False)
        except MezonError as exc:
            await self._finish("error", exc, notify=False)

    async def _finish(self, state: str, error: BaseException | None = None,
                      notify: bool = True) -> None:
        if self.state in ("ended", "error", "closed"):
            return
        self._set_state(state, error)
        await self._teardown(notify)

    async def _teardown(self, notify: bool) -> None:
        if self._monitor is not None and self._monitor is not asyncio.current_task():
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        if self._sig is not None:
            if notify:
                with contextlib.suppress(MezonError, asyncio.TimeoutError):
                    await self._sig.send("stop_publisher", {
                        "ChannelId": self.channel_id, "Password": "", "FileUrl": ""})
                    await asyncio.wait_for(self._released(), RELEASE_WAIT)
            await self._sig.close()
        for track in self._tracks:
            track.stop()
        if self._pc is not None:
            await self._pc.close()

    async def _released(self) -> None:
        """Until the stream server says the publication ended (or refuses): then the channel
        is free for the next publisher."""
        assert self._sig is not None
        while True:
            msg = await self._sig.receive()
            if msg.key == "error" or _ends_publication(msg):
                return

    async def astop(self) -> None:
        """Stop publishing (``stop_publisher``) and close everything; idempotent."""
        await run_on(self._loop, self._stop)

    async def _stop(self) -> None:
        live = self.state in ("connecting", "live")
        self._set_state("closed")
        if live:
            await self._teardown(notify=True)

    def stop(self, timeout: float = 10.0) -> None:
        """:meth:`astop` from synchronous code (any thread)."""
        call_sync(self._loop, self._stop, timeout)
        self._set_state("closed")


def _ends_publication(msg: stn.StnMessage) -> bool:
    return msg.key in ("stream_publisher_ended", "channel_closed") or (
        msg.key == "info" and msg.value == "stream_publisher_ended")


async def _start(publisher: Publisher, opening: Any) -> Publisher:
    try:
        await opening
    except BaseException as exc:
        publisher._set_state("error", exc)
        await publisher._teardown(notify=False)
        raise
    publisher._start_monitor()
    return publisher


async def publish_file(client: StreamAccess, channel_id: int | str, url_or_path: str | Path, *,
                       timeout: float = 20.0) -> Publisher:
    """Have the stream server play a file into ``channel_id`` (the Mezon bot path).

    Usually ``client.publish_file(channel_id, "clip.webm")``; returns a live
    :class:`Publisher`. STN accepts Ogg Opus and WebM (VP8 + Opus), without transcoding.

    >>> publisher = client.publish_file(channel_id, "clip.webm", timeout=10)
    >>> publisher.state
    'live'
    >>> publisher.stop()
    """
    cid = str(channel_id)
    sig = await signaling_for(client, cid, is_publisher=True)
    url = file_url(url_or_path)
    publisher = Publisher(cid, sig, file_url=url)

    async def opening() -> None:
        await sig.connect()
        await sig.send("connect_publisher", {"ChannelId": cid, "Password": "", "FileUrl": url})
        await publisher._accepted(timeout)

    return await LoopThread.shared().arun(_start(publisher, opening()))


async def publish(client: StreamAccess, channel_id: int | str, source: Any, *, fps: float = 30,
                  size: tuple[int, int] = (640, 480), stamp: bool = True,
                  timeout: float = 20.0) -> Publisher:
    """Publish over WebRTC: ``source`` is ``"pattern"``, a media file path, or numpy frames.

    Usually ``client.publish(channel_id, frames)`` with ``frames`` an iterable (a generator)
    of H x W x 3 uint8 arrays, sent at ``fps``; ``stamp`` draws a latency stamp into them.
    The publication ends when the frames run out.

    >>> import numpy as np
    >>> frames = (np.full((240, 320, 3), 128, np.uint8) for _ in range(45))  # 3 s of grey
    >>> publisher = client.publish(channel_id, frames, fps=15, timeout=10)
    >>> session = client.join_stream(channel_id, timeout=10)        # watch it
    >>> session.latest_frame(timeout=5).array.shape
    (240, 320, 3)
    >>> publisher.stats.frames_sent > 0
    True
    >>> session.leave(); publisher.stop()
    """
    cid = str(channel_id)
    sig = await signaling_for(client, cid, is_publisher=True)
    with map_media_errors("opening the source"):
        tracks = source_tracks(source, fps=fps, size=size, stamp=stamp)
    publisher = Publisher(cid, sig, tracks=tracks)

    async def answered(pc: RTCPeerConnection, connected: asyncio.Event) -> None:
        while True:
            msg = await sig.receive()
            if msg.key == "error":
                raise error_for(stn.error_text(msg.value))
            sdp = stn.answer_sdp(msg.value) if msg.key == "sd_answer" else None
            if sdp:
                with map_media_errors("applying the answer"):
                    await pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
                break
        await connected.wait()

    async def opening() -> None:
        pc = publisher._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        connected = asyncio.Event()
        def on_ice_state() -> None:
            if pc.iceConnectionState == "completed":
                connected.set()

        pc.on("iceconnectionstatechange", on_ice_state)
        with map_media_errors("creating the offer"):
            for track in tracks:
                pc.addTransceiver(track, direction="sendonly")
            with host_candidates(loopback=is_loopback(sig.url)):
                await pc.setLocalDescription(await pc.createOffer())
        await sig.connect()
        await sig.send("session_publisher", {"type": "offer", "sdp": pc.localDescription.sdp})
        try:
            await asyncio.wait_for(answered(pc, connected), timeout)
        except asyncio.TimeoutError:
            raise MediaError(f"no WebRTC connection to the stream server within {timeout} s"
                             ) from None
        await sig.send("connect_publisher", {"ChannelId": cid})
        await publisher._accepted(timeout)

    return await LoopThread.shared().arun(_start(publisher, opening()))


__all__ = ["Publisher", "PublisherStats", "file_url", "publish", "publish_file"]
