"""Fixtures for the fuzz tier: one sandbox child whose log (stderr) is captured to a file, a
bot session on it, and a check after every test that the log shows no uncaught exception and
the server still answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fuzz_helpers import log_alarms

from mezon_nb.protocol import api_pb2
from mezon_nb.sandbox import Sandbox

LOGIN = "/v2/apps/authenticate/token"


@pytest.fixture(scope="session")
def server_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "sandbox.log"


@pytest.fixture(scope="session")
def sandbox(server_log) -> Iterator[Sandbox]:
    """A sandbox with a slow crowd (its events and chat run beside the fuzzers)."""
    with open(server_log, "wb") as stderr, \
            Sandbox.start(seed=3, crowd_rate=30.0, stream=False, stderr=stderr) as running:
        yield running


def login(sandbox: Sandbox) -> api_pb2.Session:
    reply = httpx.post(sandbox.api_url + LOGIN, json={
        "account": {"appid": sandbox.bot_id, "token": sandbox.bot_token}})
    assert reply.status_code == 200, reply.text
    return api_pb2.Session.FromString(reply.content)


@pytest.fixture(scope="session")
def session(sandbox) -> api_pb2.Session:
    return login(sandbox)


@pytest.fixture(autouse=True)
def still_healthy(request, server_log) -> Iterator[None]:
    """After each test: no alarm in the sandbox's log, and it still logs a bot in."""
    yield
    if "sandbox" not in request.fixturenames:
        return
    text = server_log.read_text(errors="replace")
    alarms = log_alarms(text)
    assert not alarms, text[text.index(alarms[0]):][:20_000][-3000:]
    assert login(request.getfixturevalue("sandbox")).token
