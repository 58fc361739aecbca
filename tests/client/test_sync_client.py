"""The blocking ``Client`` and ``connect()`` against a real sandbox.

Covers: plain calls from ordinary threads while another thread blocks on ``events()``,
credentials from the environment (and a clear error without them), ``sandbox=True`` owning and
stopping its sandbox, method-for-method parity with ``AsyncClient``, reprs without the token.
Not covered: the media and widget seats (their own packages' tests).
"""

from __future__ import annotations

import inspect
import threading

import pytest

import mezon_nb
from mezon_nb import AsyncClient, Client, StreamingJoined, connect
from mezon_nb.errors import AuthenticationError

WIDGET_SEATS = ["viewer", "participants_panel"]


def public_methods(cls: type) -> list[str]:
    return [name for name, value in vars(cls).items()
            if not name.startswith("_") and inspect.isfunction(value)]


def test_client_and_async_client_are_twins_in_the_same_order():
    sync_only = [name for name in public_methods(Client) if name in WIDGET_SEATS]
    assert sync_only == WIDGET_SEATS
    twins = [name for name in public_methods(Client) if name not in WIDGET_SEATS]
    assert twins == public_methods(AsyncClient)
    for name in public_methods(AsyncClient):
        assert ">>>" in (getattr(Client, name).__doc__ or ""), name
        assert "run(" not in getattr(Client, name).__doc__, name


def test_events_flow_to_a_blocked_thread_while_another_thread_calls(sandbox):
    with mezon_nb.connect(sandbox=sandbox) as client:
        got: list = []
        ready = threading.Event()

        def watch() -> None:
            events = client.events(timeout=10)
            ready.set()
            for event in events:
                got.append(event)
                if isinstance(event, StreamingJoined) and event.participant == "Thread Tester":
                    return

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            assert ready.wait(5)
            results: dict = {}
            caller = threading.Thread(target=lambda: results.update(
                clans=client.clans(), ping=client.ping(), session=client.session()))
            caller.start()
            caller.join(10)
            assert sandbox.clan_id in [c.clan_id for c in results["clans"]]
            assert results["session"].user_id == client.user_id == sandbox.bot_id
            added = sandbox.control("add_viewer", name="Thread Tester")
        finally:
            watcher.join(15)
        assert not watcher.is_alive()
        assert got[-1].user_id == added["user_id"]
        sandbox.control("remove_viewer", user_id=added["user_id"])
        assert sandbox.bot_token not in repr(client)
    assert client.state == "closed"


def test_events_subscribes_at_the_call_not_at_the_first_next(sandbox):
    with connect(sandbox=sandbox) as client:
        events = client.events(timeout=10)
        added = sandbox.control("add_viewer", name="Early Bird")
        first = next(events)
        assert (first.user_id, first.participant) == (added["user_id"], "Early Bird")
        events.close()
        assert not client.async_client._dispatcher._streams  # unsubscribed on close
        sandbox.control("remove_viewer", user_id=added["user_id"])


def test_connect_reads_credentials_from_the_environment(sandbox, monkeypatch):
    monkeypatch.setenv("MEZON_BOT_ID", sandbox.bot_id)
    monkeypatch.setenv("MEZON_BOT_TOKEN", sandbox.bot_token)
    monkeypatch.setenv("MEZON_STREAM_URL", "ws://127.0.0.1:9/stn")
    with connect(base_url=sandbox.api_url) as client:
        assert client.user_id == sandbox.bot_id
        assert client.stream_url == "ws://127.0.0.1:9/stn"


def test_connect_without_credentials_names_the_variables(monkeypatch):
    monkeypatch.delenv("MEZON_BOT_ID", raising=False)
    monkeypatch.delenv("MEZON_BOT_TOKEN", raising=False)
    with pytest.raises(AuthenticationError, match="MEZON_BOT_ID and MEZON_BOT_TOKEN"):
        connect()


def test_connect_with_a_wrong_token_keeps_it_out_of_the_error(sandbox):
    secret = "wrong-" + "T0KEN" * 5
    with pytest.raises(AuthenticationError) as info:
        connect(sandbox.bot_id, secret, base_url=sandbox.api_url)
    assert secret not in str(info.value) and secret not in repr(info.value)


def test_sandbox_true_is_owned_and_stopped_by_the_client():
    with connect(sandbox=True) as client:
        owned = client._owned_sandbox
        assert owned.running and client.state == "connected"
        assert client.streaming_channels()
    assert not owned.running
