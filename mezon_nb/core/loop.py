"""The library's background engine: one asyncio event loop on one daemon thread.

The notebook-facing ``Client``, the stream sessions and the widgets all run their async work
here, so events and frames keep flowing while a notebook cell blocks. Coroutines are handed over
with :meth:`LoopThread.run` (wait for the result) or :meth:`LoopThread.submit` (get a
``concurrent.futures.Future``).

>>> import asyncio
>>> runner = LoopThread.shared()
>>> runner.run(asyncio.sleep(0, result=42), timeout=5)
42
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
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


__all__ = ["LoopThread"]
