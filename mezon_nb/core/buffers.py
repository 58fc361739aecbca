"""The one bounded, drop-oldest, thread-safe buffer: events, frames and audio all use it.

A slow reader gets the newest items, never a growing delay, and never stalls the writer (the
socket, the receive path); what it missed is counted in ``dropped``.

>>> buf = DropBuffer(2)
>>> for i in range(5):
...     buf.put(i)
>>> list(buf.drain()), buf.dropped
([3, 4], 3)
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class DropBuffer(Generic[T]):
    """A bounded FIFO that drops its oldest item when full; sync and async ``get``.

    ``put``, ``get``, ``aget`` and ``close`` may be called from any thread, and ``aget`` from
    any event loop (a waiter is woken on its own loop). ``dropped`` counts the items dropped.

    >>> buf = DropBuffer(2)
    >>> for i in range(3):
    ...     buf.put(i)
    >>> buf.get(), buf.dropped
    (1, 1)
    """

    def __init__(self, maxlen: int):
        self._items: deque[T] = deque()
        self.maxlen = max(1, maxlen)
        self.dropped = 0
        self.closed = False
        self._cond = threading.Condition()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def put(self, item: T) -> None:
        """Add ``item``, dropping the oldest one when full."""
        with self._cond:
            if len(self._items) >= self.maxlen:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._wake()

    def close(self) -> None:
        """No more items: waiting readers return ``None`` once the buffer is empty."""
        with self._cond:
            self.closed = True
            self._wake()

    def _wake(self) -> None:
        self._cond.notify_all()
        for loop, fut in self._waiters:
            loop.call_soon_threadsafe(_resolve, fut)
        self._waiters.clear()

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item; ``None`` on timeout or when closed and empty."""
        with self._cond:
            self._cond.wait_for(lambda: self._items or self.closed, timeout)
            return self._items.popleft() if self._items else None

    async def aget(self) -> T | None:
        """Like :meth:`get` without a timeout, for coroutines on any loop."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._items:
                    return self._items.popleft()
                if self.closed:
                    return None
                fut = loop.create_future()
                self._waiters.append((loop, fut))
            await fut

    def drain(self) -> Iterator[T]:
        """Everything buffered now, without waiting."""
        with self._cond:
            items, self._items = list(self._items), deque()
        return iter(items)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


__all__ = ["DropBuffer"]
