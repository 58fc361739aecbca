"""The tutorial notebooks: executed with a real kernel against the sandbox, and kept clean.

Notebooks 01-04 run top to bottom in a fresh ``python3`` kernel (nbclient), in a temporary
working directory, with every ``MEZON_*`` variable removed so nothing can reach the real
service. After the last cell the test runs one extra cell that reads back what the notebook
computed (a JSON line), then checks it: the notebooks' own sanity-check cells prove they ran,
these checks prove the numbers are the expected ones. Notebook 05 (the real Mezon service)
runs without credentials and must stop cleanly.

The kernel: ``kernel_name="python3"`` in a process started from ``.venv`` resolves to the venv's
own kernelspec, and jupyter_client starts it with the test's own interpreter
(``sys.executable``); the probe checks that. ``PYTHONPATH`` points at this checkout so the
notebooks import the code under test even when the package is not installed.

Not covered here: how the widgets look in a browser (no frontend runs, so viewers send no
frames); that is the browser tests' job.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = ("01-quickstart.ipynb", "02-participant-analytics.ipynb", "03-bot-streaming.ipynb",
            "04-frames-to-numpy.ipynb", "05-real-mezon.ipynb")
CELL_TIMEOUT = 240  # s; the notebooks take a few tens of seconds, but CI cores are shared
NOTEBOOK_TIMEOUT = 600  # s, for a whole notebook, kernel start included
PROBE = "MEZON_NB_PROBE "
WIDGET = "application/vnd.jupyter.widget-view+json"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{6,}")
TOKEN_VALUE = re.compile(r"MEZON_BOT_TOKEN\s*=\s*['\"]?[A-Za-z0-9._-]{12,}")


@dataclass
class Run:
    """An executed notebook, what its probe read back, and how long it took."""

    nb: nbformat.NotebookNode
    values: dict
    seconds: float

    def cell(self, snippet: str) -> nbformat.NotebookNode:
        """The first code cell whose source contains ``snippet``."""
        return next(c for c in self.nb.cells if c.cell_type == "code" and snippet in c.source)

    def text(self, cell: nbformat.NotebookNode | None = None) -> str:
        """All printed text (stdout, stderr, text/plain results) of one cell or of every cell."""
        cells = [cell] if cell is not None else self.nb.cells
        parts = []
        for c in cells:
            for out in c.get("outputs", []):
                if out.output_type == "stream":
                    parts.append(out.text)
                elif "data" in out:
                    parts.append(out.data.get("text/plain", ""))
        return "\n".join(parts)

    def mimetypes(self) -> list[str]:
        """The mimetype of every rich output, in order (repeats kept)."""
        return [mime for c in self.nb.cells for out in c.get("outputs", [])
                for mime in out.get("data", {})]


def kernel_env() -> dict[str, str]:
    """The kernel's environment: ours, minus every MEZON_* variable, plus this checkout."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MEZON_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def execute(name: str, workdir: Path, probe: dict[str, str]) -> Run:
    """Run every cell of ``name`` in ``workdir``, then evaluate ``probe`` (name -> expression)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    expressions = ", ".join(f"{key!r}: ({expr})" for key, expr in probe.items())
    probe_cell = nbformat.v4.new_code_cell(
        "import json as _json, sys as _sys\n"
        f"print({PROBE!r} + _json.dumps({{'python': _sys.executable, {expressions}}}, "
        "default=str))")
    started = time.monotonic()
    with client.setup_kernel(env=kernel_env()):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.monotonic() - started
        nb.cells.append(probe_cell)
        client.execute_cell(probe_cell, len(nb.cells) - 1)
    line = next(line for out in probe_cell.outputs if out.output_type == "stream"
                for line in out.text.splitlines() if line.startswith(PROBE))
    run = Run(nb, json.loads(line[len(PROBE):]), seconds)
    print(f"{name}: {seconds:.1f} s")
    return run


def check_common(run: Run) -> None:
    """What every executed notebook must show: the venv's kernel, no traceback anywhere."""
    assert Path(run.values["python"]).resolve() == Path(sys.executable).resolve()
    assert "Traceback" not in run.text()
    errors = [out for c in run.nb.cells for out in c.get("outputs", [])
              if out.output_type == "error"]
    assert errors == []


# -- notebooks 01-04 against the sandbox ----------------------------------------------------


