"""Ingest rules: snapshots and reconnect diffs, one stream per user, names filled, stream ends.

Not covered here: the client calling ``reconcile`` after a real reconnect (tests/client).
"""

from __future__ import annotations

from analytics_helpers import at, ended, join, leave, rows, snapshot, started, ts

from mezon_nb.analytics import ParticipantLog

EV = ("time", "kind", "channel_id", "user_id", "participant", "source")


def test_first_snapshot_of_a_clan_is_the_baseline():
    log = ParticipantLog()
    log.reconcile(snapshot(("6", "5", "ann"), ("6", "7", "bob")), clan_id="1", at=at(0))
    assert rows(log.events, *EV) == [(ts(0), "joined", "6", "5", "ann", "snapshot"),
                                     (ts(0), "joined", "6", "7", "bob", "snapshot")]
    assert log.sessions()["reconciled"].tolist() == [True, True]


def test_reconnect_records_what_was_missed():
    log = ParticipantLog()
    log.reconcile(snapshot(), clan_id="1", at=at(0))  # the first connect: nobody watching yet
    log.extend([join(0, "5", name="ann"), join(1, "7", name="bob")])
    # offline from 2 to 10: bob left, carl joined, ann stayed
    log.reconcile(snapshot(("6", "5", "ann"), ("6", "9", "carl")), clan_id="1", at=at(10))
    assert rows(log.events, *EV)[2:] == [(ts(10), "left", "6", "7", "bob", "reconciled"),
                                         (ts(10), "joined", "6", "9", "carl", "reconciled")]
    assert rows(log.sessions(), "user_id", "left_at", "open", "reconciled") == [
        ("5", None, True, False), ("7", ts(10), False, True), ("9", None, True, True)]


def test_a_cut_snapshot_records_no_leaves_for_users_it_does_not_list():
    log = ParticipantLog()
    log.reconcile(snapshot(), clan_id="1", at=at(0))
    log.extend([join(0, "5", name="ann"), join(1, "7", name="bob")])
    # the server's list stopped at its row limit: bob is not in it, ann moved, carl is new
    log.reconcile(snapshot(("8", "5", "ann"), ("6", "9", "carl")), clan_id="1", at=at(10),
                  complete=False)
    assert rows(log.events, "kind", "channel_id", "user_id", "source")[2:] == [
        ("left", "6", "5", "reconciled"), ("joined", "8", "5", "reconciled"),
        ("joined", "6", "9", "reconciled")]
    assert sorted(log.sessions().query("open")["user_id"]) == ["5", "7", "9"]


def test_reconcile_only_touches_its_clan():
    log = ParticipantLog()
    log.extend([join(0, "5", clan="1"), join(1, "7", channel="8", clan="2")])
    log.reconcile([], clan_id="2", at=at(5))
    assert rows(log.events, "kind", "user_id", "source")[2:] == [("left", "7", "reconciled")]


def test_integer_ids_in_a_snapshot_become_exact_strings():
    log = ParticipantLog()
    big = 1840651530236071936
    log.reconcile(snapshot((6, big, "ann")), clan_id=1, at=at(0))
    assert log.events["user_id"].tolist() == [str(big)]
    assert log.events["clan_id"].tolist() == ["1"]


def test_joining_a_second_stream_leaves_the_first():
    log = ParticipantLog()
    log.extend([join(0, "5", name="ann"), join(7, "5", channel="8", name="ann")])
    assert rows(log.events, *EV) == [(ts(0), "joined", "6", "5", "ann", "live"),
                                     (ts(7), "left", "6", "5", "ann", "reconciled"),
                                     (ts(7), "joined", "8", "5", "ann", "live")]


def test_leave_takes_the_name_from_the_open_session_or_the_last_seen():
    log = ParticipantLog()
    log.extend([join(0, "5", name="ann"), leave(2, "5"), leave(3, "5", channel="8"),
                leave(4, "7")])
    assert rows(log.events, "participant")[1:] == [("ann",), ("ann",), (None,)]


def test_stream_end_closes_every_session_of_that_channel_only():
    log = ParticipantLog()
    log.extend([started(0), join(1, "5"), join(2, "7"), join(3, "9", channel="8"), ended(5)])
    assert rows(log.events, "kind", "channel_id", "user_id", "source")[4:] == [
        ("ended", "6", None, "live"), ("left", "6", "5", "reconciled"),
        ("left", "6", "7", "reconciled")]
    assert log.sessions()["open"].tolist() == [False, False, True]


