"""No token or tokened URL in widget state, the saved notebook's widget JSON, or reprs."""

import json

import nbformat
import pytest
from ipywidgets.embed import embed_data
from widget_fakes import SECRET, FakeClient

from mezon_nb.widgets import ParticipantsPanel, StreamGrid, StreamViewer


def serialised(widgets) -> str:
    """The widgets' states, a saved notebook holding their views and state, and their reprs."""
    data = embed_data(views=widgets)
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json":
                              data["manager_state"]}
    outputs = [nbformat.v4.new_output(
        "display_data", data={"application/vnd.jupyter.widget-view+json": spec})
        for spec in data["view_specs"]]
    nb.cells.append(nbformat.v4.new_code_cell("display(viewer)", outputs=outputs))
    state = json.dumps([w.get_state() for w in widgets], default=str)
    return state + nbformat.writes(nb) + "".join(repr(w) for w in widgets)


def test_fake_client_secret_stays_out():
    client = FakeClient()
    viewer = StreamViewer(client, "7")
    panel = ParticipantsPanel(client)
    try:
        text = serialised([viewer, panel])
        assert "chan-7" in text and "application/vnd.jupyter.widget-state+json" in text
        assert SECRET not in text and "token" not in text.lower()
    finally:
        viewer.close()
        panel.close()


@pytest.mark.media
def test_real_client_tokens_stay_out(real_client, sandbox):
    grid = StreamGrid(real_client, [sandbox.stream_channel_id])
    panel = real_client.participants_panel()
    try:
        text = serialised([grid, *grid.viewers, panel])
        assert sandbox.stream_channel_id in text
        assert sandbox.bot_token not in text
        assert real_client.session().token not in text
        assert "token" not in text.lower() and "eyJ" not in text
    finally:
        grid.close()
        panel.close()
