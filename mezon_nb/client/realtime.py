"""The realtime socket: binary protobuf ``Envelope`` frames with ``int32 cid`` correlation.

One :class:`RealtimeSocket` keeps one WebSocket open for as long as the client lives:

* requests get a fresh cid from a counter (1 .. 2**31-1, then wraps) and wait for the reply with
  the same cid (``request_timeout``, default 10 s); an ``error`` reply raises ``ServerError``;
* a ``ping`` goes out every ``ping_interval`` (10 s); no ``pong`` within ``ping_timeout`` (10 s)
  closes the socket, which then reconnects;
* a lost socket reconnects at once (after at most :data:`FIRST_RETRY_JITTER` s), then, if that
  fails, with exponential backoff and jitter between ``reconnect_delay[0]`` and
  ``reconnect_delay[1]`` seconds, forever, until ``close()`` (:class:`Backoff`);
* after each (re)connect ``on_connect()`` runs (the client joins its clans there) while the
  reader is watched: if the socket dies meanwhile, the set-up is abandoned and the next attempt
  starts, and every request waiting for a reply fails at once with ``ConnectionClosedError``;
* from the loss of a socket to the end of the set-up of the next one the client is *blind*:
  :meth:`RealtimeSocket.end_blind` hands the caller when (and why) that began;
* frames with cid 0 go to ``on_event(envelope)``. Envelope members this library does not define
  are skipped with a DEBUG line; frames that are not Envelopes give a WARNING (a ``ProtocolError``)
  and the socket carries on.

>>> socket_url(Session(token="a.b.c", user_id="1", api_url="https://gw.mezon.ai",
...                    ws_url="sock.mezon.ai", expires_at=None))
'wss://sock.mezon.ai/ws?lang=en&status=true&token=a.b.c&format=protobuf'
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import re
import ssl
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

from google.protobuf import unknown_fields
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from mezon_nb.client.auth import SessionKeeper
from mezon_nb.client.models import Session
from mezon_nb.client.tls import for_url
from mezon_nb.client.transport_errors import map_transport_errors
from mezon_nb.errors import (
    AuthenticationError,
    ClientClosedError,
    ConnectionClosedError,
    MezonError,
    MezonTimeoutError,
    ProtocolError,
    ServerError,
)
from mezon_nb.protocol import codec, realtime_pb2

log = logging.getLogger(__name__)

_CID_MAX = 2**31 - 1

#: The first retry after a loss waits a random 0 .. this many seconds (so that many clients
#: dropped at once by a server restart do not all come back in the same millisecond).
FIRST_RETRY_JITTER = 0.005
#: A connection that was set up and stayed open this long (seconds) restarts the backoff, so
#: each loss of a working socket is retried at once, while a server that drops every socket
#: right after its set-up meets a growing backoff instead of a reconnect storm.
STABLE_AFTER = 1.0


class _RedactToken(logging.Filter):
    """Hide ``token=...`` in websockets' own debug lines (its handshake logs the URL)."""

    _pattern = re.compile(r"token=[^&\s]+")

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._pattern.sub("token=***", record.getMessage())
        record.args = None
        return True


_ws_log = logging.getLogger(__name__ + ".websockets")
_ws_log.addFilter(_RedactToken())


def socket_url(session: Session) -> str:
    """The socket URL for a session. ``ws_url`` is ``host[:port]`` (scheme from ``api_url``)
    or carries its own ``ws://``/``wss://`` (``http(s)://`` also works); empty means the
    ``api_url`` host.

    >>> s = Session(token="t", user_id="1", api_url="http://127.0.0.1:9", ws_url="ws://h:8/",
    ...             expires_at=None)
    >>> socket_url(s).split("?")[0]
    'ws://h:8/ws'
    >>> socket_url(Session(token="t", user_id="1", api_url="http://127.0.0.1:9",
    ...                    ws_url="ws://h:99999", expires_at=None))
    Traceback (most recent call last):
    ...
    mezon_nb.errors.ProtocolError: the server's socket address ws_url='ws://h:99999' is not ...
    """
    target = session.ws_url or urlsplit(session.api_url).netloc
    if "://" in target:
        scheme, _, rest = target.partition("://")
        scheme = {"https": "wss", "http": "ws"}.get(scheme, scheme)
    else:
        scheme = "wss" if session.api_url.startswith("https") else "ws"
        rest = target
    base = f"{scheme}://{rest.rstrip('/')}"
    _check_socket_base(base, session.ws_url)
    return f"{base}/ws?lang=en&status=true&token={quote(session.token, safe='')}&format=protobuf"


