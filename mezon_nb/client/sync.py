"""``Client`` and ``connect()``: the notebook-facing, blocking twin of ``AsyncClient``.

The ``AsyncClient`` runs on the library's background loop
(:meth:`~mezon_nb.client.runner.LoopThread.shared`), so the socket keeps receiving while a cell
blocks. Each ``Client`` method is made by :func:`_blocking` (or :func:`_same`) from the
``AsyncClient`` method of the same name, in the same order, docstring included; only
``events`` and ``messages`` (plain iterators), ``close`` (also stops an owned sandbox) and the
widget helpers are written here.

>>> [ch.label for ch in client.streaming_channels(sandbox.clan_id)]
['main-stage', 'backstage']
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

from mezon_nb.client.async_client import DEFAULT_BASE_URL, AsyncClient
from mezon_nb.client.dispatch import EventStream
from mezon_nb.client.events import ChannelMessage, Event, StreamingEvent
from mezon_nb.client.ice_servers import IceServerLike
from mezon_nb.client.runner import LoopThread
from mezon_nb.client.tls import Verify
from mezon_nb.errors import AuthenticationError

_RUN_CALL = "run(aclient."


def _sync_doc(doc: str | None) -> str:
    """An ``AsyncClient`` docstring rewritten for ``Client``: ``run(aclient.x(...))`` becomes
    ``client.x(...)``, and ``aclient`` becomes ``client``.

    >>> _sync_doc(">>> run(aclient.channels(run(aclient.clans())[0].clan_id))[0].label")
    '>>> client.channels(client.clans()[0].clan_id)[0].label'
    """
    text = doc or ""
    while (start := text.find(_RUN_CALL)) >= 0:
        depth, end = 0, start + len("run")
        for end in range(start + len("run"), len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        text = text[:start] + text[start + len("run("):end] + text[end + 1:]
    return text.replace("aclient", "client")


def _blocking(name: str) -> Any:
    """A ``Client`` method that runs ``AsyncClient.<name>`` on the loop thread and waits."""
    coroutine_fn = getattr(AsyncClient, name)

    @functools.wraps(coroutine_fn)
    def method(self: Client, *args: Any, **kwargs: Any) -> Any:
        return self._runner.run(getattr(self._aclient, name)(*args, **kwargs))

    method.__doc__ = _sync_doc(coroutine_fn.__doc__)
    return method


def _same(name: str) -> Any:
    """A ``Client`` method that calls the (non-async, thread-safe) ``AsyncClient.<name>``."""
    fn = getattr(AsyncClient, name)

    @functools.wraps(fn)
    def method(self: Client, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._aclient, name)(*args, **kwargs)

    method.__doc__ = _sync_doc(fn.__doc__)
    return method


def _forward(name: str, doc: str | None = None) -> property:
    """A read-only property that reads ``AsyncClient.<name>`` (``doc`` for plain attributes)."""
    return property(lambda self: getattr(self._aclient, name),
                    doc=doc or _sync_doc(getattr(AsyncClient, name).__doc__))


def _closing(stream: EventStream, events: Iterator[Event]) -> Iterator[Event]:
    """Yield ``events``; unsubscribe ``stream`` when they end or the loop is left early."""
    try:
        yield from events
    finally:
        stream.close()


def _iterate(stream: EventStream, timeout: float | None) -> Iterator[Any]:
    """A plain iterator over ``stream`` for ``timeout`` seconds; it closes the stream when it
    ends, is left early, or is dropped without iterating."""
    events = _closing(stream, stream.iterate(timeout))
    weakref.finalize(events, stream.close)
    return events


class Client:
    """A Mezon bot for notebooks and scripts: ``AsyncClient``'s methods as plain calls.

    Make one with :func:`connect`. Use ``with`` (or ``close()``) to stop the socket, the
    background tasks and an owned sandbox.

    >>> client  # doctest: +ELLIPSIS
    Client(bot_id=..., base_url='http://127.0.0.1:...', state='connected')
    """

    def __init__(self, aclient: AsyncClient, *, runner: LoopThread | None = None,
                 owned_sandbox: Any = None) -> None:
        self._aclient = aclient
        self._runner = runner or LoopThread.shared()
        self._owned_sandbox = owned_sandbox

    def __repr__(self) -> str:
        return repr(self._aclient).replace("AsyncClient", "Client", 1)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def async_client(self) -> AsyncClient:
        """The underlying ``AsyncClient`` (its coroutines must run on ``LoopThread.shared()``).

        >>> client.async_client.bot_id == client.bot_id
        True
        """
        return self._aclient

    bot_id = _forward("bot_id", """The bot's id, a ``str``.

        >>> client.bot_id == sandbox.bot_id
        True
        """)
    base_url = _forward("base_url", """Where the login goes (later calls use ``session().api_url``).

        >>> client.base_url == sandbox.api_url
        True
        """)
    stream_url = _forward("stream_url", """The stream server (STN) signalling base URL.

        >>> client.stream_url == sandbox.stream_url
        True
        """)
    participants = _forward("participants", """The ``mezon_nb.ParticipantLog`` of every event.

        >>> list(client.participants.events.columns)[:2]
        ['time', 'kind']
        """)
    state = _forward("state")
    user_id = _forward("user_id")

    login = _blocking("login")
    session = _blocking("session")
    clans = _blocking("clans")
    channels = _blocking("channels")
    streaming_channels = _blocking("streaming_channels")
    channel = _blocking("channel")
    register_streaming_channel = _blocking("register_streaming_channel")
    streaming_channel_users = _blocking("streaming_channel_users")
    ping = _blocking("ping")

    def events(self, timeout: float | None = None, maxsize: int = 1000
               ) -> Iterator[StreamingEvent]:
        """Every streaming event from now on, for ``timeout`` seconds in total (``None``: until
        the client closes). Buffers up to ``maxsize``; when full the oldest is dropped.

        >>> all(ev.event_name.startswith("streaming_") for ev in client.events(timeout=0.2))
        True
        """
        return _iterate(self._aclient.events(maxsize), timeout)  # subscribed now

    on = _same("on")
    join_chat = _blocking("join_chat")
    send_message = _blocking("send_message")

    def messages(self, timeout: float | None = None, maxsize: int = 1000
                 ) -> Iterator[ChannelMessage]:
        """Every chat message from now on in the chats the bot joined, for ``timeout`` seconds
        in total (``None``: until the client closes). Drop-oldest beyond ``maxsize``.

        >>> client.join_chat(sandbox.stream_channel_id)
        >>> chat = client.messages(timeout=10)
        >>> said = sandbox.control("post_message", text="anyone there?")
        >>> next(chat).text
        'anyone there?'
        """
        return _iterate(self._aclient.messages(maxsize), timeout)  # subscribed now

    greet_viewers = _blocking("greet_viewers")
    join_stream = _blocking("join_stream")
    publish_file = _blocking("publish_file")
    publish = _blocking("publish")

    def viewer(self, channel_id: int | str | None = None, **options: Any) -> Any:
        """A live video widget; see :class:`mezon_nb.widgets.StreamViewer`.

        >>> viewer = client.viewer(sandbox.stream_channel_id)     # the last line of a cell
        >>> viewer.session.latest_frame(timeout=10).array.shape
        (240, 320, 3)
        >>> viewer.close()
        """
        from mezon_nb import widgets

        return widgets.StreamViewer(self, channel_id, **options)

    def participants_panel(self, channel_id: int | str | None = None) -> Any:
        """A live table of who is watching; see :class:`mezon_nb.widgets.ParticipantsPanel`.

        >>> panel = client.participants_panel(channel_id)          # one channel's viewers
        >>> events = client.events(timeout=10)
        >>> ada = sandbox.control("add_viewer", channel_id=channel_id, name="Ada")
        >>> next(ev for ev in events if ev.event_name == "streaming_joined").participant
        'Ada'
        >>> [w["participant"] for w in panel.audience.watchers(channel_id)]  # the panel too
        ['Ada']
        >>> _ = sandbox.control("remove_viewer", user_id=ada["user_id"])
        >>> events.close(); panel.close()
        """
        from mezon_nb import widgets

        return widgets.ParticipantsPanel(self, channel_id)

    def close(self) -> None:
        """Close the client, then stop the sandbox if ``connect(sandbox=True)`` started it.

        >>> with connect(sandbox=sandbox) as other:
        ...     other.state
        'connected'
        >>> other.state
        'closed'
        """
        try:
            if self._runner.is_running():
                self._runner.run(self._aclient.close())
        finally:
            sandbox, self._owned_sandbox = self._owned_sandbox, None
            if sandbox is not None:
                sandbox.stop()


def connect(bot_id: int | str | None = None, token: str | None = None, *,
            base_url: str = DEFAULT_BASE_URL, sandbox: Any = None,
            log_path: str | os.PathLike[str] | None = None,
            stream_url: str | None = None, verify: Verify = None,
            ice_servers: Iterable[IceServerLike] | str | None = None,
            ice_transport_policy: str | None = None, **settings: Any) -> Client:
    """Log in as a bot and open the realtime socket; returns a :class:`Client`.

    Credentials come from the arguments, else ``MEZON_BOT_ID`` / ``MEZON_BOT_TOKEN``.
    ``sandbox=`` takes a running ``mezon_nb.Sandbox`` (its bot, URLs and stream server are
    used, and its CA when it serves TLS), or ``True`` to start one that ``close()`` stops.
    ``verify`` is a CA bundle path or ``ssl.SSLContext`` to trust for TLS; ``ice_servers``
    and ``ice_transport_policy`` (``"all"``/``"relay"``) set STUN/TURN for every WebRTC peer
    (else ``$MEZON_ICE_SERVERS``). ``log_path`` keeps the participant
    log in SQLite. Other keywords go to :class:`AsyncClient`.

    >>> with connect(sandbox=sandbox) as c:
    ...     c.streaming_channels()[0].is_streaming
    True
    """
    owned = None
    if sandbox is True:
        from mezon_nb.sandbox import Sandbox

        sandbox = owned = Sandbox.start()
    if sandbox:
        bot_id, token = bot_id or sandbox.bot_id, token or sandbox.bot_token
        base_url, stream_url = sandbox.api_url, stream_url or sandbox.stream_url
        verify = verify or getattr(sandbox, "ca_path", None)
    bot_id = bot_id or os.environ.get("MEZON_BOT_ID")
    token = token or os.environ.get("MEZON_BOT_TOKEN")
    try:
        if not bot_id or not token:
            raise AuthenticationError(
                "no bot credentials: pass bot_id= and token=, set MEZON_BOT_ID and "
                "MEZON_BOT_TOKEN, or use connect(sandbox=True)")
        runner = LoopThread.shared()
        aclient = AsyncClient(bot_id, token, base_url=base_url, stream_url=stream_url,
                              log_path=log_path, verify=verify, ice_servers=ice_servers,
                              ice_transport_policy=ice_transport_policy, **settings)
        client = Client(aclient, runner=runner, owned_sandbox=owned)
        owned = None  # the client stops it from now on
        try:
            client.login()
        except BaseException:
            client.close()
            raise
        return client
    except BaseException:
        if owned is not None:
            owned.stop()
        raise


__all__ = ["Client", "connect"]
