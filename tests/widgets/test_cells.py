"""Re-running the cell that made a viewer or panel closes the old one; the busy flag.

IPython's hooks are called by hand (no kernel here). Not covered: a real UI sending cell ids
(tests/browser re-runs the quickstart's viewer cell in JupyterLab).
"""

import types

import pytest
from widget_fakes import FakeClient

from mezon_nb.widgets import ParticipantsPanel, StreamViewer, cells


@pytest.fixture
def in_cell(monkeypatch):
    monkeypatch.setattr(cells._Cells, "owned", {})

    def run(cell_id):
        cells.pre_run_cell(types.SimpleNamespace(cell_id=cell_id))

    yield run
    cells.post_run_cell(None)


def test_rerunning_a_cell_closes_what_its_previous_run_made(in_cell):
    client = FakeClient()
    in_cell("cell-a")
    old_viewer, panel = StreamViewer(client, "7"), ParticipantsPanel(client)
    cells.post_run_cell(None)
    in_cell("cell-b")
    other = StreamViewer(client, "8")
    cells.post_run_cell(None)
    in_cell("cell-a")                                       # the user re-runs cell a
    assert old_viewer.status == "closed" and client.sessions[0].left == 1
    assert panel.comm is None
    assert other.status != "closed" and client.sessions[1].left == 0
    new_viewer = StreamViewer(client, "7")
    assert new_viewer.status != "closed"
    other.close()
    new_viewer.close()


def test_busy_flag_follows_execution(in_cell):
    in_cell("x")
    assert cells.kernel_busy()
    cells.post_run_cell(None)
    assert not cells.kernel_busy()
