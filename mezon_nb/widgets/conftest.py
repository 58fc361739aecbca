"""Doctest fixtures for ``mezon_nb.widgets``: one small sandbox and one client per session.

Docstring examples use ``sandbox`` (a running ``mezon_nb.Sandbox``: crowd off, a 320x240 test
stream) and ``client`` (a ``Client`` connected to it). There is no frontend in a doctest, so
widgets send nothing; the examples show the Python side.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def _widgets_doctest_world():
    from mezon_nb.client import connect
    from mezon_nb.sandbox import Sandbox

    with Sandbox.start(seed=0, crowd=False, stream_size=(320, 240)) as sandbox, \
            connect(sandbox=sandbox) as client:
        yield {"sandbox": sandbox, "client": client}


@pytest.fixture(autouse=True)
def _widgets_doctest_namespace(request, doctest_namespace):
    if isinstance(request.node, pytest.DoctestItem) and "sandbox" in (request.node.dtest.docstring
                                                                      or ""):
        doctest_namespace.update(request.getfixturevalue("_widgets_doctest_world"))