def _check_socket_base(base: str, ws_url: str) -> None:
    """``ProtocolError`` unless ``base`` is a ``ws://``/``wss://`` URL with a host and a valid
    port (``ws_url`` comes from the server's ``Session``, so a bad one is a protocol fault)."""
    try:
        parts = urlsplit(base)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0..65535
        valid = parts.scheme in ("ws", "wss") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise ProtocolError(f"the server's socket address ws_url={ws_url!r} is not a ws:// or "
                            f"wss:// URL with a host and port")


class Backoff:
    """Reconnect delays. The first retry after a loss is immediate (a jitter of at most
    :data:`FIRST_RETRY_JITTER` s); then the ceiling doubles from ``first`` up to ``cap``, each
    delay uniform between half the ceiling and the ceiling. A connection that was set up and
    lasted ``stable_after`` seconds (:meth:`lost`) starts the sequence again; a shorter one
    (a server that accepts and drops) does not, so a flapping server is not hammered.

    >>> backoff = Backoff(0.5, 4.0)
    >>> [round(backoff.delay(), 2) <= 0.01, *(0.25 <= backoff.delay() <= 4.0 for _ in range(3))]
    [True, True, True, True]
    >>> backoff.lost(set_up=True, lasted=60.0); backoff.delay() <= FIRST_RETRY_JITTER
    True
    """

    def __init__(self, first: float, cap: float, *, stable_after: float = STABLE_AFTER) -> None:
        self.first, self.cap, self.stable_after = first, cap, stable_after
        self.attempt = 0  #: retries since the last stable connection

    def delay(self) -> float:
        """The wait before the next attempt.

        >>> Backoff(1.0, 8.0).delay() <= FIRST_RETRY_JITTER
        True
        """
        attempt, self.attempt = self.attempt, self.attempt + 1
        if attempt == 0:
            return random.uniform(0.0, FIRST_RETRY_JITTER)
        ceiling = min(self.cap, self.first * 2 ** min(attempt - 1, 32))
        return random.uniform(ceiling / 2, ceiling)

    def lost(self, *, set_up: bool, lasted: float) -> None:
        """A connection ended after ``lasted`` seconds; ``set_up``: its ``on_connect`` finished.

        >>> backoff = Backoff(1.0, 8.0); backoff.delay() < 1; backoff.lost(set_up=True, lasted=0.1)
        True
        >>> backoff.delay() >= 0.5                 # a short connection does not reset the backoff
        True
        """
        if set_up and lasted >= self.stable_after:
            self.attempt = 0


def _unknown_members(envelope: realtime_pb2.Envelope) -> list[int]:
    return [field.field_number for field in unknown_fields.UnknownFieldSet(envelope)
            if field.field_number != 1]


