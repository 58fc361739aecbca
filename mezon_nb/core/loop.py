"""The library's background engine: one asyncio event loop on one daemon thread, and the one
place where work is handed to a loop from another thread or another loop.

The notebook-facing ``Client``, the stream sessions and the widgets all run their async work
here, so events and frames keep flowing while a notebook cell blocks. The hand-overs:

- from plain code: :meth:`LoopThread.run` (wait for the result), :meth:`LoopThread.submit`
  (get a ``concurrent.futures.Future``), :meth:`LoopThread.call_soon` (a plain call),
  :meth:`LoopThread.start_task` / :meth:`LoopThread.stop_task` (a long-running task);
- from a coroutine on any loop: :meth:`LoopThread.arun`;
- for an object that lives on a given loop (a session, a publisher, a greeter):
  :func:`run_on` (await from any loop) and :func:`call_sync` (wait from plain code; on that
  loop's own thread it only schedules).

>>> import asyncio
>>> runner = LoopThread.shared()
>>> runner.run(asyncio.sleep(0, result=42), timeout=5)
42
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from mezon_nb.errors import MezonTimeoutError

T = TypeVar("T")


class LoopThread:
    """An event loop running forever on a daemon thread named ``mezon_nb-loop``.

    >>> runner = LoopThread()
    >>> runner.run(asyncio.sleep(0, result="ok"))
    'ok'
    >>> runner.stop()
    """

    _shared: LoopThread | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(started,),
                                        name="mezon_nb-loop", daemon=True)
        self._thread.start()
        started.wait()

    @classmethod
    def shared(cls) -> LoopThread:
        """The process-wide loop every ``Client`` uses (created on first use).

        >>> LoopThread.shared() is LoopThread.shared()
        True
        """
        with cls._shared_lock:
            if cls._shared is None or not cls._shared.is_running():
                cls._shared = cls()
            return cls._shared

    def _main(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.set)
        self.loop.run_forever()

    def is_running(self) -> bool:
        """Whether the thread and its loop are alive.

        >>> LoopThread.shared().is_running()
        True
        """
        return self._thread.is_alive() and not self.loop.is_closed()

    def in_loop_thread(self) -> bool:
        """True when called from the loop's own thread (where blocking would deadlock).

        >>> LoopThread.shared().in_loop_thread()
        False
        """
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop and return a thread-safe future.

        >>> LoopThread.shared().submit(asyncio.sleep(0, result=1)).result(timeout=5)
        1
        """
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result from another thread.

        On timeout the coroutine is cancelled and :class:`MezonTimeoutError` is raised.

        >>> LoopThread.shared().run(asyncio.sleep(10), timeout=0.05)
        Traceback (most recent call last):
        ...
        mezon_nb.errors.MezonTimeoutError: gave up after 0.05 s
        """
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("LoopThread.run() called from the loop thread; await instead")
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            # Since 3.11 this is the builtin TimeoutError, which the coroutine itself may raise
            # (MezonTimeoutError included): only a future still running timed out here.
            if future.done():
                raise
            future.cancel()
            raise MezonTimeoutError(f"gave up after {timeout} s") from None
        except KeyboardInterrupt:
            future.cancel()
            raise

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on this loop and await its result from whatever loop the caller is on.

        >>> asyncio.run(LoopThread.shared().arun(asyncio.sleep(0, result="on the loop thread")))
        'on the loop thread'
        """
        return await run_on(self.loop, lambda: coro)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on the loop thread: at once when already there, else as soon as
        the loop gets to it; nothing once the loop has stopped.

        >>> seen = []
        >>> LoopThread.shared().call_soon(seen.append, 1)
        >>> LoopThread.shared().run(asyncio.sleep(0)); seen
        [1]
        """
        if self.in_loop_thread():
            fn(*args)
        elif self.is_running():
            self.loop.call_soon_threadsafe(fn, *args)

    def start_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Create a task on the loop from another thread and return it.

        >>> task = LoopThread.shared().start_task(asyncio.sleep(0), "mezon_nb-doc")
        >>> task.get_name()
        'mezon_nb-doc'
        >>> LoopThread.shared().stop_task(task)
        """

        async def create() -> asyncio.Task[Any]:
            return asyncio.get_running_loop().create_task(coro, name=name)

        return self.run(create(), timeout=5)

    def stop_task(self, task: asyncio.Task[Any], timeout: float = 5.0) -> None:
        """Cancel ``task`` (a task on this loop) and wait until it has finished.

        >>> task = LoopThread.shared().start_task(asyncio.sleep(60), "mezon_nb-doc")
        >>> LoopThread.shared().stop_task(task); task.cancelled()
        True
        """
        if task.done() or not self.is_running():
            return
        self.loop.call_soon_threadsafe(task.cancel)
        if self.in_loop_thread():
            return
        deadline = time.monotonic() + timeout
        while not task.done() and time.monotonic() < deadline:
            time.sleep(0.002)

    def stop(self) -> None:
        """Stop the loop and join the thread (the shared loop normally lives until exit).

        >>> LoopThread().stop()
        """
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


async def run_on(loop: asyncio.AbstractEventLoop | None,
                 make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Await ``make()`` on ``loop`` (where the object it belongs to lives) from any loop;
    ``None`` means the caller's own loop.

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


__all__ = ["LoopThread", "call_sync", "run_on"]
