"""Doctest fixtures for ``mezon_nb.client``: one sandbox and one logged-in client per session.

Docstring examples use ``sandbox`` (a running ``mezon_nb.Sandbox``, crowd off), ``client`` (a
``Client`` connected to it), ``aclient`` (its ``AsyncClient``) and ``run(coro)`` (runs a
coroutine on the client's loop thread).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def _client_doctest_world():
    from mezon_nb.client import connect
    from mezon_nb.client.runner import LoopThread
    from mezon_nb.sandbox import Sandbox

    with Sandbox.start(seed=0, crowd=False) as sandbox, connect(sandbox=sandbox) as client:
        yield {"sandbox": sandbox, "client": client, "aclient": client.async_client,
               "run": lambda coro: LoopThread.shared().run(coro, timeout=30)}


@pytest.fixture(autouse=True)
def _client_doctest_namespace(request, doctest_namespace):
    if isinstance(request.node, pytest.DoctestItem):
        doctest_namespace.update(request.getfixturevalue("_client_doctest_world"))
