"""Suite-wide fixtures: the golden wire vectors, kept in ``tests/protocol/data/``.

This file sits at the root, not in ``tests/``: ``--doctest-modules`` imports every conftest.py
under the test paths once more, and a ``tests/conftest.py`` then clashes with the nested ones
(all are the module ``conftest``: ``tests/`` has no packages).

``wire_vectors`` is the dict of vectors by name; a test taking a ``wire_vector`` argument runs
once per vector (ids are the vector names). Where the file comes from: tests/protocol/data/SOURCE.md.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

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
