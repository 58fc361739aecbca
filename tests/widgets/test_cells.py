"""Re-running the cell that made a viewer or panel closes the old one; the busy flag.

IPython's hooks are called by hand (no kernel here). Not covered: a real UI sending cell ids
(tests/browser re-runs the quickstart's viewer cell in JupyterLab).
"""

import types
import warnings

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


@pytest.mark.parametrize(("version", "warned"), [("7.3.0", True), ("7.1.0", True),
                                                 ("7.4.0", False), ("6.31.0", False)])
def test_a_kernel_that_can_stop_answering_is_named_once(monkeypatch, version, warned):
    """In an IPython kernel, install() registers the cell hooks and, for ipykernel 7.0-7.3,
    warns (once per process, as it installs once)."""
    import ipykernel
    import IPython

    registered = []
    shell = types.SimpleNamespace(events=types.SimpleNamespace(
        register=lambda name, fn: registered.append(name)))
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    monkeypatch.setattr(ipykernel, "__version__", version)
    monkeypatch.setattr(cells._Cells, "installed", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cells.install()
        cells.install()
    assert registered == ["pre_run_cell", "post_run_cell"]
    messages = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert len(messages) == (1 if warned else 0), messages
    assert not warned or messages[0].startswith(f"ipykernel {version} can stop answering")