def test_describe_channels_labels_past_and_future_rows():
    log = ParticipantLog()
    log.record(join(0, "5"))
    log.describe_channels({"6": ("1", "Live"), "8": ("1", "Q&A")})
    log.record(join(1, "7", channel="8"))
    assert log.events["channel_label"].tolist() == ["Live", "Q&A"]
    assert log.channel_labels == {"6": "Live", "8": "Q&A"}


def test_live_panel_rows_and_unsubscribe(caplog):
    log = ParticipantLog()
    seen = []
    stop = log.on_event(seen.append)

    def broken(row):
        raise ValueError("listener bug")

    log.on_event(broken)
    log.describe_channels({"6": ("1", "Live")})
    log.extend([join(0, "5", name="ann"), join(1, "5", channel="8")])
    assert [(r["kind"], r["channel_id"], r["channel_label"], r["source"]) for r in seen] == [
        ("joined", "6", "Live", "live"), ("left", "6", "Live", "reconciled"),
        ("joined", "8", None, "live")]
    assert seen[0]["time"] == ts(0) and seen[1]["participant"] == "ann"
    assert "listener bug" in caplog.text
    stop()
    log.record(leave(2, "5", channel="8"))
    assert len(seen) == 3


def test_unknown_objects_are_refused_and_earlier_events_kept():
    log = ParticipantLog()
    try:
        log.extend([join(0, "5"), object()])
    except TypeError as exc:
        assert "StreamingJoined" in str(exc)
    else:
        raise AssertionError("expected TypeError")
    assert len(log) == 1


def test_closed_log_refuses_records():
    log = ParticipantLog()
    log.close()
    try:
        log.record(join(0, "5"))
    except RuntimeError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("expected RuntimeError")


def test_a_user_listed_twice_keeps_the_open_session():
    log = ParticipantLog()
    log.record(join(0, "5", channel="8", name="ann"))
    both = snapshot(("6", "5", "ann"), ("8", "5", "ann"), ("6", "7", "bob"))
    for minute in (5, 6):  # reconnecting twice changes nothing more
        log.reconcile(both, clan_id="1", at=at(minute))
    assert rows(log.events, "kind", "channel_id", "user_id", "source") == [
        ("joined", "8", "5", "live"), ("joined", "6", "7", "snapshot")]
    fresh = ParticipantLog()
    fresh.reconcile(snapshot(("6", "5", "ann"), ("8", "5", "ann")), clan_id="1", at=at(0))
    assert rows(fresh.events, "kind", "channel_id") == [("joined", "8")]


def test_live_events_newer_than_the_snapshot_win():
    """Events that arrive while the snapshot is in flight are newer than what it lists."""
    log = ParticipantLog()
    log.reconcile(snapshot(("6", "5", "ann")), clan_id="1", at=at(0))
    # asked at minute 10; meanwhile dan joined (not in the snapshot) and ann left (still in it)
    log.extend([join(10.1, "8", name="dan"), leave(10.2, "5")])
    log.reconcile(snapshot(("6", "5", "ann")), clan_id="1", at=at(10))
    assert rows(log.events, *EV)[1:] == [(ts(10.1), "joined", "6", "8", "dan", "live"),
                                         (ts(10.2), "left", "6", "5", "ann", "live")]
    assert rows(log.sessions(), "user_id", "open") == [("5", False), ("8", True)]


def test_first_snapshot_is_a_baseline_even_after_early_live_events():
    """At the first connect, live events may beat the snapshot reply: rows stay `snapshot`."""
    log = ParticipantLog()
    log.extend([join(0.01, "8", name="dan")])
    log.reconcile(snapshot(("6", "5", "ann")), clan_id="1", at=at(0))
    assert rows(log.events, "user_id", "kind", "source") == [
        ("8", "joined", "live"), ("5", "joined", "snapshot")]


def test_after_a_reload_the_first_snapshot_reconciles(tmp_path):
    """A reopened log may have missed events while nothing ran: its snapshot rows say so."""
    path = tmp_path / "log.sqlite"
    with ParticipantLog(log_path=path) as log:
        log.reconcile(snapshot(("6", "5", "ann")), clan_id="1", at=at(0))
    with ParticipantLog(log_path=path) as log:
        log.reconcile(snapshot(("6", "9", "carl")), clan_id="1", at=at(30))
        assert rows(log.events, "user_id", "kind", "source")[1:] == [
            ("5", "left", "reconciled"), ("9", "joined", "reconciled")]
