"""One STN socket on the sandbox side: a viewer or a publisher, one RTCPeerConnection.

Messages are handled in order, one at a time (as babelcast does). A handler that fails sends
``{"Key": "error", "Value": "<text>"}`` and closes the socket; so do a binary frame, an offer
aiortc cannot parse and a malformed ICE candidate. Viewers: ``session_subscriber``
→ ``session_received``; ``connect_subscriber`` → ``sd_answer`` (the SDP as a string);
``session_state_changed`` 3/5 and the ICE state drive presence. Publishers: ``connect_publisher``
with a ``FileUrl`` (a local file), or ``session_publisher`` → ``sd_answer`` then
``connect_publisher``; ``stop_publisher`` from a socket of the publishing session only.
Watching or publishing needs membership of the channel's clan and a streaming channel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription, candidate_from_sdp
from starlette.websockets import WebSocket, WebSocketDisconnect

from mezon_nb.protocol import stn
from mezon_nb.sandbox.stn.rtp_tap import PacketLoss, tap_video_sender
from mezon_nb.sandbox.stn.sources import FileSource, Source, TrackSource, local_path

logger = logging.getLogger(__name__)


class Refused(Exception):
    """A request the server refuses: its text goes out as ``error`` and the socket closes.

    >>> str(Refused('channel "6" not found'))
    'channel "6" not found'
    """


_WEBRTC_ERRORS = (ValueError, InvalidAccessError, InvalidStateError, OperationError)
#: What aiortc's SDP and candidate parsers raise on malformed text (they index, assert and
#: call next(); a StopIteration leaving one of its coroutines becomes a RuntimeError).
_PARSE_ERRORS = (AssertionError, AttributeError, IndexError, KeyError, RuntimeError,
                 StopIteration, TypeError, ValueError)


class Channel(Protocol):
    """A live channel as a :class:`Connection` sees it (``server.LiveChannel``)."""

    source: Source
    viewers: set[Connection]


class StreamHost(Protocol):
    """What a :class:`Connection` needs of its stream server (``server.StreamServer``); the
    server imports this module, never the other way round."""

    config: Mapping[str, Any]
    video_codec: str  # "VP8" or "H264": what every viewer is offered
    loss: PacketLoss  # the packet loss applied to every viewer's video

    @property
    def channels(self) -> Mapping[str, Channel]: ...
    def live_channels(self) -> dict[str, bool]: ...
    def channel_exists(self, channel_id: str) -> bool: ...
    def go_live(self, channel_id: str, source: Source, user_id: int | None,
                publisher: Connection | None = None) -> Channel: ...
    async def end(self, channel_id: str, source: Source | None = None) -> None: ...
    def presence(self, channel_id: str, user_id: int, *, joined: bool) -> None: ...
    def access_refusal(self, channel_id: str, user_id: int) -> str | None: ...
    def stop_refusal(self, channel_id: str, connection: Connection) -> str | None: ...


def _invalid_offer(exc: BaseException) -> Refused:
    return Refused(f"invalid offer: {exc or type(exc).__name__}")


def _video_codecs(name: str) -> list[Any]:
    return [c for c in RTCRtpSender.getCapabilities("video").codecs
            if c.mimeType.lower() == f"video/{name.lower()}"]


class Connection:
    """State of one socket: its peer connection, what it watches or publishes, its presence.

    >>> conn = Connection(server=None, websocket=None, user_id=7)
    >>> (conn.pc, conn.watching, conn.joined)
    (None, None, False)
    """

    def __init__(self, server: StreamHost, websocket: WebSocket, user_id: int):
        self.server, self.websocket, self.user_id = server, websocket, user_id
        self.pc: RTCPeerConnection | None = None
        self.tracks: list[MediaStreamTrack] = []
        self.watching: str | None = None
        self.joined = False
        self.session: str | None = None  # the login this socket's token belongs to
        self._closed = False

    async def run(self) -> None:
        """Handle messages until the socket closes, then clean up."""
        try:
            while True:
                frame = await self.websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                if frame.get("text") is None:
                    await self.send("error", "binary frame: STN messages are JSON text frames")
                    break
                msg = stn.decode(frame["text"])
                if msg is None:
                    continue
                handler = getattr(self, "on_" + msg.key, None)
                if handler is None:
                    continue
                try:
                    await handler(msg)
                except (Refused, *_WEBRTC_ERRORS) as exc:
                    await self.send("error", str(exc) or type(exc).__name__)
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            await self.close()

    async def send(self, key: str, value: Any = None) -> None:
        """Send one envelope; a closed socket is ignored."""
        try:
            await self.websocket.send_text(stn.encode(key, value))
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass

    async def close(self) -> None:
        """Leave presence, close the peer connection and the socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._leave()
        if self.pc is not None:
            await self.pc.close()
        try:
            await self.websocket.close()
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass

    # -- presence ---------------------------------------------------------------------

    def _join(self) -> None:
        if self.watching is not None and not self.joined:
            self.joined = True
            self.server.presence(self.watching, self.user_id, joined=True)

    def _leave(self) -> None:
        if self.watching is not None:
            channel = self.server.channels.get(self.watching)
            if channel is not None:
                channel.viewers.discard(self)
        if self.joined and self.watching is not None:
            self.joined = False
            self.server.presence(self.watching, self.user_id, joined=False)

    def _new_pc(self) -> RTCPeerConnection:
        if self.pc is not None:
            raise Refused("webrtc session already established")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

        @pc.on("iceconnectionstatechange")
        async def _ice() -> None:
            if pc.iceConnectionState == "completed":
                await self.send("info", "ice connected")
                self._join()
            elif pc.iceConnectionState in ("failed", "closed"):
                self._leave()

        pc.on("track", self.tracks.append)
        self.pc = pc
        return pc

    async def _set_offer(self, msg: stn.StnMessage, *, sending: bool) -> RTCPeerConnection:
        sdp = stn.answer_sdp(msg.value)
        if sdp is None:
            raise Refused("offer missing")
        try:
            kinds = [m.kind for m in SessionDescription.parse(sdp).media
                     if m.kind in ("audio", "video")]
        except _PARSE_ERRORS as exc:
            raise _invalid_offer(exc) from None
        if not kinds:
            raise Refused("invalid offer: no audio or video")
        pc = self._new_pc()
        # Codecs are settled by setRemoteDescription, so a viewer's transceivers exist first,
        # preferring what the fanouts carry (stream_codec); one per kind the offer has.
        for kind in dict.fromkeys(kinds) if sending else ():
            transceiver = pc.addTransceiver(kind, direction="sendonly")
            if kind == "video":
                transceiver.setCodecPreferences(_video_codecs(self.server.video_codec))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        except (*_WEBRTC_ERRORS, *_PARSE_ERRORS) as exc:
            raise _invalid_offer(exc) from None
        return pc

    async def _answer(self) -> None:
        assert self.pc is not None
        try:
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except _PARSE_ERRORS as exc:  # an offer aiortc took but cannot answer
            raise _invalid_offer(exc) from None
        # setLocalDescription scheduled aiortc's ICE connect as a task nobody awaits. One pass
        # of the loop lets it start checking, so that a close() from here on (a bad frame
        # already queued, a peer gone) ends it as a failed check. Closed before its first step,
        # aiortc < 1.16 (Python 3.10's) raised "RTCIceTransport is closed" in it, unretrieved.
        await asyncio.sleep(0)
        await self.send("sd_answer", self.pc.localDescription.sdp)

    @staticmethod
    def _channel_of(msg: stn.StnMessage) -> str:
        value = msg.value if isinstance(msg.value, dict) else {}
        cid = str(value.get("ChannelId") or msg.channel_id or "")
        if not cid:
            raise Refused("channel cannot be empty")
        return cid

    # -- viewer -----------------------------------------------------------------------

    async def on_session_subscriber(self, msg: stn.StnMessage) -> None:
        await self._set_offer(msg, sending=True)
        await self.send("session_received")

    async def on_get_channels(self, msg: stn.StnMessage) -> None:
        live = self.server.live_channels()
        if self.server.config.get("stn_channel_objects"):
            await self.send("channels", [{"ChannelId": c, "HasVideo": v} for c, v in live.items()])
        else:
            await self.send("channels", list(live))

    def _check_access(self, cid: str) -> None:
        problem = self.server.access_refusal(cid, self.user_id)
        if problem is not None:
            raise Refused(problem)

    async def on_connect_subscriber(self, msg: stn.StnMessage) -> None:
        cid = self._channel_of(msg)
        self._check_access(cid)
        if self.pc is None:
            raise Refused("webrtc session not established")
        channel = self.server.channels.get(cid)
        if channel is None:
            raise Refused(f'channel "{cid}" not found')
        if self.watching is not None:
            raise Refused("already subscribed")
        if channel.source.has_video and channel.source.codec != self.server.video_codec:
            raise Refused(f'channel "{cid}" sends {channel.source.codec} video, this stream '
                          f"server negotiates {self.server.video_codec} (stream_codec)")
        for transceiver in self.pc.getTransceivers():
            if transceiver.mid is None:
                continue
            if transceiver.kind == "video" and not channel.source.has_video:
                transceiver.direction = "inactive"  # radio: no video m-line media
            else:
                fanout = getattr(channel.source, transceiver.kind)
                transceiver.sender.replaceTrack(fanout.subscribe())
                if transceiver.kind == "video":
                    tap_video_sender(transceiver.sender, fanout, self.server.loss,
                                     time.monotonic)
        self.watching = cid
        channel.viewers.add(self)
        await self._answer()

    async def on_session_state_changed(self, msg: stn.StnMessage) -> None:
        if msg.state == stn.STATE_CONNECTED:
            self._join()
        elif msg.state in (stn.STATE_DISCONNECTED, stn.STATE_CLOSED):
            self._leave()

    async def on_ice_candidate(self, msg: stn.StnMessage) -> None:
        fields = stn.candidate_fields(msg.value)
        if fields is None or self.pc is None:
            return
        try:
            candidate = candidate_from_sdp(fields[0])
        except _PARSE_ERRORS:
            raise Refused("invalid ICE candidate") from None
        candidate.sdpMid, candidate.sdpMLineIndex = fields[1], fields[2]
        await self.pc.addIceCandidate(candidate)

    async def on_set_rendition(self, msg: stn.StnMessage) -> None:
        value = msg.value if isinstance(msg.value, dict) else {}
        await self.send("set_rendition", {"rendition": value.get("Rendition"),
                                          "playout_delay_ms": 0})

    # -- publisher --------------------------------------------------------------------

    async def on_session_publisher(self, msg: stn.StnMessage) -> None:
        await self._set_offer(msg, sending=False)
        await self._answer()

    async def on_connect_publisher(self, msg: stn.StnMessage) -> None:
        cid = self._channel_of(msg)
        value = msg.value if isinstance(msg.value, dict) else {}
        if not self.server.channel_exists(cid):
            raise Refused(f'channel "{cid}" not found')
        self._check_access(cid)
        if cid in self.server.channels:
            raise Refused(f'channel "{cid}" is already in use')
        file_url = value.get("FileUrl") or ""
        source: Source
        try:
            if file_url:
                source = FileSource(local_path(file_url))
            elif self.tracks:
                source = TrackSource(self.tracks, fps=float(self.server.config.get(
                    "stream_fps", 30)), codec=self.server.video_codec)
            else:
                raise Refused("webrtc session not established")
        except (ValueError, OSError) as exc:
            raise Refused(f"stream publish failed: {exc}") from None
        self.server.go_live(cid, source, self.user_id, publisher=self)
        await self.send("connect_publisher", {"ChannelId": cid})

    async def on_stop_publisher(self, msg: stn.StnMessage) -> None:
        cid = self._channel_of(msg)
        problem = self.server.stop_refusal(cid, self)
        if problem is not None:
            raise Refused(problem)
        await self.server.end(cid)


__all__ = ["Connection", "Refused"]
