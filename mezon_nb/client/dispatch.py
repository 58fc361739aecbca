"""Fan-out of events (streaming, chat) to callbacks, event streams and sinks (the participant log).

Everything here runs on the client's event loop, except reading an :class:`EventStream`
synchronously, which any thread may do.

* ``on(name, fn)``: ``fn(event)`` is called for each event of that name. Plain functions run
  inline on the loop (keep them short); coroutine functions run as tasks. An exception in a
  callback is logged (``mezon_nb.client.dispatch``, ERROR) and never reaches the socket.
* ``stream(maxsize, names)``: an :class:`EventStream` of the events named ``names`` (default:
  all), iterable with ``async for`` or ``for``. It buffers
  at most ``maxsize`` events; **on overflow the oldest event is dropped**, ``dropped`` counts
  them and one WARNING is logged, so a slow reader never stalls the socket or other readers.
* sinks: called first, for every event (the participant log records each one).

>>> from mezon_nb.core.events import StreamingEnded
>>> d = Dispatcher()
>>> seen = []
>>> handle = d.on("streaming_ended_event", seen.append)
>>> d.emit(StreamingEnded(clan_id="1", channel_id="6"))
>>> seen[0].channel_id
'6'
>>> handle.cancel()
>>> d.emit(StreamingEnded(clan_id="1", channel_id="7"))
>>> len(seen)
1
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from mezon_nb.core.buffers import DropBuffer
from mezon_nb.core.events import EVENT_NAMES, Event

log = logging.getLogger(__name__)

Callback = Callable[[Event], Any]


def event_name(name: str) -> str:
    """The short event name for ``name``; the proto's ``..._event`` spelling is accepted too.

    >>> event_name("streaming_joined_event")
    'streaming_joined'
    >>> event_name("joined")
    Traceback (most recent call last):
    ...
    ValueError: unknown event 'joined'; choose one of streaming_joined, streaming_leaved, \
