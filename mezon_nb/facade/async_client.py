"""``AsyncClient``: a Mezon bot on asyncio. The notebook-facing twin is ``mezon_nb.Client``.

It puts the private layers together: :class:`~mezon_nb.client.auth.SessionKeeper` (login and
re-login), :class:`~mezon_nb.client.http.HttpTransport` (RPCs),
:class:`~mezon_nb.client.realtime.RealtimeSocket` (the socket),
:class:`~mezon_nb.client.dispatch.Dispatcher` (events to callbacks, streams and
``client.participants``), :class:`~mezon_nb.client.chat.Chat` (chat joins and sends) and
:class:`~mezon_nb.client.greeter.Greeter` (the welcome bot).

The examples use ``aclient``, an ``AsyncClient`` logged in to a sandbox, and ``run(coro)``,
which runs a coroutine on the client's loop (in a notebook or ``asyncio.run`` just ``await``).

>>> sandbox.clan_id in [c.clan_id for c in run(aclient.clans())]
True
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mezon_nb.client.auth import SessionKeeper
from mezon_nb.client.chat import Chat
from mezon_nb.client.dispatch import Dispatcher, EventStream, Handle
from mezon_nb.client.greeter import DEFAULT_TEMPLATE, Greeter
from mezon_nb.client.http import HttpTransport
from mezon_nb.client.realtime import RealtimeSocket
from mezon_nb.core.events import STREAMING_EVENT_NAMES, Event, event_from_envelope
from mezon_nb.core.models import ChannelInfo, Clan, MessageAck, Session, StreamingUser
from mezon_nb.errors import AuthenticationError, ClientClosedError
from mezon_nb.protocol import api_pb2, codec, realtime_pb2
from mezon_nb.protocol.enums import ChannelType

if TYPE_CHECKING:  # imported on first use (pandas, aiortc)
    from mezon_nb.analytics import ParticipantLog
    from mezon_nb.media import Publisher, StreamSession

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://gw.mezon.ai"
DEFAULT_STREAM_URL = "wss://stn.mezon.ai"
_PAGE = 100  # rows per list request, as the web app asks


class AsyncClient:
    """A Mezon bot: login, channel RPCs, and live streaming events.

    ``bot_id`` and ``token`` are the bot's credentials (the token never appears in a repr, log
    or exception). ``base_url`` is where the login goes; later calls use the session's
    ``api_url``. ``stream_url`` is the stream server (STN) signalling base: the argument, else
    ``$MEZON_STREAM_URL``, else ``wss://stn.mezon.ai``. ``log_path`` makes
    ``client.participants`` durable (SQLite). The socket settings (``request_timeout``,
    ``ping_interval``, ``reconnect_delay``) are described in :mod:`mezon_nb.client.realtime`.

    >>> c = AsyncClient("1840", "secret-token")
    >>> c
    AsyncClient(bot_id='1840', base_url='https://gw.mezon.ai', state='idle')
    >>> c.stream_url
    'wss://stn.mezon.ai'
    """

    def __init__(self, bot_id: int | str, token: str, *, base_url: str = DEFAULT_BASE_URL,
                 stream_url: str | None = None, log_path: str | Path | None = None,
                 request_timeout: float = 10.0, ping_interval: float = 10.0,
                 reconnect_delay: tuple[float, float] = (0.5, 30.0)) -> None:
        if not token:
            raise AuthenticationError("no bot token given (set MEZON_BOT_TOKEN)")
        self.bot_id = codec.id_str(bot_id)
        self.base_url = base_url.rstrip("/")
        self.stream_url = (stream_url or os.environ.get("MEZON_STREAM_URL")
                           or DEFAULT_STREAM_URL)
        self._http = HttpTransport(timeout=request_timeout)
        self._keeper = SessionKeeper(self._http, self.base_url, bot_id=self.bot_id, token=token)
        self._dispatcher = Dispatcher()
        self._socket = RealtimeSocket(self._keeper, self._on_envelope,
                                      on_connect=self._after_connect,
                                      request_timeout=request_timeout,
                                      ping_interval=ping_interval, ping_timeout=request_timeout,
                                      reconnect_delay=reconnect_delay)
        self._chat = Chat(self._socket, self.channel)
        self._greeters: set[Greeter] = set()
        from mezon_nb.analytics import ParticipantLog  # pandas: on first use

        self.participants: ParticipantLog = ParticipantLog(log_path=log_path)
        self._dispatcher.add_sink(self.participants.record)
        self._closed = False

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(bot_id={self.bot_id!r}, base_url={self.base_url!r}, "
                f"state={self.state!r})")

    @property
    def state(self) -> str:
        """The realtime socket: ``idle``, ``connected``, ``reconnecting`` or ``closed``.

        >>> aclient.state
        'connected'
        """
        return "closed" if self._closed else self._socket.state

    @property
    def user_id(self) -> str | None:
        """The bot's user id (a ``str``) once logged in, else ``None``.

        >>> aclient.user_id.isdigit()
        True
        """
        session = self._keeper.current
        return session.user_id if session else None

    async def __aenter__(self) -> AsyncClient:
        await self.login()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- session ---------------------------------------------------------------------------

    async def login(self, *, realtime: bool = True) -> Session:
        """Log in, learn the streaming channels' names, and (``realtime=True``) open the socket.

        The socket joins every clan (and clan ``"0"``) and snapshots who is watching, after
        every reconnect too. Raises ``AuthenticationError`` for bad credentials.

        >>> run(aclient.login()).user_id == aclient.user_id
        True
        """
        self._check_open()
        session = await self._keeper.login(stale=self._keeper.current)
        channels = await self.streaming_channels()
        self.participants.describe_channels(
            {ch.channel_id: (ch.clan_id, ch.label) for ch in channels})
        if realtime:
            await self._socket.start()
        return session

    async def session(self) -> Session:
        """The current session (``token``, ``user_id``, ``api_url``, ``ws_url``,
        ``expires_at``), logging in first if needed. The stream layer uses it.

        >>> run(aclient.session()).api_url.startswith("http://127.0.0.1:")
        True
        """
        self._check_open()
        return await self._keeper.session()

    # -- RPCs ------------------------------------------------------------------------------

    async def clans(self) -> list[Clan]:
        """The clans the bot is in (``ListClanDescs``).

        >>> run(aclient.clans())[0].clan_id.isdigit()
        True
        """
        reply = await self._rpc("ListClanDescs", api_pb2.ListClanDescRequest(limit=_PAGE),
                                api_pb2.ClanDescList)
        _warn_if_cut(reply.clandesc, "clans")
        return [Clan.from_proto(c) for c in reply.clandesc]

    async def channels(self, clan_id: int | str) -> list[ChannelInfo]:
        """Every channel of a clan, all types (``ListChannelDescs`` with ``channel_type=1``).

        >>> kinds = {ch.type.name for ch in run(aclient.channels(sandbox.clan_id))}
        >>> "STREAMING" in kinds
        True
        """
        request = api_pb2.ListChannelDescsRequest(clan_id=codec.parse_id(clan_id), limit=_PAGE,
                                                  channel_type=ChannelType.CHANNEL)
        reply = await self._rpc("ListChannelDescs", request, api_pb2.ChannelDescList)
        _warn_if_cut(reply.channeldesc, f"channels of clan {codec.id_str(clan_id)}")
        return [ChannelInfo.from_proto(ch) for ch in reply.channeldesc]

    async def streaming_channels(self, clan_id: int | str | None = None) -> list[ChannelInfo]:
        """The streaming channels (type 6) of one clan, or of every clan when ``None``.

        >>> sandbox.stream_channel_id in [ch.channel_id for ch in run(aclient.streaming_channels())]
        True
        """
        clan_ids = ([codec.id_str(clan_id)] if clan_id is not None
                    else [c.clan_id for c in await self.clans()])
        found = []
        for cid in clan_ids:
            found += [ch for ch in await self.channels(cid) if ch.is_streaming]
        return found

    async def channel(self, channel_id: int | str) -> ChannelInfo:
        """One channel by id (``ListChannelDetail``); ``NotFoundError`` if there is none.

        >>> run(aclient.channel(sandbox.stream_channel_id)).is_streaming
        True
        """
        request = api_pb2.ListChannelDetailRequest(channel_id=codec.parse_id(channel_id))
        reply = await self._rpc("ListChannelDetail", request, api_pb2.ChannelDescription)
        return ChannelInfo.from_proto(reply)

    async def register_streaming_channel(self, clan_id: int | str,
                                         channel_id: int | str) -> str:
        """Register the bot for a streaming channel; returns its ``streaming_url``.

        >>> url = run(aclient.register_streaming_channel(sandbox.clan_id,
        ...                                              sandbox.stream_channel_id))
        >>> isinstance(url, str)
        True
        """
        request = api_pb2.RegisterStreamingChannelRequest(clan_id=codec.parse_id(clan_id),
                                                          channel_id=codec.parse_id(channel_id))
        reply = await self._rpc("RegisterStreamingChannel", request,
                                api_pb2.RegisterStreamingChannelResponse)
        return reply.streaming_url

    async def streaming_channel_users(self, clan_id: int | str,
                                      channel_id: int | str = "0") -> list[StreamingUser]:
        """Who is in a clan's streaming channels now; ``channel_id="0"`` means all of them.

        >>> users = run(aclient.streaming_channel_users(sandbox.clan_id))
        >>> all(u.user_id.isdigit() for u in users)
        True
        """
        request = api_pb2.ListChannelUsersRequest(
            clan_id=codec.parse_id(clan_id), channel_id=codec.parse_id(channel_id),
            channel_type=ChannelType.STREAMING, state=1, limit=_PAGE)
        reply = await self._rpc("ListStreamingChannelUsers", request,
                                api_pb2.StreamingChannelUserList)
        return [StreamingUser.from_proto(u) for u in reply.streaming_channel_users]

    async def ping(self) -> float:
        """Round trip of one realtime ``ping``/``pong``, in seconds.

        >>> run(aclient.ping()) < 5
        True
        """
        self._check_open()
        return await self._socket.ping()

    # -- events ----------------------------------------------------------------------------

    def events(self, maxsize: int = 1000) -> EventStream:
        """Every streaming event from now on, for ``async for``. Buffers up to ``maxsize``;
        when full the oldest is dropped (``stream.dropped`` counts them).

        >>> stream = aclient.events()
        >>> stream.maxsize
        1000
        >>> stream.close()
        """
        self._check_open()
        return self._dispatcher.stream(maxsize, STREAMING_EVENT_NAMES)

    def on(self, name: str, fn: Callable[[Event], Any]) -> Handle:
        """Call ``fn(event)`` for each event ``name`` (``"streaming_joined"`` or
        ``"streaming_joined_event"``, ``..._leaved``, ``..._started``, ``..._ended``, or
        ``"channel_message"`` for chat). ``fn`` may be sync or async; its exceptions are
        logged. Returns a handle; ``handle.cancel()``.

        >>> handle = aclient.on("streaming_joined_event", print)
        >>> handle.cancel()
        """
        return self._dispatcher.on(name, fn)

    # -- chat (mezon_nb.client.chat, .greeter) ---------------------------------------------

    async def join_chat(self, channel_id: int | str, *, clan_id: int | str | None = None) -> None:
        """Join a channel's chat so its ``channel_message`` events arrive (kept across
        reconnects). ``send_message`` and ``greet_viewers`` join by themselves.

        >>> run(aclient.join_chat(sandbox.stream_channel_id))
        """
        self._check_open()
        await self._chat.join(channel_id, clan_id)

    async def send_message(self, channel_id: int | str, text: str, *,
                           clan_id: int | str | None = None) -> MessageAck:
        """Send ``text`` to a channel's chat as the bot; returns the server's
        :class:`~mezon_nb.core.models.MessageAck` (``message_id``, ``create_time``).

        Joins the chat on first use, and again (then retries once) if the server answers
        "must join" (error code 3). ``clan_id`` is looked up when not given.

        >>> ack = run(aclient.send_message(sandbox.stream_channel_id, "Hello, viewers!"))
        >>> ack.channel_id == sandbox.stream_channel_id, ack.message_id.isdigit()
        (True, True)
        """
        self._check_open()
        return await self._chat.send(channel_id, text, clan_id)

    def messages(self, maxsize: int = 1000) -> EventStream:
        """Every chat message (:class:`~mezon_nb.core.events.ChannelMessage`) from now on,
        in the chats the bot joined, for ``async for``; drop-oldest like :meth:`events`.

        >>> stream = aclient.messages()
        >>> run(aclient.join_chat(sandbox.stream_channel_id))
        >>> said = sandbox.control("post_message", text="hi bot")
        >>> stream.get(timeout=10).text
        'hi bot'
        >>> stream.close()
        """
        self._check_open()
        return self._dispatcher.stream(maxsize, ["channel_message"])

    async def greet_viewers(self, channel_id: int | str, template: str = DEFAULT_TEMPLATE, *,
                            rate: float = 1.0, burst: int = 3, max_queue: int = 100,
                            once: bool = True) -> Greeter:
        """Welcome each viewer who joins ``channel_id`` in its chat; returns the running
        :class:`~mezon_nb.client.greeter.Greeter` (``stop()``, ``counts``).

        At most ``burst`` greetings at once, then ``rate`` per second; more wait in a queue of
        ``max_queue``, beyond which they are dropped and counted. The bot itself is skipped,
        and with ``once`` a viewer is greeted once. An unknown ``{placeholder}`` in
        ``template`` raises ``ValueError`` here.

        >>> greeter = run(aclient.greet_viewers(sandbox.stream_channel_id,
        ...                                     "Welcome {participant}!"))
        >>> greeter.running
        True
        >>> greeter.stop()["failed"]
        0
        """
        self._check_open()
        greeter = Greeter(self, codec.id_str(channel_id), template, rate=rate, burst=burst,
                          max_queue=max_queue, once=once)
        await greeter.start()
        self._greeters = {g for g in self._greeters if g.running} | {greeter}
        return greeter

    # -- media (mezon_nb.media) ------------------------------------------------------------

    async def join_stream(self, channel_id: int | str, *, timeout: float = 20.0,
                          wait_live: bool = True, buffer: int = 4) -> StreamSession:
        """Watch a streaming channel; see :func:`mezon_nb.media.join_stream`.

        >>> stream = run(aclient.join_stream(sandbox.stream_channel_id, timeout=10))
        >>> stream.state
        'live'
        >>> stream.leave()
        """
        from mezon_nb import media  # aiortc: on first use

        return await media.join_stream(self, channel_id, timeout=timeout, wait_live=wait_live,
                                       buffer=buffer)

    async def publish_file(self, channel_id: int | str, url_or_path: str | Path, *,
                           timeout: float = 20.0) -> Publisher:
        """Publish a media file or URL; see :func:`mezon_nb.media.publish_file`.

        >>> publisher = run(aclient.publish_file(channel_id, "clip.webm", timeout=10))
        >>> publisher.state
        'live'
        >>> publisher.stop()
        """
        from mezon_nb import media  # aiortc: on first use

        return await media.publish_file(self, channel_id, url_or_path, timeout=timeout)

    async def publish(self, channel_id: int | str, source: Any, *, fps: float = 30,
                      size: tuple[int, int] = (640, 480), stamp: bool = True,
                      timeout: float = 20.0) -> Publisher:
        """Publish frames from ``source``; see :func:`mezon_nb.media.publish`.

        >>> publisher = run(aclient.publish(channel_id, "pattern", size=(320, 240), timeout=10))
        >>> publisher.state
        'live'
        >>> publisher.stop()
        """
        from mezon_nb import media  # aiortc: on first use

        return await media.publish(self, channel_id, source, fps=fps, size=size, stamp=stamp,
                                   timeout=timeout)

    # -- lifecycle -------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the socket, the HTTP pool, event streams and the participant log (idempotent).

        >>> c = AsyncClient("1", "t")
        >>> run(c.close()); c.state
        'closed'
        """
        if self._closed:
            return
        self._closed = True
        self._keeper.close()
        for greeter in self._greeters:
            await greeter.aclose()
        await self._socket.close()
        await self._dispatcher.aclose()
        await self._http.aclose()
        self.participants.close()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("this client is closed; create a new one")

    async def _rpc(self, rpc: str, request: Any, reply: type[Any]) -> Any:
        """Call an RPC with the current session; on a 401/403 log in again once and retry."""
        self._check_open()
        session = await self._keeper.session()
        try:
            return await self._http.call(session.api_url, session.token, rpc, request, reply)
        except AuthenticationError:
            session = await self._keeper.login(stale=session)
            return await self._http.call(session.api_url, session.token, rpc, request, reply)

    async def _after_connect(self) -> None:
        """After each (re)connect: join every clan and clan "0", then reconcile who is there."""
        clans = await self.clans()
        for clan_id in [c.clan_id for c in clans] + ["0"]:
            await self._socket.request(realtime_pb2.Envelope(
                clan_join=realtime_pb2.ClanJoin(clan_id=codec.parse_id(clan_id))))
        for clan in clans:
            asked_at = datetime.now(timezone.utc)  # live events from here on are newer
            snapshot = await self.streaming_channel_users(clan.clan_id)
            complete = not _warn_if_cut(snapshot, f"stream users of clan {clan.clan_id}",
                                        "viewers it leaves out are not recorded as gone")
            self.participants.reconcile(snapshot, clan_id=clan.clan_id, at=asked_at,
                                        complete=complete)
        await self._chat.rejoin()
        log.info("realtime socket ready: joined %d clan(s)", len(clans) + 1)

    def _on_envelope(self, envelope: realtime_pb2.Envelope) -> None:
        event = event_from_envelope(envelope)
        if event is None:
            log.debug("envelope member %s not dispatched", codec.envelope_member(envelope))
            return
        self._dispatcher.emit(event)


def _warn_if_cut(rows: Any, what: str, consequence: str = "some may be missing") -> bool:
    """Log a WARNING and return True when a list filled the row limit (the server may have cut
    it: the protobuf replies carry no cursor to ask for the rest).

    >>> _warn_if_cut([1] * 3, "things")
    False
    """
    if len(rows) < _PAGE:
        return False
    log.warning("the server listed %d %s, its row limit: %s", len(rows), what, consequence)
    return True


__all__ = ["AsyncClient"]
