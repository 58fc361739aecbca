"""Concurrency (exact and binned), retention and the summaries against hand-computed answers.

Not covered here: invariants on random logs (test_analytics_properties.py).
"""

from __future__ import annotations

import pandas as pd
from analytics_helpers import join, leave, mins, rows, ts

from mezon_nb.analytics import ParticipantLog


def log_of(*events):
    log = ParticipantLog()
    log.extend(events)
    return log


#: ch 6: 5 [0,30), 7 [10,45), 5 [40, open) ; ch 8: 9 [5, 6); leave of 3 with unknown start.
EXAMPLE = (join(0, "5"), join(5, "9", channel="8"), leave(6, "9", channel="8"), join(10, "7"),
           leave(12, "3"), leave(30, "5"), join(40, "5"), leave(45, "7"), join(50, "9", channel="8"),
           leave(50, "9", channel="8"))


def test_exact_steps_per_channel():
    c = log_of(*EXAMPLE).concurrency(freq=None)
    assert rows(c, "channel_id", "time", "viewers") == [
        ("6", ts(0), 1), ("6", ts(10), 2), ("6", ts(30), 1), ("6", ts(40), 2), ("6", ts(45), 1),
        ("8", ts(5), 1), ("8", ts(6), 0),  # the zero-length session at 50 never shows
    ]


def test_binned_is_the_max_within_each_bin():
    c = log_of(*EXAMPLE).concurrency(freq="20min", channel_id="6")
    assert rows(c, "time", "viewers") == [(ts(0), 2), (ts(20), 2), (ts(40), 2)]
    c = log_of(*EXAMPLE).concurrency(freq="20min", channel_id="6", until=ts(75))
    assert rows(c, "time", "viewers") == [(ts(0), 2), (ts(20), 2), (ts(40), 2), (ts(60), 1)]


def test_binned_carries_the_count_into_quiet_bins():
    c = log_of(join(0, "5"), leave(35, "5")).concurrency(freq="10min")
    assert c["viewers"].tolist() == [1, 1, 1, 1]


def test_retention_kaplan_meier_by_hand():
    # durations: 30 (left), 35 (left), 1 (left, ch 8), 0 (left, ch 8), 10 (open -> censored)
    r = log_of(*EXAMPLE).retention()
    assert rows(r, "duration", "at_risk", "left", "censored") == [
        (mins(0), 5, 1, 0), (mins(1), 4, 1, 0), (mins(10), 3, 0, 1), (mins(30), 2, 1, 0),
        (mins(35), 1, 1, 0)]
    assert r["retained"].round(6).tolist() == [0.8, 0.6, 0.6, 0.3, 0.0]


def test_retention_of_one_channel_starts_at_one():
    r = log_of(*EXAMPLE).retention(channel_id="6")
    assert r["duration"].iloc[0] == mins(0) and r["retained"].iloc[0] == 1.0
    assert r["retained"].round(6).tolist() == [1.0, 1.0, 0.5, 0.0]


def test_summary_by_hand():
    s = log_of(*EXAMPLE).summary()
    assert rows(s, "channel_id", "unique_viewers", "sessions", "peak_viewers", "peak_at",
                "total_watch", "median_watch", "returning_viewers") == [
        ("6", 3, 4, 2, ts(10), mins(75), mins(30), 1),
        ("8", 1, 2, 1, ts(5), mins(1), mins(0.5), 1),
    ]


def test_users_by_hand():
    u = log_of(*EXAMPLE).users()
    assert rows(u, "user_id", "participant", "sessions", "total_watch", "first_seen",
                "last_seen", "channels") == [
        ("5", "u5", 2, mins(40), ts(0), ts(40), 1),
        ("9", "u9", 2, mins(1), ts(5), ts(50), 1),
        ("7", "u7", 1, mins(35), ts(10), ts(45), 1),
        ("3", None, 1, mins(0), ts(12), ts(12), 1),  # a leave only: no name, no watch time
    ]


def test_frames_are_new_objects():
    log = log_of(*EXAMPLE)
    a, b = log.events, log.events
    a.loc[0, "source"] = "snapshot"
    assert b.loc[0, "source"] == "live" and isinstance(a, pd.DataFrame)


def test_time_weighted_mean_bins_by_hand():
    # ch 6 from 0 to 45: [0,10) 1, [10,30) 2, [30,40) 1, [40,45) 2; log ends at 50 with 1 open
    c = log_of(*EXAMPLE).concurrency(freq="20min", channel_id="6", how="mean")
    assert rows(c, "time") == [(ts(0),), (ts(20),), (ts(40),)]
    assert c["viewers"].round(6).tolist() == [1.5, 1.5, round((2 * 5 + 1 * 5) / 10, 6)]
    try:
        log_of(*EXAMPLE).concurrency(how="median")
    except ValueError as exc:
        assert "how=" in str(exc)
    else:
        raise AssertionError("expected ValueError")
