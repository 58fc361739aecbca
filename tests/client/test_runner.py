"""LoopThread: results, timeouts, and errors raised by the coroutine itself.

Not covered: the client and media layers that run on it (their own tests).
"""

from __future__ import annotations

import asyncio

import pytest

from mezon_nb.core.loop import LoopThread
from mezon_nb.errors import MezonTimeoutError


async def _raise(exc: BaseException):
    raise exc


def test_a_timeout_raised_inside_the_coroutine_keeps_its_message():
    runner = LoopThread.shared()
    with pytest.raises(MezonTimeoutError, match="no pong within 10 s"):
        runner.run(_raise(MezonTimeoutError("no pong within 10 s")), timeout=5)


def test_a_builtin_timeout_inside_the_coroutine_is_not_rewritten():
    with pytest.raises(TimeoutError, match="inner"):
        LoopThread.shared().run(_raise(TimeoutError("inner")), timeout=5)


def test_waiting_too_long_cancels_and_says_how_long():
    with pytest.raises(MezonTimeoutError, match="gave up after 0.05 s"):
        LoopThread.shared().run(asyncio.sleep(5), timeout=0.05)


def test_run_from_the_loop_thread_is_refused():
    runner = LoopThread.shared()

    async def nested():
        inner = asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="await instead"):
            runner.run(inner)

    runner.run(nested(), timeout=5)
