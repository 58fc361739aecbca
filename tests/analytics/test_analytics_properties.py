"""Invariants on random event sequences (hypothesis), fed through the log's ingest rules.

* the exact concurrency is never negative and equals, at every instant it reports and every
  event time, the number of known-start sessions with ``joined_at <= t < left_at``;
* the total watch time equals the integral of the concurrency step function up to ``until``;
* binned concurrency is the maximum of the exact step function over each bin;
* a user has at most one open session; a Parquet round trip gives the same sessions;
* a durable log closed and reopened mid-sequence ends with exactly the rows of one that never
  stopped (the ingest state is rebuilt from the file).

Not covered: out-of-order ingest (the rules assume time order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from analytics_helpers import at, ended, join, leave, same_after_reopen, snapshot, started
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mezon_nb.analytics import ParticipantLog

USERS, CHANNELS = ["1", "2", "3", str(2**62 + 1)], ["6", "8", "9"]

op = st.tuples(
    st.sampled_from(["join", "join", "leave", "leave", "start", "end", "reconcile"]),
    st.sampled_from(USERS), st.sampled_from(CHANNELS), st.integers(0, 4),
    st.lists(st.tuples(st.sampled_from(CHANNELS), st.sampled_from(USERS)), max_size=3))


def build(ops) -> ParticipantLog:
    log = ParticipantLog()
    replay(log, ops, 0)
    return log


def replay(log: ParticipantLog, ops, minute: int) -> None:
    for kind, user, channel, step, snap in ops:
        minute += step
        if kind == "join":
            log.record(join(minute, user, channel=channel))
        elif kind == "leave":
            log.record(leave(minute, user, channel=channel))
        elif kind == "start":
            log.record(started(minute, channel=channel))
        elif kind == "end":
            log.record(ended(minute, channel=channel))
        else:
            log.reconcile(snapshot(*((c, u, f"u{u}") for c, u in snap)), clan_id="1",
                          at=at(minute))


def open_at(sessions: pd.DataFrame, channel: str, t: pd.Timestamp) -> int:
    s = sessions[(sessions["channel_id"] == channel) & ~sessions["start_unknown"]]
    return int(((s["joined_at"] <= t) & (s["left_at"].isna() | (t < s["left_at"]))).sum())


def level_at(steps: pd.DataFrame, channel: str, t: pd.Timestamp) -> int:
    s = steps[(steps["channel_id"] == channel) & (steps["time"] <= t)]
    return int(s["viewers"].iloc[-1]) if len(s) else 0


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(op, max_size=30))
def test_concurrency_counts_open_sessions(ops):
    log = build(ops)
    sessions, steps = log.sessions(), log.concurrency(freq=None)
    assert (steps["viewers"] >= 0).all()
    times = set(log.events["time"]) | set(steps["time"])
    for channel in CHANNELS:
        for t in sorted(times):
            assert level_at(steps, channel, t) == open_at(sessions, channel, t), (channel, t)


@SETTINGS
@given(st.lists(op, max_size=30))
def test_watch_time_is_the_integral_of_concurrency(ops):
    log = build(ops)
    sessions, steps = log.sessions(), log.concurrency(freq=None)
    if not len(log):
        return
    until = log.events["time"].max()
    integral = pd.Timedelta(0)
    for _, part in steps.groupby("channel_id", observed=True):
        ends = list(part["time"].iloc[1:]) + [until]
        integral += sum(((e - t) * v for t, e, v in zip(part["time"], ends, part["viewers"])),
                        pd.Timedelta(0))
    assert sessions["duration"].sum() == integral
    assert sessions.loc[sessions["open"], "user_id"].is_unique


@SETTINGS
@given(st.lists(op, max_size=30), st.sampled_from(["1min", "3min", "7min"]))
def test_binned_is_the_max_of_the_exact_steps(ops, freq):
    log = build(ops)
    exact, binned = log.concurrency(freq=None), log.concurrency(freq=freq)
    step = pd.Timedelta(freq)
    for row in binned.itertuples(index=False):
        inside = exact[(exact["channel_id"] == row.channel_id) & (exact["time"] > row.time)
                       & (exact["time"] < row.time + step)]["viewers"]
        carried = level_at(exact, row.channel_id, row.time)
        assert row.viewers == max([carried, *inside]), row


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, max_size=25))
def test_parquet_round_trip_keeps_sessions(tmp_path_factory, ops):
    log = build(ops)
    path = tmp_path_factory.mktemp("pq") / "e.parquet"
    log.to_parquet(path)
    again = ParticipantLog.read_parquet(path)
    a, b = log.sessions(), again.sessions()
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c].astype(object), b[c].astype(object)
        assert np.array_equal(x.where(x.notna(), -1).to_numpy(),
                              y.where(y.notna(), -1).to_numpy()), c


@SETTINGS
@given(st.lists(op, max_size=30), st.sampled_from(["1min", "4min"]))
def test_time_weighted_bins_integrate_to_the_watch_time(ops, freq):
    log = build(ops)
    mean = log.concurrency(freq=freq, how="mean")
    if not len(mean):
        return
    until = log.events["time"].max()
    width = (np.minimum(mean["time"] + pd.Timedelta(freq), until) - mean["time"]).clip(
        lower=pd.Timedelta(0))
    total = (mean["viewers"] * width.dt.total_seconds()).sum()
    assert abs(total - log.sessions()["duration"].sum().total_seconds()) < 1e-6


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, max_size=30), st.integers(0, 30))
# a join, then a snapshot in the same minute that does not list the user: the live join is
# newer and wins, also after a reload (the latest live time per user is restored)
@example(ops=[("join", "1", "6", 0, []), ("reconcile", "1", "6", 0, [("6", "2")])], cut=1)
# an empty snapshot (no row) before the reload: the reloaded log still knows the clan had its
# baseline, so its next snapshot is "reconciled" as in the uninterrupted log
@example(ops=[("reconcile", "1", "6", 0, []), ("join", "1", "6", 0, []),
              ("reconcile", "1", "6", 0, [("6", "2")])], cut=1)
def test_a_reopened_log_continues_exactly_like_an_uninterrupted_one(tmp_path_factory, ops, cut):
    whole = build(ops)
    path = tmp_path_factory.mktemp("restart") / "log.sqlite"
    with ParticipantLog(path) as first:
        replay(first, ops[:cut], 0)
        before = len(first.events)
    with ParticipantLog(path) as second:  # who watches what, names, clans, last live times
        replay(second, ops[cut:], sum(o[3] for o in ops[:cut]))
        got = second.events
    same_after_reopen(got, whole.events, before)
