"""Control endpoints ``/sandbox/<action>`` (fault injection, benchmarks, state).

Not covered here: ``drop_sockets`` (``test_sandbox_realtime.py``), crowd pause
(``test_sandbox_crowd.py``), ``set_live`` events (``test_sandbox_realtime.py``).
"""

from __future__ import annotations

import time

import httpx
import pytest

from mezon_nb.protocol import realtime_pb2
from mezon_nb.sandbox import Sandbox


@pytest.mark.parametrize("headers", [{}, {"X-Sandbox-Key": "wrong"}])
@pytest.mark.parametrize("method, action", [("POST", "drop_sockets"), ("GET", "state"),
                                            ("POST", "burst")])
def test_controls_need_the_admin_key(sandbox: Sandbox, headers, method, action) -> None:
    reply = httpx.request(method, f"{sandbox.api_url}/sandbox/{action}", headers=headers)
    assert reply.status_code == 403
    assert sandbox.admin_key not in reply.text


def test_get_state_and_emits(sandbox: Sandbox) -> None:
    headers = {"X-Sandbox-Key": sandbox.admin_key}
    state = httpx.get(f"{sandbox.api_url}/sandbox/state", headers=headers).json()
    assert {"clans", "channels", "presence", "live", "sockets", "crowd"} <= set(state)
    assert len(state["clans"]) == 2
    since = time.time() - 3600
    emits = httpx.get(f"{sandbox.api_url}/sandbox/emits", headers=headers,
                      params={"since": since, "limit": 5}).json()["events"]
    assert len(emits) <= 5
    assert httpx.get(f"{sandbox.api_url}/sandbox/burst", headers=headers).status_code == 405


def test_add_and_remove_viewer(sandbox: Sandbox) -> None:
    added = sandbox.control("add_viewer", name="Control Tester")
    assert added["channel_id"] == sandbox.stream_channel_id
    assert int(added["user_id"]) > 2**53
    presence = sandbox.control("state")["presence"]
    row = next(row for row in presence if row["user_id"] == added["user_id"])
    assert (row["channel_id"], row["participant"]) == (added["channel_id"], "Control Tester")
    assert row["since"] <= time.time()
    removed = sandbox.control("remove_viewer", user_id=added["user_id"])
    assert removed["removed"] is True and removed["event_id"]
    assert sandbox.control("remove_viewer", user_id=added["user_id"])["removed"] is False
    assert added["user_id"] not in {row["user_id"] for row in sandbox.control("state")["presence"]}


def test_burst_records_emit_times_and_reaches_sockets(sandbox: Sandbox, open_socket) -> None:
    raw = open_socket()
    raw.request(clan_join=realtime_pb2.ClanJoin(clan_id=int(sandbox.clan_id)))
    before = time.time()
    events = sandbox.control("burst", count=200)["events"]
    assert [e["kind"] for e in events[:4]] == ["joined", "left", "joined", "left"]
    assert len({e["id"] for e in events}) == 200
    assert all(before <= e["time"] <= time.time() for e in events)
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    logged = {e["id"] for e in sandbox.control("emits", since=before)["events"]}
    assert {e["id"] for e in events} <= logged
    wanted = {int(e["id"]) for e in events}
    deadline = time.monotonic() + 10
    while wanted and time.monotonic() < deadline:
        envelope = raw.read()
        member = envelope.WhichOneof("message")
        if member in ("streaming_joined_event", "streaming_leaved_event"):
            wanted.discard(getattr(envelope, member).id)
    assert not wanted


@pytest.mark.parametrize("action, params, status", [
    ("no_such_action", {}, 404),
    ("burst", {"count": 0}, 400),
    ("burst", {"count": "many"}, 400),
    ("remove_viewer", {}, 400),
    ("add_viewer", {"channel_id": "123"}, 404),
    ("set_live", {"channel_id": "abc"}, 400),
])
def test_bad_control_requests(sandbox: Sandbox, action, params, status) -> None:
    with pytest.raises(RuntimeError, match=f"\\({status}\\)"):
        sandbox.control(action, **params)