@pytest.mark.notebook
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
def test_01_quickstart(tmp_path):
    run = execute("01-quickstart.ipynb", tmp_path, {
        "channels": "[ch.label for ch in channels]",
        "frame_shape": "list(frame.array.shape)",
        "events": "len(events)",
        "kinds": "sorted(set(events['kind']))",
        "labels": "sorted(set(events['channel_label'].dropna()))",
        "names": "int(events['participant'].notna().sum())",
        "viewer_status": "viewer.status",
        "client_state": "client.state",
        "sandbox_running": "sandbox.running",
    })
    check_common(run)
    values = run.values
    assert values["channels"] == ["main-stage", "backstage", "live-lab"]
    assert values["frame_shape"] == [360, 640, 3]
    assert values["events"] >= 10
    assert {"joined", "left"} <= set(values["kinds"])
    assert set(values["labels"]) <= {"main-stage", "backstage", "live-lab"}
    assert values["names"] > 0
    # the live printout, and both widgets rendered as widget views
    assert " joined " in run.text(run.cell("client.events(timeout="))
    assert WIDGET in run.cell("client.viewer(").outputs[0].data
    assert WIDGET in run.cell("client.participants_panel()").outputs[0].data
    # it closed what it opened
    assert (values["viewer_status"], values["client_state"]) == ("closed", "closed")
    assert values["sandbox_running"] is False


@pytest.mark.notebook
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
def test_02_participant_analytics(tmp_path):
    run = execute("02-participant-analytics.ipynb", tmp_path, {
        "recorded": "recorded",
        "reloaded": "len(log)",
        "sessions": "len(sessions)",
        "peak": "int(summary['peak_viewers'].max())",
        "steps_max": "int(steps['viewers'].max())",
        "half_life": "half_life_crowd",
        "returning": "len(returning)",
        "users": "len(users)",
        "duckdb_joins": "int(per_channel['joins'].sum())",
        "pandas_joins": "int((log.events['kind'] == 'joined').sum())",
        "archive_files": "len(files)",
        "archive_sessions": "int(year_summary['sessions'].sum())",
        "monthly_joins": "int(monthly['joins'].sum())",
        "sqlite": "str(log_path)",
        "parquet": "str(parquet_path)",
        "client_state": "client.state",
        "sandbox_running": "sandbox.running",
    })
    check_common(run)
    values = run.values
    # the durable log: the reopened file holds every event the client recorded
    assert values["recorded"] == values["reloaded"] > 100
    assert (tmp_path / values["sqlite"]).is_file()
    # sessions, the peak, retention and returning viewers are real numbers
    assert values["sessions"] > 50
    assert values["peak"] == values["steps_max"] > 0
    assert 5 < values["half_life"] < 60  # the crowd's median visit is 20 s of crowd time
    assert 0 < values["returning"] <= values["users"] <= 120  # the sandbox has 120 viewers
    # Parquet on disk, and DuckDB agrees with pandas
    assert (tmp_path / values["parquet"]).stat().st_size > 0
    assert values["duckdb_joins"] == values["pandas_joins"] > 0
    # the year-long archive: many hive partitions, DuckDB counts every visit once
    assert values["archive_files"] > 300  # a file per day and clan at least
    assert 50_000 < values["archive_sessions"] <= values["monthly_joins"] == 60_000
    assert "Peak: " in run.text()
    assert run.mimetypes().count("image/png") >= 2  # concurrency and retention plots
    assert values["client_state"] == "closed" and values["sandbox_running"] is False


@pytest.mark.notebook
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
def test_03_bot_streaming(tmp_path):
    run = execute("03-bot-streaming.ipynb", tmp_path, {
        "clip": "str(clip)",
        "frame_shape": "list(frame.array.shape)",
        "mean_rgb": "[float(red), float(green), float(blue)]",
        "frames_sent": "publisher.stats.frames_sent",
        "publisher_state": "publisher.state",
        "bot_in_stream": "client.user_id in [u.user_id for u in watching]",
        "bot_kinds": "list(mine['kind'])",
        "greeter": "counts",
        "greeter_running": "greeter.running",
        "reply": "[reply.sender_name, reply.text]",
        "ack_id": "ack.message_id",
        "ann_messages": "int(log.users().set_index('user_id').loc[ann, 'messages'])",
        "chat_bins": "int(log.chat_activity('30s', channel.channel_id)['messages'].sum())",
        "viewer_status": "viewer.status",
        "client_state": "client.state",
        "sandbox_running": "sandbox.running",
    })
    check_common(run)
    values = run.values
    assert (tmp_path / values["clip"]).stat().st_size > 0
    # the numpy frames came back: 320x240, green dominates
    assert values["frame_shape"] == [240, 320, 3]
    red, green, blue = values["mean_rgb"]
    assert green > red and green > blue
    assert (values["frames_sent"], values["publisher_state"]) == (90, "ended")
    assert values["bot_in_stream"] is True
    assert values["bot_kinds"] == ["joined", "left", "joined", "left"]
    assert "publisher: closed | viewer: ended" in run.text()
    # the welcome bot greeted the three viewers, read Ann's thanks and answered
    assert values["greeter"]["greeted"] >= 3 and values["greeter"]["failed"] == 0
    assert values["greeter_running"] is False
    assert values["reply"] == ["Ann", "Thanks, nice stream!"]
    assert "Ann: Thanks, nice stream!" in run.text()
    assert values["ack_id"].isdigit()
    assert values["ann_messages"] == 1 and values["chat_bins"] >= 1
    # the stream key of the registration URL is never printed
    assert "rtmp://127.0.0.1/live/…" in run.text()
    assert not re.search(r"rtmp://\S+/live/[0-9a-f]{8,}", run.text())
    assert (values["viewer_status"], values["client_state"]) == ("closed", "closed")
    assert values["sandbox_running"] is False


