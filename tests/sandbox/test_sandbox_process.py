"""The child process: start, stop, context manager, orphan clean-up, the CLI.

Not covered: Windows (signals and process groups differ; the stdin pipe still ends the child).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mezon_nb.sandbox import Sandbox
from mezon_nb.sandbox.process import _terminate

ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int, timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_stop_ends_the_child() -> None:
    sandbox = Sandbox.start(crowd=False, stream=False)
    assert sandbox.running
    assert httpx.get(f"{sandbox.api_url}/healthz").text == "ok"
    sandbox.stop()
    sandbox.stop()  # twice is fine
    assert not sandbox.running and _gone(sandbox.pid)


def test_with_block_ends_the_child_and_repr_hides_secrets() -> None:
    with Sandbox.start(crowd=False, stream=False, seed=9) as sandbox:
        text = repr(sandbox)
        assert sandbox.api_url in text and sandbox.bot_id in text
        assert sandbox.bot_token not in text and sandbox.admin_key not in text
    assert _gone(sandbox.pid)


def test_child_dies_with_its_parent() -> None:
    script = (
        "import json, sys, time\n"
        "from mezon_nb.sandbox import Sandbox\n"
        "sandbox = Sandbox.start(crowd=False, stream=False)\n"
        "print(json.dumps({'pid': sandbox.pid}), flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        child_pid = json.loads(parent.stdout.readline())["pid"]
        parent.kill()  # no clean-up code runs in the parent
        parent.wait(5)
        assert _gone(child_pid)
    finally:
        parent.kill()
        parent.wait(5)
        parent.stdout.close()


def test_cli_prints_labelled_credentials_and_stops_on_ctrl_c() -> None:
    cli = subprocess.Popen(
        [sys.executable, "-m", "mezon_nb.sandbox", "--port", "0", "--no-crowd", "--no-stream"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        lines = [cli.stdout.readline() for _ in range(9)]
        fields = dict(line.split(None, 1) for line in lines[1:])
        assert {"api_url", "bot_id", "bot_token", "admin_key", "stream_url"} <= set(fields)
        assert "sandbox dev credential" in fields["bot_token"]
        assert httpx.get(fields["api_url"].strip() + "/healthz").status_code == 200
        cli.send_signal(signal.SIGINT)
        assert cli.wait(10) == 0
    finally:
        cli.kill()
        cli.wait(5)
        cli.stdout.close()


def test_stop_escalates_to_sigkill() -> None:
    script = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    stubborn = subprocess.Popen([sys.executable, "-c", script],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert stubborn.stdout.readline() == b"ready\n"
        started = time.monotonic()
        _terminate(stubborn, timeout=0.5)
        assert stubborn.returncode == -signal.SIGKILL     # it ignored SIGTERM: killed
        assert time.monotonic() - started < 30            # not waited out (its own 30 s)
    finally:
        stubborn.kill()
        stubborn.wait(5)
        stubborn.stdout.close()


def test_start_reports_a_child_that_cannot_listen() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(RuntimeError, match="exited with code"):
            Sandbox.start(port=busy.getsockname()[1], crowd=False, stream=False)
