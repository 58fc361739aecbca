"""The harness meets JupyterLab's "Select Kernel" dialog as a remote user does, and answers it.

JupyterLab asks which kernel to start when it cannot decide alone: a notebook for a kernel it
does not have (made here on purpose), or a slow link where the kernel list came after the notebook
opened. ``NotebookUI`` picks Python 3 and goes on; the cell then runs. JupyterLab is reached
once directly and once through the project's link shaper (10/5 Mbit/s, 40 ms), which shows
that a whole JupyterLab session (HTTP, the kernel's WebSocket) works through it.
"""

from __future__ import annotations

import json

import pytest
from browserkit import JupyterServer, NotebookUI, code_notebook
from linkshaper import Link, ShapedLink

pytestmark = pytest.mark.browser


def foreign_kernel_notebook(cells: list[str]) -> dict:
    """A notebook written for a kernel this server does not have: JupyterLab has to ask."""
    notebook = code_notebook(cells)
    notebook["metadata"]["kernelspec"] = {"name": "elsewhere", "language": "elsewhere-lang",
                                          "display_name": "Not installed here"}
    return notebook


@pytest.mark.parametrize(("ui_name", "link"), [("lab", "10/5/40"), ("notebook", "loopback")])
def test_kernel_picker_is_answered_and_the_cell_runs(chromium, tmp_path, ui_name, link):
    root = tmp_path / "root"
    root.mkdir()
    (root / "ask.ipynb").write_text(json.dumps(foreign_kernel_notebook(["print(6 * 7)"])))
    server = JupyterServer(root, log_path=tmp_path / "jupyter.log")
    shape = Link.parse(link)
    shaped = None if shape is None else ShapedLink(shape, "127.0.0.1",
                                                   int(server.url.rsplit(":", 1)[1]))
    url = server.url if shaped is None else shaped.url
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.set_default_timeout(60_000)
        page = context.new_page()
        server.login(page, url)
        ui = NotebookUI(page, server, "ask.ipynb", ui_name, url=url, timeout=180)
        assert ui.kernel_picked is not None and ui.kernel_picked.startswith("Python 3")
        assert "42" in ui.run(0, timeout=60)
        assert len(server.kernel_pids()) == 1
        if shaped is not None:
            moved = shaped.stats()
            assert moved["bytes_down"] > 100_000 and moved["bytes_up"] > 0
    finally:
        context.close()
        if shaped is not None:
            shaped.stop()
        server.stop()