@pytest.mark.notebook
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
def test_04_frames_to_numpy(tmp_path):
    run = execute("04-frames-to-numpy.ipynb", tmp_path, {
        "stamp_index": "stamp.index",
        "measured": "len(data)",
        "measured_in_order": "bool(data['index'].is_unique and "
                             "data['index'].is_monotonic_increasing)",
        "motion": "float(data['motion'].mean())",
        "brightness_std": "float(data['brightness'].std())",
        "grid_shapes": "[list(original.array.shape), list(motion.array.shape)]",
        "recording": "str(path)",
        "recorded_frames": "len(times)",
        "recorded_in_order": "times == sorted(set(times))",
        "markers": "[before, first, last, after]",
        "thumbnails": "len(thumbnails)",
        "session_state": "session.state",
        "client_state": "client.state",
        "sandbox_running": "sandbox.running",
    })
    check_common(run)
    values = run.values
    assert values["stamp_index"] >= 0
    # the callback saw 150 frames (a count, however long they took), each once and in order
    assert values["measured"] >= 150 and values["measured_in_order"] is True
    assert values["motion"] > 1 and values["brightness_std"] > 1
    assert values["grid_shapes"] == [[360, 640, 3], [180, 320, 3]]
    assert (tmp_path / values["recording"]).stat().st_size > 0
    # the clip holds the frames decoded between the markers: at least those from record() to
    # stop_recording() less one, at most those from before the one to after the other plus one
    before, first, last, after = values["markers"]
    assert last - first >= 300, values["markers"]
    assert last - first - 1 <= values["recorded_frames"] <= after - before + 1, values
    assert values["recorded_in_order"] is True
    assert values["thumbnails"] == -(-values["recorded_frames"] // 60)  # every 60th frame
    assert WIDGET in run.cell("StreamGrid(client").outputs[0].data
    assert run.mimetypes().count("image/png") >= 3  # a frame, the live plot, the filmstrip
    assert values["session_state"] == "closed" and values["client_state"] == "closed"
    assert values["sandbox_running"] is False


# -- notebook 05 without credentials ----------------------------------------------------------


@pytest.mark.notebook
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
def test_05_real_mezon_without_credentials_stops_cleanly(tmp_path):
    run = execute("05-real-mezon.ipynb", tmp_path, {
        "ready": "READY",
        "connected": "'client' in globals()",
    })
    check_common(run)
    assert run.values["ready"] is False and run.values["connected"] is False
    assert "are not set" in run.text(run.cell("READY = "))
    assert run.text(run.nb.cells[-2]).strip() == "Done."  # the last cell before the probe


# -- what is committed ------------------------------------------------------------------------


def test_every_tutorial_notebook_is_there():
    assert sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_is_committed_clean(path):
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), \
        "the first cell says what the notebook teaches"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [cell.outputs for cell in code] == [[]] * len(code), "outputs are committed"
    assert [cell.execution_count for cell in code] == [None] * len(code)
    assert "widgets" not in nb.metadata, "saved widget state is committed"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert not JWT.search(text), "a JWT-looking string (eyJ...) is in the notebook"
    assert not TOKEN_VALUE.search(text), "a bot token value is in the notebook"
    sources = "\n".join(cell.source for cell in code)
    assert "client.close()" in code[-1].source or "client.close()" in sources
    if path.name != "05-real-mezon.ipynb":
        assert "sandbox.stop()" in code[-1].source, "the last cell stops the sandbox"
