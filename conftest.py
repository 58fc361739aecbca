"""Suite-wide fixtures: the golden wire vectors, kept in ``tests/protocol/data/``.

This file sits at the root, not in ``tests/``: ``--doctest-modules`` imports every conftest.py
under the test paths once more, and a ``tests/conftest.py`` then clashes with the nested ones
(all are the module ``conftest``: ``tests/`` has no packages).

``wire_vectors`` is the dict of vectors by name; a test taking a ``wire_vector`` argument runs
once per vector (ids are the vector names). Where the file comes from: tests/protocol/data/SOURCE.md.

``in_simulated_time`` runs a coroutine on an event loop whose clock only moves when nothing is
ready to run, and then jumps straight to the next timer: timing rules written with
``asyncio.sleep`` and ``loop.time()`` (the crowd's pause, the greeter's pacing) are tested at
exact simulated instants, with no real wait and nothing a busy machine can shift.
"""

from __future__ import annotations

import asyncio
import json
import selectors
from collections.abc import Callable, Coroutine
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

WIRE_VECTORS_PATH = Path(__file__).parent / "tests" / "protocol" / "data" / "mezon-wire-vectors.json"


@cache
def _load_wire_vectors() -> dict[str, dict]:
    vectors = json.loads(WIRE_VECTORS_PATH.read_text())
    by_name = {v["name"]: v for v in vectors}
    assert len(by_name) == len(vectors), "two wire vectors share a name"
    return by_name


@pytest.fixture(scope="session")
def wire_vectors() -> dict[str, dict]:
    """The golden vectors by name: ``{name: {"name", "type", "hex", "fields"}}``."""
    return _load_wire_vectors()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "wire_vector" in metafunc.fixturenames:
        vectors = _load_wire_vectors()
        metafunc.parametrize("wire_vector", list(vectors.values()), ids=list(vectors))


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """No doctests from conftest.py files: ``--doctest-modules`` would import each one again
    as the module ``conftest``, and the second import clashes with the first (``tests/`` has
    no packages), so running several test folders at once stopped at collection. The files
    are still loaded as conftests."""
    return True if collection_path.name == "conftest.py" else None


class _JumpingSelector(selectors.DefaultSelector):
    """Polls without blocking; when nothing is ready, moves its loop's clock by the timeout
    the loop asked to wait (the time to its next timer)."""

    def __init__(self, loop: SimulatedTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        events = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:  # no timer and nothing ready: only a thread could wake it
            raise RuntimeError("simulated time: the loop would wait forever (a thread or a "
                               "socket is involved; this loop is for timers only)")
        self._loop.now += timeout
        return events


class SimulatedTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on simulated seconds (``time()`` starts at 0): ``asyncio.sleep(5)``
    ends at once, with ``time()`` then 5 later. For code that sleeps and computes; it
    raises rather than wait for a thread or a socket."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self.now


async def _cancel_the_rest() -> None:
    left = asyncio.all_tasks() - {asyncio.current_task()}
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)


@pytest.fixture
def in_simulated_time() -> Callable[[Coroutine[Any, Any, T]], T]:
    """``in_simulated_time(coro)``: run ``coro`` to its end on a fresh
    :class:`SimulatedTimeLoop`, cancel what it left running, close the loop; its result."""

    def run(coro: Coroutine[Any, Any, T]) -> T:
        loop = SimulatedTimeLoop()
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.run_until_complete(_cancel_the_rest())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    return run
