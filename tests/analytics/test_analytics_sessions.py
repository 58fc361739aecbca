"""Sessionisation rules against hand-computed sessions on small logs.

Not covered here: ingest rules that synthesise rows (test_analytics_reconcile.py) and random
sequences (test_analytics_properties.py).
"""

from __future__ import annotations

import pandas as pd
from analytics_helpers import ended, join, leave, mins, rows, started, ts

from mezon_nb.analytics import ParticipantLog, schema

COLS = ("channel_id", "user_id", "joined_at", "left_at", "duration", "open", "start_unknown",
        "reconciled")


def log_of(*events):
    log = ParticipantLog()
    log.extend(events)
    return log


def test_join_leave_pairs_and_an_open_session():
    log = log_of(join(0, "5"), join(10, "7"), leave(30, "5"), join(40, "5"), leave(45, "7"))
    assert rows(log.sessions(), *COLS) == [
        ("6", "5", ts(0), ts(30), mins(30), False, False, False),
        ("6", "7", ts(10), ts(45), mins(35), False, False, False),
        ("6", "5", ts(40), None, mins(5), True, False, False),  # open: measured to last event
    ]


def test_until_measures_open_sessions_to_that_time():
    log = log_of(join(0, "5"), join(10, "7"), leave(20, "7"))
    s = log.sessions(until=ts(60))
    assert s["duration"].tolist() == [mins(60), mins(10)]


def test_leave_without_join_has_unknown_start():
    s = log_of(leave(5, "5"), join(10, "5"), leave(20, "5")).sessions()
    assert rows(s, *COLS) == [
        ("6", "5", None, ts(5), None, False, True, False),
        ("6", "5", ts(10), ts(20), mins(10), False, False, False),
    ]


def test_repeated_join_continues_and_repeated_leave_confirms():
    s = log_of(join(0, "5"), join(5, "5"), leave(10, "5"), leave(12, "5")).sessions()
    assert rows(s, "joined_at", "left_at", "start_unknown") == [(ts(0), ts(10), False)]


def test_stream_end_closes_sessions_then_late_leaves_add_nothing():
    log = log_of(started(0), join(1, "5"), join(2, "7"), ended(10), leave(11, "5"))
    s = log.sessions()
    assert rows(s, "user_id", "left_at", "reconciled") == [("5", ts(10), True),
                                                           ("7", ts(10), True)]


def test_participant_and_label_are_filled():
    log = log_of(join(0, "5", name="ann", label="Live"), leave(9, "5"))
    assert log.events["participant"].tolist() == ["ann", "ann"]
    assert log.events["channel_label"].tolist() == ["Live", "Live"]
    assert log.sessions()[["participant", "channel_label"]].values.tolist() == [["ann", "Live"]]


def test_sessions_of_many_channels_are_ordered_by_start():
    log = log_of(join(0, "5", channel="8"), join(1, "7"), leave(3, "5", channel="8"),
                 leave(4, "7"))
    assert rows(log.sessions(), "channel_id", "joined_at") == [("8", ts(0)), ("6", ts(1))]


def test_out_of_order_table_gives_the_same_sessions():
    events = log_of(join(0, "5"), leave(10, "5"), join(20, "5"), leave(25, "5")).events
    shuffled = events.iloc[[2, 0, 3, 1]].reset_index(drop=True)
    from mezon_nb.analytics.sessions import sessions
    pd.testing.assert_frame_equal(sessions(shuffled), sessions(events))


def test_empty_log_has_typed_empty_frames():
    log = ParticipantLog()
    s = log.sessions()
    assert tuple(s.columns) == schema.SESSION_COLUMNS and len(s) == 0
    assert str(s["joined_at"].dtype) == "datetime64[ns, UTC]"
    assert str(s["duration"].dtype) == "timedelta64[ns]"
    assert s["open"].dtype == bool
    for frame, cols in ((log.events, schema.EVENT_COLUMNS), (log.summary(), schema.SUMMARY_COLUMNS),
                        (log.users(), schema.USER_COLUMNS),
                        (log.concurrency(), schema.CONCURRENCY_COLUMNS),
                        (log.concurrency(freq=None), schema.CONCURRENCY_COLUMNS),
                        (log.retention(), schema.RETENTION_COLUMNS)):
        assert tuple(frame.columns) == cols and len(frame) == 0
    assert log.events["kind"].dtype == schema.KIND
    assert log.events["source"].dtype == schema.SOURCE
