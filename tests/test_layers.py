"""The layers point one way, and the light entry points stay light.

`make test` runs `lint-imports` (the contracts in pyproject.toml: layers, the sandbox's
imports, no sibling cycles). These tests check what a contract cannot see: which third-party
modules a fresh interpreter really loads for `mezon_nb.protocol` and for the sandbox's child
process entry point.

Not covered: what the sandbox child loads once uvicorn serves (uvicorn picks its websocket
implementation then).
"""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(module: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE, module], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return set(json.loads(out))


def _tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def _layers(modules: set[str]) -> set[str]:
    return {".".join(m.split(".")[:2]) for m in modules if m.startswith("mezon_nb.")}


def test_protocol_loads_no_transport():
    loaded = _loaded("mezon_nb.protocol")
    assert not _tops(loaded) & {"httpx", "websockets", "aiortc", "pandas", "anywidget"}
    assert _layers(loaded) <= {"mezon_nb.protocol", "mezon_nb.errors", "mezon_nb.core"}


def test_package_root_loads_no_transport():
    loaded = _loaded("mezon_nb")
    assert not _tops(loaded) & {"httpx", "websockets", "aiortc", "pandas", "anywidget"}


def test_sandbox_child_loads_neither_httpx_nor_the_client():
    loaded = _loaded("mezon_nb.sandbox.child")
    assert "httpx" not in _tops(loaded)
    assert not _layers(loaded) & {"mezon_nb.client", "mezon_nb.facade", "mezon_nb.media",
                                  "mezon_nb.analytics", "mezon_nb.widgets"}
    assert "mezon_nb.sandbox" in _layers(loaded)  # the probe did import it


def test_the_facade_still_resolves_lazily():
    loaded = _loaded("mezon_nb")
    assert "mezon_nb.facade" not in _layers(loaded)
    import mezon_nb

    assert mezon_nb.Client.__module__ == "mezon_nb.facade.client"