class RealtimeSocket:
    """The supervised socket (see the module docstring). ``start()`` connects once in the
    foreground so a bad URL or token fails the caller; later reconnects run in the background.

    >>> sock = RealtimeSocket(keeper=None, on_event=print)
    >>> sock.state
    'idle'
    """

    def __init__(self, keeper: SessionKeeper | None,
                 on_event: Callable[[realtime_pb2.Envelope], None], *,
                 on_connect: Callable[[], Awaitable[None]] | None = None,
                 request_timeout: float = 10.0, ping_interval: float = 10.0,
                 ping_timeout: float = 10.0, reconnect_delay: tuple[float, float] = (0.5, 30.0),
                 open_timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self._keeper = keeper
        self.ssl_context = ssl_context  # trust for wss:// (mezon_nb.client.tls)
        self._on_event = on_event
        self._on_connect = on_connect
        self.request_timeout = request_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.reconnect_delay = reconnect_delay
        self.open_timeout = open_timeout
        self.connections = 0  #: how many times the socket has connected
        self._cids = itertools.cycle(range(1, _CID_MAX + 1))
        self._pending: dict[int, asyncio.Future[realtime_pb2.Envelope]] = {}
        self._ws: ClientConnection | None = None
        self._open = asyncio.Event()  # a socket is open: requests may go out
        self._ready = False  # ... and on_connect has finished on it
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._blind: tuple[datetime, str] | None = None  # since when, and why

    @property
    def state(self) -> str:
        """``idle`` (never started), ``connected`` (open and set up by ``on_connect``),
        ``reconnecting`` or ``closed``."""
        if self._closed:
            return "closed"
        if self._task is None:
            return "idle"
        return "connected" if self._ready else "reconnecting"

    async def start(self) -> None:
        """Connect, run ``on_connect``, then keep the socket alive in a background task.

        >>> from mezon_nb.client.http import HttpTransport
        >>> keeper = SessionKeeper(HttpTransport(), sandbox.api_url, bot_id=sandbox.bot_id,
        ...                        token=sandbox.bot_token)
        >>> sock = RealtimeSocket(keeper, on_event=print)
        >>> run(sock.start()); sock.state
        'connected'
        >>> run(sock.close()); keeper.close()
        """
        if self._task is not None:
            return
        ws = await self._connect()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._supervise(ws, ready), name="mezon_nb-realtime")
        try:
            await ready
        except BaseException:
            await self._stop_task()  # not closed: a later start() may try again
            self._blind = None  # nothing was seen yet, so nothing was missed
            raise

    def end_blind(self) -> tuple[datetime, str] | None:
        """``(since, reason)`` of the blind interval the caller has just ended (a lost socket
        not yet followed by a finished re-sync), or ``None``; forgets it. The client calls this
        once its reconnect snapshot is applied. ``since`` is a UTC ``datetime``.

        >>> RealtimeSocket(keeper=None, on_event=print).end_blind() is None
        True
        """
        blind, self._blind = self._blind, None
        return blind

    async def _connect(self) -> ClientConnection:
        """Open one WebSocket; if the server refuses the token, log in again once and retry."""
        assert self._keeper is not None
        session = await self._keeper.session()
        try:
            return await self._open_socket(session)
        except AuthenticationError:
            return await self._open_socket(await self._keeper.login(stale=session))

    async def _open_socket(self, session: Session) -> ClientConnection:
        with map_transport_errors("realtime socket"):
            # No permessage-deflate: frames are tiny protobufs, and it halves throughput.
            url = socket_url(session)
            return await ws_connect(url, open_timeout=self.open_timeout,
                                    ping_interval=None, close_timeout=2, compression=None,
                                    max_size=16 * 2**20, logger=_ws_log,
                                    **for_url(self.ssl_context, url))

    async def _supervise(self, ws: ClientConnection, ready: asyncio.Future[None]) -> None:
        """Serve connections forever; ``start()`` cancels this if the first setup fails."""
        backoff = Backoff(*self.reconnect_delay)
        loop = asyncio.get_running_loop()
        while True:
            opened = loop.time()
            set_up = await self._serve(ws, ready)
            backoff.lost(set_up=set_up, lasted=loop.time() - opened)
            ws = await self._reconnect(backoff)

    async def _reconnect(self, backoff: Backoff) -> ClientConnection:
        while True:
            delay = backoff.delay()
            log.info("realtime socket lost; reconnecting in %.3f s", delay)
            await asyncio.sleep(delay)
            try:
                return await self._connect()
            except MezonError as exc:
                log.warning("realtime reconnect failed: %s", exc)

    async def _serve(self, ws: ClientConnection, ready: asyncio.Future[None]) -> bool:
        """Run one connection until it is lost; True if ``on_connect`` succeeded on it."""
        self._ws = ws
        self.connections += 1
        self._open.set()
        reader = asyncio.create_task(self._read(ws))
        pinger = asyncio.create_task(self._heartbeat())
        setup = asyncio.ensure_future(self._on_connect() if self._on_connect is not None
                                      else asyncio.sleep(0))
        reason: str | None = None  # why this connection ended, unless close() ended it
        since = None  # when the blindness began, if not when it was noticed
        try:
            await asyncio.wait({setup, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not setup.done():  # the socket died first: waiting for the set-up is pointless
                reason = f"socket lost during the set-up after connect (code {_code(ws)})"
                raise ConnectionClosedError(f"realtime {reason}")
            setup.result()
            self._ready = True
            if not ready.done():
                ready.set_result(None)
            done, _ = await asyncio.wait({reader, pinger}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                reason = f"socket lost (code {_code(ws)})"
            else:  # nothing may have come since the unanswered ping went out
                reason = f"no pong within {self.ping_timeout:g} s"
                since = datetime.now(timezone.utc) - timedelta(seconds=self.ping_timeout)
            return True
        except MezonError as exc:
            reason = reason or f"set-up after connect failed ({type(exc).__name__})"
            if not ready.done():
                ready.set_exception(exc)
            log.warning("realtime setup after connect failed: %s", exc)
            return False
        finally:
            if reason is not None and self._blind is None:
                self._blind = (since or datetime.now(timezone.utc), reason)
            self._ready = False
            self._open.clear()
            self._ws = None
            for task in (setup, reader, pinger):
                task.cancel()
            await asyncio.gather(setup, reader, pinger, return_exceptions=True)
            await ws.close()
            self._fail_pending(ws)

    def _fail_pending(self, ws: ClientConnection) -> None:
        code = _code(ws)
        for cid, future in list(self._pending.items()):
            if not future.done():
                future.set_exception(ConnectionClosedError(
                    f"realtime socket closed (code {code}) before the reply to cid {cid}"))
        self._pending.clear()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                self._on_frame(frame)
        except Exception as exc:  # noqa: BLE001 - any read failure means: reconnect
            log.info("realtime socket read ended: %s", type(exc).__name__)
        finally:  # no reply can come now: fail the waiting requests at once, not at timeout
            self._fail_pending(ws)

    def _on_frame(self, frame: str | bytes) -> None:
        if isinstance(frame, str):
            self._protocol_error(f"text frame on a protobuf socket ({len(frame)} chars)")
            return
        try:
            envelope = codec.decode_envelope(frame)
        except ValueError as exc:
            self._protocol_error(str(exc))
            return
        if envelope.cid:
            future = self._pending.pop(envelope.cid, None)
            if future is None:
                log.debug("reply for unknown cid %d ignored", envelope.cid)
            elif not future.done():
                future.set_result(envelope)
            return
        member = codec.envelope_member(envelope)
        if member is None:
            log.debug("skipped envelope with unknown member(s) %s", _unknown_members(envelope))
        elif member == "error":
            log.warning("server error (no request): %s (code %d)", envelope.error.message,
                        envelope.error.code)
        else:
            try:
                self._on_event(envelope)
            except Exception:  # a bug above us must not cost the socket
                log.exception("handling a %s envelope failed", member)

    @staticmethod
    def _protocol_error(what: str) -> None:
        """A bad frame is logged as a ``ProtocolError`` and skipped; the socket carries on."""
        error = ProtocolError(f"{what}; frame ignored")
        log.warning("%s: %s", type(error).__name__, error)

    async def _heartbeat(self) -> None:
        """Ping every ``ping_interval``; return (so the socket reconnects) when a pong is late."""
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self.request(realtime_pb2.Envelope(ping=realtime_pb2.Ping()),
                                   timeout=self.ping_timeout)
            except MezonTimeoutError:
                log.warning("no pong within %.1f s; reconnecting", self.ping_timeout)
                return

    async def request(self, envelope: realtime_pb2.Envelope,
                      timeout: float | None = None) -> realtime_pb2.Envelope:
        """Send ``envelope`` with a fresh cid and return the reply with the same cid.

        Waits for a reconnect in progress (within the timeout). Raises ``ServerError`` for an
        ``error`` reply, ``MezonTimeoutError`` when none comes, ``ConnectionClosedError`` if the
        socket drops first, ``ClientClosedError`` after ``close()``.

        >>> reply = run(aclient._socket.request(realtime_pb2.Envelope(
        ...     clan_join=realtime_pb2.ClanJoin(clan_id=int(sandbox.clan_id)))))
        >>> reply.cid > 0
        True
        """
        timeout = self.request_timeout if timeout is None else timeout
        member = codec.envelope_member(envelope)
        try:
            reply = await asyncio.wait_for(self._exchange(envelope), timeout)
        except asyncio.TimeoutError:
            raise MezonTimeoutError(f"no reply to {member} within {timeout:g} s") from None
        if reply.WhichOneof("message") == "error":
            raise ServerError(f"{member} failed: {reply.error.message} (code {reply.error.code})",
                              code=reply.error.code, cid=reply.cid)
        return reply

    async def _exchange(self, envelope: realtime_pb2.Envelope) -> realtime_pb2.Envelope:
        while (ws := self._ws) is None:  # wait out a reconnect (bounded by the caller)
            if self._closed:
                raise ClientClosedError("the client is closed; open a new one")
            await self._open.wait()
        cid = next(self._cids)
        envelope.cid = cid
        future: asyncio.Future[realtime_pb2.Envelope] = asyncio.get_running_loop().create_future()
        self._pending[cid] = future
        try:
            with map_transport_errors(codec.envelope_member(envelope) or "request"):
                await ws.send(codec.encode_envelope(envelope))
            return await future
        finally:
            self._pending.pop(cid, None)

    async def ping(self) -> float:
        """Send one ``ping`` and return the round trip in seconds.

        >>> run(aclient._socket.ping()) >= 0     # seconds (no limit: the machine may be busy)
        True
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        await self.request(realtime_pb2.Envelope(ping=realtime_pb2.Ping()))
        return loop.time() - start

    async def _stop_task(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        """Close the socket for good and fail waiting requests (idempotent).

        >>> sock = RealtimeSocket(keeper=None, on_event=print)
        >>> run(sock.close()); sock.state
        'closed'
        """
        self._closed = True
        await self._stop_task()
        self._open.set()  # wakes requests waiting for a reconnect: they see the client closed
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ClientClosedError("the client was closed"))
        self._pending.clear()


def _code(ws: ClientConnection) -> int:
    """The socket's close code; 1006 (closed abnormally) when there was no close frame."""
    return ws.close_code if ws.close_code is not None else 1006


__all__ = ["FIRST_RETRY_JITTER", "STABLE_AFTER", "Backoff", "RealtimeSocket", "socket_url"]
