"""The sandbox's STN stand-in: the ``/ws`` route, live channels, and presence.

``StreamServer(world).routes`` is mounted under ``/stn`` by the sandbox app, which calls
:meth:`StreamServer.start` and :meth:`StreamServer.stop` in its lifespan. Tokens are checked
before the WebSocket upgrade (HTTP 401 by default, ``world.config["stn_reject_status"]``); each
accepted socket becomes a :class:`~mezon_nb.sandbox.stn.connection.Connection`. A channel is
live while one :class:`~mezon_nb.sandbox.stn.sources.Source` publishes into it; the seeded
streaming channel plays the built-in test pattern (``world.config`` ``stream``,
``stream_size``, ``stream_fps``). Video goes out in ``stream_codec`` (``"vp8"``, ``"h264"``),
encoded once for every viewer; ``loss`` (:class:`~mezon_nb.sandbox.stn.rtp_tap.PacketLoss`)
drops a share of the video RTP packets while the ``drop_packets`` control has it on.

>>> class World:
...     config = {"stream": False}
>>> server = StreamServer(World())
>>> [route.path for route in server.routes]
['/ws']
>>> server.live_channels()
{}
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from mezon_nb.sandbox.config import video_codec_name
from mezon_nb.sandbox.stn.connection import Connection
from mezon_nb.sandbox.stn.rtp_tap import PacketLoss
from mezon_nb.sandbox.stn.sources import PatternSource, Source

logger = logging.getLogger(__name__)


class ChannelInUse(Exception):
    """A second publisher tried a live channel (babelcast's ``is already in use``).

    >>> str(ChannelInUse('channel "6" is already in use'))
    'channel "6" is already in use'
    """


@dataclass(eq=False)
class LiveChannel:
    """One live channel: its source, the publisher's user and connection, and its viewers.

    >>> from mezon_nb.sandbox.stn.sources import Source
    >>> LiveChannel("6", Source(), user_id=None).viewers
    set()
    """

    channel_id: str
    source: Source
    user_id: int | None
    publisher: Connection | None = None
    viewers: set[Connection] = field(default_factory=set)


class StreamServer:
    """Live channels plus the ``/ws`` signalling route for viewers and publishers.

    >>> StreamServer(object()).reject_status
    401
    """

    def __init__(self, world: Any) -> None:
        self.world = world
        config = getattr(world, "config", {}) or {}
        self.config = config
        self.reject_status = int(config.get("stn_reject_status", 401))
        self.video_codec = video_codec_name(config.get("stream_codec", "vp8"))
        self.loss = PacketLoss()
        self.channels: dict[str, LiveChannel] = {}
        self.connections: set[Connection] = set()
        self.routes = [WebSocketRoute("/ws", self._endpoint)]

    def live_channels(self) -> dict[str, bool]:
        """Live channel ids -> whether they carry video."""
        return {cid: ch.source.has_video for cid, ch in self.channels.items()}

    def summary(self) -> dict:
        """Signalling sockets open, the video codec, the packet loss control, and per live
        channel: video or not, the publishing user (None for the built-in pattern or a relayed
        file), how many viewers are connected and its video fanout's counters (packets,
        keyframes, keyframes forced, keyframe requests by cause).

        >>> StreamServer(object()).summary()["channels"]
        []
        """
        return {"sockets": len(self.connections), "codec": self.video_codec,
                "loss": self.loss.stats(time.monotonic()), "channels": [
            {"channel_id": cid, "video": ch.source.has_video,
             "publisher_user_id": None if ch.user_id is None else str(ch.user_id),
             "viewers": len(ch.viewers), "codec": ch.source.codec,
             "video_stats": ch.source.video.stats()} for cid, ch in self.channels.items()]}

    def channel_exists(self, channel_id: str) -> bool:
        """Whether the world knows ``channel_id`` (a channel one may publish into)."""
        return self._world_call("channel", _int(channel_id)) is not None

    def stream_channel_id(self) -> str | None:
        """The seeded streaming channel, from the world (``None`` when there is none)."""
        directory = getattr(self.world, "directory", None)
        cid = getattr(directory, "stream_channel_id", None) or self.config.get(
            "stream_channel_id")
        return None if cid is None else str(cid)

    async def start(self) -> None:
        """Put the built-in test pattern on the seeded streaming channel (unless disabled).

        The pattern has no publishing user, so it adds no presence row; publishers that
        connect (``connect_publisher``) appear as joined members, as a Mezon bot does.
        """
        cid = self.stream_channel_id()
        if not self.config.get("stream", True) or cid is None:
            return
        width, height = self.config.get("stream_size", (1280, 720))
        source = PatternSource(int(width), int(height), float(self.config.get("stream_fps", 30)),
                               codec=self.video_codec)
        self.go_live(cid, source, user_id=None)  # no user: the crowd's presence stays exact

    async def stop(self) -> None:
        """End every channel and close every socket."""
        for cid in list(self.channels):
            await self.end(cid)
        await asyncio.gather(*(c.close() for c in list(self.connections)),
                             return_exceptions=True)

    def go_live(self, channel_id: str, source: Source, user_id: int | None,
                publisher: Connection | None = None) -> LiveChannel:
        """Register ``source`` as the publisher of ``channel_id`` and start it."""
        if channel_id in self.channels:
            raise ChannelInUse(f'channel "{channel_id}" is already in use')
        channel = LiveChannel(channel_id, source, user_id, publisher)
        self.channels[channel_id] = channel
        source.on_end = lambda: _background(self.end(channel_id, source))
        source.start()
        self._world_call("stream_started", _int(channel_id))
        if user_id is not None:
            self.presence(channel_id, user_id, joined=True)
        return channel

    async def end(self, channel_id: str, source: Source | None = None) -> None:
        """Stop ``channel_id``'s publisher: viewers get ``channel_closed``, presence updates."""
        channel = self.channels.get(channel_id)
        if channel is None or (source is not None and channel.source is not source):
            return
        del self.channels[channel_id]
        await channel.source.stop()
        if channel.user_id is not None:
            self.presence(channel_id, channel.user_id, joined=False)
        self._world_call("stream_ended", _int(channel_id))
        # the publisher hears last: once it does, the channel and the presence are released
        for viewer in list(channel.viewers):
            await viewer.send("channel_closed", channel_id)
        if channel.publisher is not None:
            await channel.publisher.send("info", "stream_publisher_ended")

    def presence(self, channel_id: str, user_id: int, *, joined: bool) -> None:
        """Tell the chat side that ``user_id`` joined or left ``channel_id``'s stream."""
        if joined:
            name = self._world_call("user_name", user_id) or str(user_id)
            self._world_call("stream_join", _int(channel_id), user_id, name)
        else:
            self._world_call("stream_leave", _int(channel_id), user_id)

    def _world_call(self, name: str, *args: Any) -> Any:
        method = getattr(self.world, name, None)
        if method is None:
            return None
        try:
            return method(*args)
        except Exception:  # the chat side must never break the media side
            logger.exception("world.%s failed", name)
            return None

    async def _endpoint(self, websocket: WebSocket) -> None:
        token = websocket.query_params.get("token", "")
        user_id = self.world.authenticate_session(token) if token else None
        if user_id is None:
            logger.info("stream socket refused: bad or missing token")
            try:
                await websocket.send_denial_response(
                    PlainTextResponse("authentication rejected", status_code=self.reject_status))
            except RuntimeError:  # server without the denial-response extension: HTTP 403
                await websocket.close()
            return
        await websocket.accept()
        connection = Connection(self, websocket, int(user_id))
        self.connections.add(connection)
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)


def _background(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.ensure_future(coro)


def offer_loopback_only() -> None:
    """Make every WebRTC peer of this process offer one ICE host candidate, 127.0.0.1.

    aioice offers each interface address *but* loopback; the sandbox serves this machine only,
    so its media stays on 127.0.0.1 and works on a host with no other interface. Called by the
    sandbox's own processes (``python -m mezon_nb.sandbox``, the :class:`Sandbox` child), never
    in a process that may also talk to a remote peer.

    >>> callable(offer_loopback_only)
    True
    """
    aioice.ice.get_host_addresses = _loopback_addresses


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


def _int(channel_id: str) -> int | str:
    return int(channel_id) if channel_id.isdigit() else channel_id


__all__ = ["ChannelInUse", "LiveChannel", "StreamServer", "offer_loopback_only"]
