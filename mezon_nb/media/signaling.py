"""The STN signalling socket: ``<stream_url>/ws?token=…``, JSON envelopes, a ping every 15 s.

:class:`StnSignaling` fills the envelope fields (``ClanId``, ``ChannelId``, ``UserId``,
``ClientId``, ``IsPublisher``) on every message, as the newest web client does, and maps a
refused handshake to :class:`~mezon_nb.errors.AuthenticationError`. The token never appears in
logs, reprs or exceptions.

>>> stn_ws_url("ws://127.0.0.1:8000/stn")
'ws://127.0.0.1:8000/stn/ws'
>>> stn_ws_url("https://stn.mezon.ai/")
'wss://stn.mezon.ai/ws'
>>> error_for('channel "6" not found').__class__.__name__
'StreamNotLiveError'
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from mezon_nb.core.models import ChannelInfo, Session
from mezon_nb.core.redact import TokenFilter
from mezon_nb.core.urls import websocket_url
from mezon_nb.errors import (
    AuthenticationError,
    ConnectionClosedError,
    MezonError,
    StreamEndedError,
    StreamError,
    StreamNotLiveError,
    TransportError,
)
from mezon_nb.protocol import stn

logger = logging.getLogger(__name__)
PING_INTERVAL = 15.0
wire_logger = logging.getLogger("mezon_nb.media.wire")
wire_logger.addFilter(TokenFilter())  # websockets' handshake line carries the token


def stn_ws_url(stream_url: str) -> str:
    """The signalling socket URL for an STN base URL (``http(s)`` becomes ``ws(s)``)."""
    base = websocket_url(stream_url.rstrip("/"))
    return base if base.endswith("/ws") else base + "/ws"


def error_for(text: str) -> MezonError:
    """The typed exception for an STN ``error`` text."""
    lowered = text.lower()
    if "not found" in lowered or "not ready" in lowered:
        return StreamNotLiveError(f"stream server: {text}")
    if "token" in lowered or "auth" in lowered:
        return AuthenticationError(f"stream server: {text}")
    if "closed" in lowered or "ended" in lowered:
        return StreamEndedError(f"stream server: {text}")
    return StreamError(f"stream server: {text}")


class StnSignaling:
    """One STN socket. ``await connect()``, ``send()``, ``receive()``, ``close()``.

    >>> sig = StnSignaling("ws://127.0.0.1:1/stn", "secret", channel_id="6", user_id="1")
    >>> "secret" in repr(sig)
    False
    """

    def __init__(self, stream_url: str, token: str, *, clan_id: str = "", channel_id: str = "",
                 user_id: str = "", is_publisher: bool = False):
        self.url = stn_ws_url(stream_url)
        self._token = token
        self.envelope: dict[str, Any] = {
            "ClanId": clan_id, "ChannelId": channel_id, "UserId": user_id,
            "ClientId": f"mezon_nb-{user_id}", "IsPublisher": is_publisher}
        self._ws: ClientConnection | None = None
        self._ping: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<StnSignaling {self.url} channel={self.envelope['ChannelId']}>"

    async def connect(self, timeout: float = 10.0) -> None:
        """Open the socket (token in the query) and start pinging."""
        query = urlencode({"token": self._token})
        try:
            self._ws = await asyncio.wait_for(
                connect(f"{self.url}?{query}", open_timeout=None, max_size=2**22,
                        ping_interval=20, ping_timeout=20, logger=wire_logger), timeout)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403) or status < 300:
                raise AuthenticationError(
                    f"stream server refused the session token (HTTP {status})") from None
            raise StreamError(f"stream server unavailable (HTTP {status})") from None
        except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
            raise TransportError(f"cannot reach the stream server at {self.url}: "
                                 f"{type(exc).__name__}") from None
        await self.send("ping")
        self._ping = asyncio.ensure_future(self._pinger())

    async def _pinger(self) -> None:
        while True:
            await asyncio.sleep(PING_INTERVAL)
            await self.send("ping")

    async def send(self, key: str, value: Any = None, **fields: Any) -> None:
        """Send ``key`` with the envelope fields (overridden by ``fields``, e.g. ``State=3``)."""
        if self._ws is None:
            raise ConnectionClosedError("stream socket is not open")
        try:
            await self._ws.send(stn.encode(key, value, **{**self.envelope, **fields}))
        except ConnectionClosed:
            raise ConnectionClosedError("stream socket closed") from None

    async def receive(self) -> stn.StnMessage:
        """The next envelope (frames that are not envelopes are skipped)."""
        if self._ws is None:
            raise ConnectionClosedError("stream socket is not open")
        while True:
            try:
                text = await self._ws.recv()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else 1006
                raise ConnectionClosedError(f"stream socket closed (code {code})") from None
            msg = stn.decode(text)
            if msg is not None:
                return msg
            logger.debug("ignoring a frame that is not an STN envelope")

    async def close(self) -> None:
        """Stop pinging and close the socket (idempotent)."""
        if self._ping is not None:
            self._ping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ping
            self._ping = None
        if self._ws is not None:
            ws, self._ws = self._ws, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 3)


class StreamAccess(Protocol):
    """What the stream layer needs of a client (``mezon_nb.AsyncClient`` is the one): the STN
    base URL, a session (its token signs the socket) and a channel's clan."""

    stream_url: str

    async def session(self) -> Session:
        """The current session (``token``, ``user_id``)."""
        ...

    async def channel(self, channel_id: int | str) -> ChannelInfo:
        """One channel by id (for its ``clan_id``)."""
        ...


async def signaling_for(client: StreamAccess, channel_id: str, *,
                        is_publisher: bool = False) -> StnSignaling:
    """An (unconnected) :class:`StnSignaling` for ``channel_id`` as ``client``'s bot.

    >>> sig = run(signaling_for(aclient, sandbox.stream_channel_id))
    >>> sig.url == stn_ws_url(sandbox.stream_url), sig.envelope["IsPublisher"]
    (True, False)
    """
    auth = await client.session()
    channel = await client.channel(channel_id)
    return StnSignaling(client.stream_url, auth.token, clan_id=str(channel.clan_id),
                        channel_id=channel_id, user_id=str(auth.user_id),
                        is_publisher=is_publisher)


__all__ = ["PING_INTERVAL", "StnSignaling", "StreamAccess", "error_for", "signaling_for",
           "stn_ws_url"]
