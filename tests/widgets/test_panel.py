"""ParticipantsPanel: initial state from the log, one delta per row, resync on request.

The sandbox test feeds a real ``ParticipantLog`` (the client's) with sandbox streaming events and
replays the deltas the way panel.js does. Not covered: the DOM (sparkline, table) in a browser.
"""

import time

import pandas as pd
import pytest
from widget_fakes import FakeClient, FakeLog, Frontend

from mezon_nb.widgets import ParticipantsPanel


def fold(state: dict, delta: dict) -> dict:
    """What panel.js does with a delta (kept in step with its ``apply``)."""
    assert delta["seq"] == state["seq"] + 1, "panel.js would ask for a resync here"
    ev = delta["event"]
    channel = state["channels"].setdefault(ev["channel_id"],
                                           {"label": ev["channel_label"], "watchers": []})
    ids = [w["user_id"] for w in channel["watchers"]]
    if ev["kind"] == "joined" and ev["user_id"] not in ids:
        channel["watchers"].append({"user_id": ev["user_id"], "participant": ev["participant"],
                                    "since": ev["time"]})
    elif ev["kind"] == "left" and ev["user_id"] in ids:
        channel["watchers"].pop(ids.index(ev["user_id"]))
    elif ev["kind"] == "ended":
        channel["watchers"] = []
    state["seq"] = delta["seq"]
    return state


def deltas(frontend: Frontend) -> list[dict]:
    return [content for content, _ in frontend.messages if content["type"] == "delta"]


def test_initial_state_then_one_small_delta_per_row():
    log = FakeLog([{"time": pd.Timestamp(100, unit="s", tz="UTC"), "kind": "joined",
                    "clan_id": "1", "channel_id": "7", "channel_label": "chan-7",
                    "user_id": "u1", "participant": "ann", "source": "snapshot"}])
    panel = ParticipantsPanel(log)
    frontend = Frontend(panel)
    assert panel.initial["channels"]["7"]["watchers"][0]["participant"] == "ann"
    log.add("joined", "u2")
    log.add("left", "u1")
    sent = deltas(frontend)
    assert [d["event"]["kind"] for d in sent] == ["joined", "left"]
    assert [d["count"] for d in sent] == [2, 1]
    assert set(sent[0]) == {"type", "seq", "event", "count", "total"}      # no tables
    frontend.say(type="sync")
    reset = frontend.messages[-1][0]
    assert reset["type"] == "reset"
    assert [w["user_id"] for w in reset["state"]["channels"]["7"]["watchers"]] == ["u2"]
    panel.close()
    assert log._fns == []
    log.add("joined", "u3")
    assert len(deltas(frontend)) == 2


def test_channel_filter_and_stream_end():
    client = FakeClient()
    panel = ParticipantsPanel(client, channel_id="8")
    frontend = Frontend(panel)
    client.participants.add("joined", "u1", "7")
    client.participants.add("joined", "u2", "8")
    client.participants.add("ended", "", "8")
    assert [d["event"]["kind"] for d in deltas(frontend)] == ["joined", "ended"]
    assert panel.audience.count("8") == 0
    assert panel.audience.snapshot()["series"][-1][1] == 0
    panel.close()


@pytest.mark.media
def test_deltas_replayed_match_the_real_log(real_client, sandbox):
    panel = real_client.participants_panel()
    frontend = Frontend(panel)
    state = {**panel.initial, "channels": {k: dict(v, watchers=list(v["watchers"]))
                                           for k, v in panel.initial["channels"].items()}}
    try:
        users = [sandbox.control("add_viewer", name=f"guest{i}")["user_id"] for i in range(3)]
        sandbox.control("remove_viewer", user_id=users[1])
        deadline = time.monotonic() + 10
        while not any(d["event"]["user_id"] == users[1] and d["event"]["kind"] == "left"
                      for d in deltas(frontend)):
            assert time.monotonic() < deadline, "no delta for the sandbox's leave event"
            time.sleep(0.05)
        for delta in deltas(frontend):
            fold(state, delta)
        watching = {u["user_id"] for u in state["channels"][sandbox.stream_channel_id]["watchers"]}
        assert {users[0], users[2]} <= watching and users[1] not in watching
        sessions = real_client.participants.sessions()
        still_open = sessions[sessions["open"]]
        expected = set(still_open[still_open["channel_id"] == sandbox.stream_channel_id]
                       ["user_id"].astype(str))
        assert watching == expected
    finally:
        panel.close()
