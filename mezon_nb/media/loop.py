"""Where stream work runs: the library's loop thread, reachable from any thread or loop.

Sessions and publishers live on ``LoopThread.shared()`` so frames flow while a cell blocks.
:func:`run_here` starts a coroutine there and awaits it from whatever loop the caller is on,
:func:`run_on` does the same for an object's own loop, and :func:`call_sync` waits for one from
plain (non-async) code.

>>> import asyncio
>>> asyncio.run(run_here(asyncio.sleep(0, result="on the loop thread")))
'on the loop thread'
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from mezon_nb.core.loop import LoopThread

T = TypeVar("T")


async def run_here(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the shared loop thread and await its result from the current loop."""
    runner = LoopThread.shared()
    if runner.in_loop_thread():
        return await coro
    return await asyncio.wrap_future(runner.submit(coro))


async def run_on(loop: asyncio.AbstractEventLoop | None,
                 make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Await ``make()`` on ``loop`` (where the object it belongs to lives) from any loop.

    >>> asyncio.run(run_on(None, lambda: asyncio.sleep(0, result=3)))
    3
    """
    if loop is None or asyncio.get_running_loop() is loop:
        return await make()
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(make(), loop))


def call_sync(loop: asyncio.AbstractEventLoop | None,
              make: Callable[[], Coroutine[Any, Any, Any]], timeout: float) -> None:
    """Run ``make()`` on ``loop`` and wait; from the loop's own thread only schedule it.

    >>> call_sync(None, lambda: asyncio.sleep(0), timeout=1)  # no loop: nothing to do
    """
    if loop is None or loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        loop.create_task(make())
    else:
        asyncio.run_coroutine_threadsafe(make(), loop).result(timeout)


__all__ = ["call_sync", "run_here", "run_on"]
