"""Fixtures: a real sandbox child process per session (crowd off), and helpers.

Every test that needs a server talks to it over real loopback sockets.
"""

from __future__ import annotations

import pytest

from mezon_nb.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox():
    with Sandbox.start(seed=0, crowd=False) as running:
        yield running


@pytest.fixture
def anyio_backend():
    return "asyncio"
