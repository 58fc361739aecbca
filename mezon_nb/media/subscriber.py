"""The viewer: STN's newest viewer exchange on an aiortc peer connection, and ``join_stream``.

1. Poll ``get_channels`` until the channel is listed (state ``waiting`` meanwhile).
2. Offer audio + video ``recvonly`` (H.264 first, VP8 too), all ICE candidates in the SDP;
   send ``session_subscriber``.
3. On ``session_received``: ``connect_subscriber {ChannelId}`` and ``session_state_changed``
   State 3. Apply ``sd_answer`` (a string or ``{sdp}``); add trickled ``ice_candidate``s.
4. ``error`` / ``channel_closed`` / ``stream_publisher_ended`` end the session with a typed error.
5. Leaving sends State 5 and closes.

STUN/TURN servers and the transport policy come from the client (``connect(ice_servers=...,
ice_transport_policy=...)``, :mod:`mezon_nb.media.ice`); without them no STUN or TURN server is
ever contacted. With ``"relay"`` a TURN server that gives no relay candidate fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription, candidate_from_sdp

from mezon_nb.core.ice_servers import IceSettings
from mezon_nb.core.loop import LoopThread
from mezon_nb.errors import (
    ConnectionClosedError,
    MediaError,
    MezonError,
    StreamEndedError,
    StreamNotLiveError,
)
from mezon_nb.media.encoded import (
    KeyframeRequests,
    picture_loss_sender,
    tap_audio,
    tap_receiver,
)
from mezon_nb.media.errors import map_media_errors
from mezon_nb.media.ice import (
    gather_offer,
    host_candidates,
    ice_failure,
    is_loopback,
    relay_only,
    rtc_configuration,
    selected_pair,
)
from mezon_nb.media.jitter import release_on_marker, stream_ssrc
from mezon_nb.media.signaling import StnSignaling, StreamAccess, error_for, signaling_for
from mezon_nb.media.stream_session import StreamSession
from mezon_nb.protocol import stn
from mezon_nb.protocol.codec import id_str

logger = logging.getLogger(__name__)
_ENDED_KEYS = ("channel_closed", "stream_publisher_ended", "stream_track_ended")


def receive_codecs() -> list[Any]:
    """Video codecs the viewer offers, H.264 first then VP8 (and their RTX).

    >>> [c.mimeType for c in receive_codecs()][:2]
    ['video/H264', 'video/H264']
    """
    caps = RTCRtpReceiver.getCapabilities("video")
    assert caps is not None  # aiortc always knows video
    order = ("video/h264", "video/vp8", "video/rtx")
    return sorted((c for c in caps.codecs if c.mimeType.lower() in order),
                  key=lambda c: order.index(c.mimeType.lower()))


class StnViewer:
    """Drives one :class:`StreamSession` over STN signalling and an RTCPeerConnection.

    >>> viewer = StnViewer(StreamSession("6"), StnSignaling("ws://127.0.0.1:9", "t"),
    ...                    wait_live=True)
    >>> viewer.pc is None
    True
    """

    def __init__(self, session: StreamSession, signaling: StnSignaling, *, wait_live: bool,
                 ice: IceSettings | None = None):
        self.session, self.sig, self.wait_live, self.ice = session, signaling, wait_live, ice
        self.pc: RTCPeerConnection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending: list[Any] = []
        self._answered = False
        self._closed = False

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def start(self, timeout: float) -> None:
        """Connect and return once the first frame arrived; on failure clean up and raise."""
        session = self.session
        session._loop = asyncio.get_running_loop()
        session._close = self.close
        try:
            await asyncio.wait_for(self._open(), timeout)
        except asyncio.TimeoutError:
            what = f"stream {session.channel_id} did not start within {timeout} s"
            err: MezonError
            if session.state == "waiting":
                err = StreamNotLiveError(what)
            elif self.pc is not None and self.pc.iceConnectionState not in ("connected",
                                                                              "completed"):
                err = ice_failure(self.pc, self.ice, what)
            else:
                err = MediaError(what)
            await self._fail(err)
            raise err from None
        except MezonError as exc:
            await self._fail(exc)
            raise
        except BaseException:
            await self.close()
            raise

    async def _open(self) -> None:
        await self.sig.connect()
        has_video = await self._wait_live()
        pc, self.ice = await gather_offer(lambda ice: self._offer(ice, has_video), self.ice,
                                          f"viewer of {self.session.channel_id}")
        self.pc = pc
        await self.sig.send("session_subscriber", {"type": "offer",
                                                   "sdp": pc.localDescription.sdp})
        self._spawn(self._receive())
        settled = asyncio.Event()
        def on_state(state: str) -> None:
            if state != "waiting":
                settled.set()

        remove = self.session.on_state(on_state)
        try:
            await settled.wait()
        finally:
            remove()
        if self.session.state != "live":
            raise self.session.error or StreamEndedError("stream ended before it started")

    async def _offer(self, ice: IceSettings | None, has_video: bool) -> RTCPeerConnection:
        """A peer connection for ``ice`` with its local offer (every candidate gathered)."""
        pc = RTCPeerConnection(rtc_configuration(ice))
        pc.on("track", lambda track: self._spawn(self._consume(track)))
        pc.on("connectionstatechange", self._on_connection_state)
        try:
            with map_media_errors("creating the offer"):
                self._tap_audio(pc.addTransceiver("audio", direction="recvonly").receiver)
                if has_video:
                    video = pc.addTransceiver("video", direction="recvonly")
                    video.setCodecPreferences(receive_codecs())
                    self._tap_video(video.receiver)
                with host_candidates(loopback=is_loopback(self.sig.url),
                                     relay_only=relay_only(ice)):
                    await pc.setLocalDescription(await pc.createOffer())
        except BaseException:
            await pc.close()
            raise
        return pc

    def _tap_audio(self, receiver: Any) -> None:
        """Every audio packet counted as it arrives, decoded only while Python listens."""
        session = self.session
        session.decodes_audio_on_demand = tap_audio(
            receiver, session._on_audio_packet, session.wants_audio) is not None

    def _tap_video(self, receiver: Any) -> None:
        """Frames one interval sooner, the encoded frames to the session, decoding on demand,
        and keyframe requests as RTCP PLI."""
        release_on_marker(receiver)
        session = self.session
        session._keyframes = KeyframeRequests(
            picture_loss_sender(receiver, lambda: stream_ssrc(receiver)))
        session.decodes_on_demand = tap_receiver(
            receiver, session._on_encoded, session.wants_decoded,
            session.request_keyframe) is not None

    async def _wait_live(self) -> bool:
        cid = self.session.channel_id
        while True:
            await self.sig.send("get_channels", {})
            live = await self._channels_reply()
            if cid in live:
                return live[cid]
            if not self.wait_live:
                raise StreamNotLiveError(f"channel {cid} is not live (no publisher)")
            self.session._set_state("waiting")
            await asyncio.sleep(1.0)

    async def _channels_reply(self) -> dict[str, bool]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.2
        while (left := deadline - loop.time()) > 0:
            try:
                msg = await asyncio.wait_for(self.sig.receive(), left)
            except asyncio.TimeoutError:
                break
            if msg.key == "channels":
                return stn.channel_ids(msg.value)
            if msg.key == "error":
                raise error_for(stn.error_text(msg.value))
        return {}

    async def _receive(self) -> None:
        try:
            while True:
                msg = await self.sig.receive()
                with map_media_errors(f"handling {msg.key!r}"):
                    await self._handle(msg)
        except MezonError as exc:
            await self._fail(exc)

    async def _handle(self, msg: stn.StnMessage) -> None:
        assert self.pc is not None
        if msg.key == "session_received":
            await self.sig.send("connect_subscriber", {"ChannelId": self.session.channel_id})
            await self.sig.send("session_state_changed", {}, State=stn.STATE_CONNECTED)
        elif msg.key == "sd_answer":
            sdp = stn.answer_sdp(msg.value)
            if sdp is None:
                raise MediaError("sd_answer without an SDP")
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
            self.session.codec = _video_codec(sdp)
            self._answered = True
            for candidate in self._pending:
                await self.pc.addIceCandidate(candidate)
            self._pending.clear()
            self._spawn(self._poll_bitrate())
        elif msg.key == "ice_candidate":
            fields = stn.candidate_fields(msg.value)
            if fields is not None:
                candidate = candidate_from_sdp(fields[0])
                candidate.sdpMid, candidate.sdpMLineIndex = fields[1], fields[2]
                if self._answered:
                    await self.pc.addIceCandidate(candidate)
                else:
                    self._pending.append(candidate)
        elif msg.key == "error":
            raise error_for(stn.error_text(msg.value))
        elif msg.key in _ENDED_KEYS or (msg.key == "info" and msg.value in _ENDED_KEYS):
            raise StreamEndedError(f"stream {self.session.channel_id} ended ({msg.key})")

    async def _on_connection_state(self) -> None:
        if self.pc is None:
            return
        if self.pc.connectionState == "connected":
            self.session.candidate_pair = selected_pair(self.pc)
        elif self.pc.connectionState == "failed":
            cid = self.session.channel_id
            ice_done = self.pc.iceConnectionState in ("connected", "completed")
            await self._fail(MediaError(f"viewer of {cid}: WebRTC connection failed (DTLS)")
                             if ice_done else ice_failure(self.pc, self.ice, f"viewer of {cid}"))

    async def _consume(self, track: MediaStreamTrack) -> None:
        """Hand each received frame to the session; a failure ends the session with an error
        (``state == "error"``) instead of silently ending this task while the state says live."""
        self.session.track_kinds.add(track.kind)
        handler: Callable[[Any], None] = (self.session._on_video if track.kind == "video"
                                          else self.session._on_audio)
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                handler(frame)
        except Exception as exc:
            logger.exception("stream %s: %s frames failed", self.session.channel_id, track.kind)
            error = MediaError(f"receiving {track.kind} failed: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            await self._fail(error)

    async def _poll_bitrate(self) -> None:
        last: tuple[float, int] | None = None
        loop = asyncio.get_running_loop()
        while self.pc is not None:
            stats = (await self.pc.getStats()).values()
            total = sum(s.bytesReceived for s in stats if s.type == "transport")
            now = loop.time()
            if last is not None and now > last[0]:
                self.session.bitrate_kbps = (total - last[1]) * 8 / 1000 / (now - last[0])
            last = (now, total)
            await asyncio.sleep(1.0)

    async def _fail(self, exc: BaseException) -> None:
        ended = isinstance(exc, StreamEndedError) or (
            isinstance(exc, ConnectionClosedError) and self.session.state == "live")
        await self.close(send_leave=not ended)
        self.session._set_state("ended" if ended else "error", exc)

    async def close(self, send_leave: bool = True) -> None:
        """Send State 5 (unless the stream ended), close the peer connection and the socket."""
        if self._closed:
            return
        self._closed = True
        if send_leave:
            with contextlib.suppress(MezonError):
                await self.sig.send("session_state_changed", {}, State=stn.STATE_DISCONNECTED)
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        await asyncio.gather(*(t for t in self._tasks if t is not current),
                             return_exceptions=True)
        if self.pc is not None:
            await self.pc.close()
        await self.sig.close()


def _video_codec(sdp: str) -> str | None:
    for media in SessionDescription.parse(sdp).media:
        if media.kind == "video" and media.rtp.codecs:
            return media.rtp.codecs[0].mimeType.split("/", 1)[1]
    return None


async def join_stream(client: StreamAccess, channel_id: int | str, *, timeout: float = 20.0,
                      wait_live: bool = True, buffer: int = 4) -> StreamSession:
    """Join a streaming channel and return its live :class:`StreamSession`.

    Waits (up to ``timeout`` s) for the first frame; with ``wait_live=False`` a channel with
    no publisher raises :class:`~mezon_nb.errors.StreamNotLiveError` at once. A text or voice
    channel raises :class:`~mezon_nb.errors.NotStreamingChannelError` at once, a channel of a
    clan the bot is not in :class:`~mezon_nb.errors.PermissionDeniedError`. ``buffer`` is
    how many frames each consumer may fall behind before the oldest are dropped.
    Usually called as ``client.join_stream(channel_id)``:

    >>> session = client.join_stream(sandbox.stream_channel_id, timeout=10)
    >>> session.state, session.stats.codec
    ('live', 'VP8')
    >>> session.leave()
    >>> client.join_stream(channel_id, wait_live=False)              # nobody publishes there
    Traceback (most recent call last):
    ...
    mezon_nb.errors.StreamNotLiveError: ...
    """
    cid = id_str(channel_id)  # TypeError/ValueError here, as the other methods raise
    signaling = await signaling_for(client, cid, doing="join a stream in")
    session = StreamSession(cid, buffer=buffer)
    viewer = StnViewer(session, signaling, wait_live=wait_live,
                       ice=getattr(client, "ice", None))
    await LoopThread.shared().arun(viewer.start(timeout))
    return session


__all__ = ["StnViewer", "join_stream", "receive_codecs"]