streaming_started, streaming_ended, channel_message
    """
    short = name.removesuffix("_event")
    if short not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}; choose one of {', '.join(EVENT_NAMES)}")
    return short


class Handle:
    """Returned by ``client.on(...)``; ``cancel()`` unsubscribes (also as a context manager).

    >>> d = Dispatcher()
    >>> with d.on("streaming_joined", print) as h:
    ...     h.name
    'streaming_joined'
    >>> d.callback_count("streaming_joined")
    0
    """

    def __init__(self, dispatcher: Dispatcher, name: str, fn: Callback) -> None:
        self._dispatcher = dispatcher
        self.name = name
        self.fn = fn

    def cancel(self) -> None:
        """Stop calling ``fn`` (idempotent).

        >>> d = Dispatcher(); h = d.on("streaming_ended", print)
        >>> h.cancel(); h.cancel(); d.callback_count("streaming_ended")
        0
        """
        self._dispatcher._remove(self)

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    def __repr__(self) -> str:
        return f"<Handle {self.name} -> {getattr(self.fn, '__qualname__', self.fn)!r}>"


class EventStream:
    """A bounded, drop-oldest buffer of events, read with ``async for`` or ``for``.

    Iteration ends once the stream is closed (the client closed, or ``close()``) and drained.
    The buffer is :class:`~mezon_nb.core.buffers.DropBuffer`, so any thread may read it and
    ``async for`` works on any event loop.

    >>> from mezon_nb.core.events import StreamingEnded
    >>> s = EventStream(maxsize=2)
    >>> for n in "123":
    ...     s.put(StreamingEnded(clan_id="1", channel_id=n))
    >>> s.close()
    >>> [ev.channel_id for ev in s], s.dropped
    (['2', '3'], 1)
    """

    def __init__(self, maxsize: int = 1000, on_close: Callable[[EventStream], None] | None = None,
                 names: Iterable[str] = EVENT_NAMES):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.names = frozenset(names)  #: the event names this stream receives
        self._buffer: DropBuffer[Event] = DropBuffer(maxsize)
        self._on_close = on_close

    @property
    def dropped(self) -> int:
        """Events dropped because the reader fell ``maxsize`` behind.

        >>> EventStream().dropped
        0
        """
        return self._buffer.dropped

    def put(self, event: Event) -> None:
        """Append one event, dropping the oldest when full (called on the loop).

        >>> from mezon_nb.core.events import StreamingEnded
        >>> s = EventStream(maxsize=1)
        >>> s.put(StreamingEnded(clan_id="1", channel_id="6")); s.put(s.get())
        >>> s.dropped
        0
        """
        dropped = self._buffer.dropped
        self._buffer.put(event)
        if dropped == 0 and self._buffer.dropped == 1:
            log.warning("event stream full (%d): dropping the oldest events; read "
                        "faster or pass a larger maxsize", self.maxsize)

    def close(self) -> None:
        """End iteration once the buffered events are read (idempotent).

        >>> s = EventStream(); s.close(); s.close(); list(s)
        []
        """
        self._buffer.close()
        if self._on_close is not None:
            self._on_close(self)

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, blocking this thread; ``None`` on timeout or once closed and empty.

        >>> EventStream().get(timeout=0.01) is None
        True
        """
        return self._buffer.get(timeout)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._aiter()

    async def _aiter(self) -> AsyncIterator[Event]:
        while (item := await self._buffer.aget()) is not None:
            yield item

    def __iter__(self) -> Iterator[Event]:
        return self.iterate()

    def iterate(self, timeout: float | None = None) -> Iterator[Event]:
        """Yield events for at most ``timeout`` seconds from now (``None``: until closed).

        >>> list(EventStream().iterate(timeout=0.01))
        []
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._until(deadline)

    def _until(self, deadline: float | None) -> Iterator[Event]:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            item = self.get(left)
            if item is None:  # timed out, or closed and drained
                return
            yield item


class Dispatcher:
    """Routes each event to the sinks, the callbacks registered for its name, and every stream."""

    def __init__(self) -> None:
        self._callbacks: dict[str, tuple[Handle, ...]] = {name: () for name in EVENT_NAMES}
        self._streams: tuple[EventStream, ...] = ()
        self._sinks: tuple[Callback, ...] = ()
        self._tasks: set[asyncio.Task[Any]] = set()

    def on(self, name: str, fn: Callback) -> Handle:
        """Call ``fn(event)`` for every event named ``name`` (example in the module docstring).

        >>> Dispatcher().on("streaming_started_event", print).name
        'streaming_started'
        """
        if not callable(fn):
            raise TypeError(f"on({name!r}, fn): fn must be callable, got {type(fn).__name__}")
        handle = Handle(self, event_name(name), fn)
        self._callbacks[handle.name] += (handle,)  # copy-on-write: safe from any thread
        return handle

    def _remove(self, handle: Handle) -> None:
        self._callbacks[handle.name] = tuple(h for h in self._callbacks[handle.name]
                                             if h is not handle)

    def callback_count(self, name: str) -> int:
        """How many callbacks listen to ``name`` (example in :class:`Handle`)."""
        return len(self._callbacks[event_name(name)])

    def stream(self, maxsize: int = 1000, names: Iterable[str] = EVENT_NAMES) -> EventStream:
        """A new :class:`EventStream` that receives every event named in ``names`` from now on.

        >>> sorted(Dispatcher().stream(maxsize=5, names=["channel_message_event"]).names)
        ['channel_message']
        """
        stream = EventStream(maxsize, on_close=self._drop_stream,
                             names=[event_name(name) for name in names])
        self._streams += (stream,)
        return stream

    def _drop_stream(self, stream: EventStream) -> None:
        self._streams = tuple(s for s in self._streams if s is not stream)

    def add_sink(self, fn: Callback) -> None:
        """Call ``fn(event)`` for every event, before callbacks and streams.

        >>> from mezon_nb.core.events import StreamingEnded
        >>> d, rows = Dispatcher(), []
        >>> d.add_sink(rows.append); d.emit(StreamingEnded(clan_id="1", channel_id="6"))
        >>> len(rows)
        1
        """
        self._sinks += (fn,)

    def emit(self, event: Event) -> None:
        """Deliver one event (on the loop thread); example in the module docstring."""
        for sink in self._sinks:
            self._call(sink, event)
        for handle in self._callbacks[event.event_name]:
            self._call(handle.fn, event)
        for stream in self._streams:
            if event.event_name in stream.names:
                stream.put(event)

    def _call(self, fn: Callback, event: Event) -> None:
        try:
            result = fn(event)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._task_done)
        except Exception:
            log.exception("callback %r failed on %s", fn, event.event_name)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("async callback failed", exc_info=task.exception())

    async def aclose(self) -> None:
        """Close every stream and cancel running async callbacks.

        >>> d = Dispatcher(); s = d.stream()
        >>> asyncio.run(d.aclose()); s.get(timeout=0) is None
        True
        """
        for stream in self._streams:
            stream.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


__all__ = ["Dispatcher", "EventStream", "Handle", "event_name"]
