"""A StreamGrid of two live viewers in JupyterLab: both pictures move (the frame counter
stamped in each canvas advances), neither viewer had a frame expire, and the grid's shared
in-flight budget never overflows (the viewers take budget slots only while the browser falls
behind; with batched acks a small budget would otherwise starve them).

Progress, not rates: the test waits (bounded) until both counters moved on by 45 frames,
however long that takes on a busy machine; the grid's frame rate is benchmarks/browser.py's."""

from __future__ import annotations

import base64
import json
import re

import pytest
from browserkit import JupyterServer, NotebookUI, code_notebook, png_array, wait_for

from mezon_nb.media import read_stamp

pytestmark = pytest.mark.browser

CELLS = [
    """import json, time
import mezon_nb
sandbox = mezon_nb.Sandbox.start(crowd=False, stream_size=(640, 480), stream_fps=30)
client = mezon_nb.connect(sandbox=sandbox)
grid = mezon_nb.StreamGrid(client, [sandbox.stream_channel_id] * 2)
grid""",
    """print("MZ-GRID " + json.dumps({"stats": [v.get_stats() for v in grid.viewers],
                                  "budget": [grid.budget.in_flight, grid.budget.limit]}))""",
    "grid.close()\nclient.close()\nsandbox.stop()",
]


def stamps(page) -> list[int | None]:
    """The frame counter stamped in each viewer canvas's own pixels now."""
    urls = page.locator(".mz-viewer .mz-canvas").evaluate_all(
        "cs => cs.map(c => c.toDataURL('image/png'))")
    found = [read_stamp(png_array(base64.b64decode(u.split(",", 1)[1]))) for u in urls]
    return [None if s is None else s.index for s in found]


@pytest.mark.timeout(400)   # the bounded waits below add up to more than the default 120 s
def test_a_grid_of_two_viewers_plays_both(chromium, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "grid.ipynb").write_text(json.dumps(code_notebook(CELLS)))
    server = JupyterServer(root, log_path=tmp_path / "jupyter.log")
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        context.set_default_timeout(30_000)
        page = context.new_page()
        server.login(page)
        ui = NotebookUI(page, server, "grid.ipynb", "lab")
        ui.run(0, timeout=90)
        states = page.locator(".mz-viewer .mz-status")
        assert wait_for(lambda: states.count() == 2 and all(
            states.nth(i).get_attribute("data-state") == "live" for i in range(2)), 30)
        assert wait_for(lambda: None not in stamps(page), 30), "no stamped picture"
        first = stamps(page)
        moved = wait_for(lambda: all(b - a >= 45 for a, b in zip(first, stamps(page))), 90, 0.5)
        assert moved, (first, stamps(page))                     # both pictures move on
        report = json.loads(re.search(r"MZ-GRID (\{.*\})", ui.run(1, timeout=30)).group(1))
        in_flight, limit = report["budget"]
        assert in_flight <= limit
        for stats in report["stats"]:
            assert stats["acked"] > 0 and stats["expired"] == 0, stats
        ui.run(2, timeout=60)
        assert ui.errors() == []
    finally:
        context.close()
        server.stop()
