"""``Client`` and ``connect()``: the notebook-facing, blocking twin of ``AsyncClient``.

The ``AsyncClient`` runs on the library's background loop
(:meth:`~mezon_nb.core.loop.LoopThread.shared`), so the socket keeps receiving while a cell
blocks. Each ``Client`` method runs the ``AsyncClient`` method of the same name there and
waits; both are written out in the same order, with the same signature and return type; the
docstring is the ``AsyncClient`` one rewritten for blocking calls. Only ``events`` and
``messages`` (plain iterators), ``close`` (also stops an owned sandbox) and the widget helpers
differ.

>>> [ch.label for ch in client.streaming_channels(sandbox.clan_id)]
['main-stage', 'backstage']
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mezon_nb.client.dispatch import EventStream, Handle
from mezon_nb.client.greeter import DEFAULT_TEMPLATE, Greeter
from mezon_nb.core.events import ChannelMessage, Event, StreamingEvent
from mezon_nb.core.loop import LoopThread
from mezon_nb.core.models import ChannelInfo, Clan, MessageAck, Session, StreamingUser
from mezon_nb.errors import AuthenticationError
from mezon_nb.facade.async_client import DEFAULT_BASE_URL, AsyncClient

if TYPE_CHECKING:  # imported on first use (pandas, aiortc, anywidget)
    from mezon_nb.analytics import ParticipantLog
    from mezon_nb.media import Publisher, StreamSession
    from mezon_nb.widgets import ParticipantsPanel, StreamViewer

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


F = TypeVar("F", bound=Callable[..., Any])


def _twin(fn: F) -> F:
    """Give a ``Client`` method the docstring of its ``AsyncClient`` namesake, rewritten for
    blocking calls; ``tests/test_client_twins.py`` checks that both have one signature."""
    fn.__doc__ = _sync_doc(getattr(AsyncClient, fn.__name__).__doc__)
    return fn


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

    @property
    def bot_id(self) -> str:
        """The bot's id, a ``str``.

        >>> client.bot_id == sandbox.bot_id
        True
        """
        return self._aclient.bot_id

    @property
    def base_url(self) -> str:
        """Where the login goes (later calls use ``session().api_url``).

        >>> client.base_url == sandbox.api_url
        True
        """
        return self._aclient.base_url

    @property
    def stream_url(self) -> str:
        """The stream server (STN) signalling base URL.

        >>> client.stream_url == sandbox.stream_url
        True
        """
        return self._aclient.stream_url

    @property
    def participants(self) -> ParticipantLog:
        """The ``mezon_nb.ParticipantLog`` of every event.

        >>> list(client.participants.events.columns)[:2]
        ['time', 'kind']
        """
        return self._aclient.participants

    @property
    def state(self) -> str:
        """The realtime socket: ``idle``, ``connected``, ``reconnecting`` or ``closed``.

        >>> client.state
        'connected'
        """
        return self._aclient.state

    @property
    def user_id(self) -> str | None:
        """The bot's user id (a ``str``) once logged in, else ``None``.

        >>> client.user_id.isdigit()
        True
        """
        return self._aclient.user_id

    @_twin
    def login(self, *, realtime: bool = True) -> Session:
        return self._runner.run(self._aclient.login(realtime=realtime))

    @_twin
    def session(self) -> Session:
        return self._runner.run(self._aclient.session())

    @_twin
    def clans(self) -> list[Clan]:
        return self._runner.run(self._aclient.clans())

    @_twin
    def channels(self, clan_id: int | str) -> list[ChannelInfo]:
        return self._runner.run(self._aclient.channels(clan_id))

    @_twin
    def streaming_channels(self, clan_id: int | str | None = None) -> list[ChannelInfo]:
        return self._runner.run(self._aclient.streaming_channels(clan_id))

    @_twin
    def channel(self, channel_id: int | str) -> ChannelInfo:
        return self._runner.run(self._aclient.channel(channel_id))

    @_twin
    def register_streaming_channel(self, clan_id: int | str,
                                   channel_id: int | str) -> str:
        return self._runner.run(self._aclient.register_streaming_channel(clan_id, channel_id))

    @_twin
    def streaming_channel_users(self, clan_id: int | str,
                                channel_id: int | str = "0") -> list[StreamingUser]:
        return self._runner.run(self._aclient.streaming_channel_users(clan_id, channel_id))

    @_twin
    def ping(self) -> float:
        return self._runner.run(self._aclient.ping())

    def events(self, timeout: float | None = None, maxsize: int = 1000
               ) -> Iterator[StreamingEvent]:
        """Every streaming event from now on, for ``timeout`` seconds in total (``None``: until
        the client closes). Buffers up to ``maxsize``; when full the oldest is dropped.

        >>> all(ev.event_name.startswith("streaming_") for ev in client.events(timeout=0.2))
        True
        """
        return _iterate(self._aclient.events(maxsize), timeout)  # subscribed now

    @_twin
    def on(self, name: str, fn: Callable[[Event], Any]) -> Handle:
        return self._aclient.on(name, fn)

    @_twin
    def join_chat(self, channel_id: int | str, *, clan_id: int | str | None = None) -> None:
        return self._runner.run(self._aclient.join_chat(channel_id, clan_id=clan_id))

    @_twin
    def send_message(self, channel_id: int | str, text: str, *,
                     clan_id: int | str | None = None) -> MessageAck:
        return self._runner.run(self._aclient.send_message(channel_id, text, clan_id=clan_id))

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

    @_twin
    def greet_viewers(self, channel_id: int | str, template: str = DEFAULT_TEMPLATE, *,
                      rate: float = 1.0, burst: int = 3, max_queue: int = 100,
                      once: bool = True) -> Greeter:
        return self._runner.run(self._aclient.greet_viewers(
            channel_id, template, rate=rate, burst=burst, max_queue=max_queue, once=once))

    @_twin
    def join_stream(self, channel_id: int | str, *, timeout: float = 20.0,
                    wait_live: bool = True, buffer: int = 4) -> StreamSession:
        return self._runner.run(self._aclient.join_stream(
            channel_id, timeout=timeout, wait_live=wait_live, buffer=buffer))

    @_twin
    def publish_file(self, channel_id: int | str, url_or_path: str | Path, *,
                     timeout: float = 20.0) -> Publisher:
        return self._runner.run(self._aclient.publish_file(channel_id, url_or_path,
                                                           timeout=timeout))

    @_twin
    def publish(self, channel_id: int | str, source: Any, *, fps: float = 30,
                size: tuple[int, int] = (640, 480), stamp: bool = True,
                timeout: float = 20.0) -> Publisher:
        return self._runner.run(self._aclient.publish(
            channel_id, source, fps=fps, size=size, stamp=stamp, timeout=timeout))

    def viewer(self, channel_id: int | str | None = None, **options: Any) -> StreamViewer:
        """A live video widget; see :class:`mezon_nb.widgets.StreamViewer`.

        >>> viewer = client.viewer(sandbox.stream_channel_id)     # the last line of a cell
        >>> viewer.session.latest_frame(timeout=10).array.shape
        (240, 320, 3)
        >>> viewer.close()
        """
        from mezon_nb import widgets  # anywidget: on first use

        return widgets.StreamViewer(self, channel_id, **options)

    def participants_panel(self, channel_id: int | str | None = None) -> ParticipantsPanel:
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
        from mezon_nb import widgets  # anywidget: on first use

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
            log_path: str | Path | None = None,
            stream_url: str | None = None, **settings: Any) -> Client:
    """Log in as a bot and open the realtime socket; returns a :class:`Client`.

    Credentials come from the arguments, else ``MEZON_BOT_ID`` / ``MEZON_BOT_TOKEN``.
    ``sandbox=`` takes a running ``mezon_nb.Sandbox`` (its bot, URLs and stream server are
    used), or ``True`` to start one that ``close()`` stops. ``log_path`` keeps the participant
    log in SQLite. Other keywords go to :class:`AsyncClient`.

    >>> with connect(sandbox=sandbox) as c:
    ...     c.streaming_channels()[0].is_streaming
    True
    """
    owned = None
    if sandbox is True:
        from mezon_nb.sandbox import Sandbox  # a child process: on first use

        sandbox = owned = Sandbox.start()
    if sandbox:
        bot_id, token = bot_id or sandbox.bot_id, token or sandbox.bot_token
        base_url, stream_url = sandbox.api_url, stream_url or sandbox.stream_url
    bot_id = bot_id or os.environ.get("MEZON_BOT_ID")
    token = token or os.environ.get("MEZON_BOT_TOKEN")
    try:
        if not bot_id or not token:
            raise AuthenticationError(
                "no bot credentials: pass bot_id= and token=, set MEZON_BOT_ID and "
                "MEZON_BOT_TOKEN, or use connect(sandbox=True)")
        runner = LoopThread.shared()
        aclient = AsyncClient(bot_id, token, base_url=base_url, stream_url=stream_url,
                              log_path=log_path, **settings)
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
