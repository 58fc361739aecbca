"""Same answers from both engines: random histories through the in-memory log and through an
archive log (rolled into Parquet every few rows, queried by DuckDB), every frame compared.

Histories mix joins, leaves without a join, repeated joins and leaves, stream ends, chat
messages, reconnect snapshots (complete or cut), blind intervals (``log.add_gap``, some
overlapping), several channels and clans, and gaps of up to two days so rows fall into several
``date=`` partitions; some sessions stay open.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest
from analytics_helpers import BIG_CHANNEL, BIG_USER, at, ended, join, leave, snapshot
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mezon_nb.analytics import ParticipantLog
from mezon_nb.analytics.outofcore import ArchiveAnalytics, rebuild_cache
from mezon_nb.core.events import ChannelMessage

pytest.importorskip("duckdb")

USERS = ["1", "2", "3", BIG_USER]
CHANNELS = ["6", "8", BIG_CHANNEL]
CLAN_OF = {"6": "1", "8": "1", BIG_CHANNEL: "2"}
# minutes: ties, small steps, a jump to another day, and a step back (a row older than the
# newest: a roll with one leaves the session cache behind, the events answer instead)
GAPS = [0, 0, 1, 3, 7, 60 * 24 + 5, -2]

op = st.tuples(
    st.sampled_from(["join", "join", "join", "leave", "leave", "end", "chat", "snap", "cut", "blind"]),
    st.sampled_from(USERS), st.sampled_from(CHANNELS), st.sampled_from(GAPS),
    st.lists(st.tuples(st.sampled_from(CHANNELS), st.sampled_from(USERS)), max_size=3))


def chat(minute, user, channel):
    return ChannelMessage(clan_id=CLAN_OF[channel], channel_id=channel, message_id=str(minute),
                          sender_id=user, username=f"n{user}", display_name="", text="hi",
                          content="", code=0, channel_label="", create_time=None,
                          received_at=at(minute))


def replay(log: ParticipantLog, ops, start: int = 0) -> None:
    minute = start
    for kind, user, channel, gap, snap in ops:
        minute += gap
        clan = CLAN_OF[channel]
        if kind == "join":
            log.record(join(minute, user, channel=channel, clan=clan,
                            label="Big" if channel == BIG_CHANNEL else ""))
        elif kind == "leave":
            log.record(leave(minute, user, channel=channel, clan=clan))
        elif kind == "end":
            log.record(ended(minute, channel=channel, clan=clan))
        elif kind == "chat":
            log.record(chat(minute, user, channel))
        elif kind == "blind":  # lost from `gap` + 2 minutes ago until now
            log.add_gap(at(minute - gap - 2), at(minute), f"socket lost ({user})")
        else:
            rows = [(c, u, f"u{u}") for c, u in snap if CLAN_OF[c] == clan]
            log.reconcile(snapshot(*rows), clan_id=clan, at=at(minute), complete=kind == "snap")


def same(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    """Equal columns, dtypes and values; categoricals compared by value (their category lists
    hold every id of the log in memory, only the ids present from DuckDB)."""
    assert list(got.columns) == list(want.columns), what
    for c in want.columns:
        if isinstance(want[c].dtype, pd.CategoricalDtype):
            assert isinstance(got[c].dtype, pd.CategoricalDtype), (what, c)
            assert got[c].cat.categories.dtype == want[c].cat.categories.dtype, (what, c)
        else:
            assert got[c].dtype == want[c].dtype, (what, c, got[c].dtype, want[c].dtype)
    pd.testing.assert_frame_equal(got, want, check_categorical=False, check_dtype=False,
                                  check_exact=True,
                                  obj=what)


def compare(memory: ParticipantLog, db) -> None:
    last = memory.events["time"].max() if len(memory) else None
    same(db.events(), memory.events, "events")
    same(db.gaps, memory.gaps, "gaps")
    same(db.sessions(), memory.sessions(), "sessions")
    same(db.summary(), memory.summary(), "summary")
    same(db.users(), memory.users(), "users")
    same(db.retention(), memory.retention(), "retention")
    same(db.concurrency(freq=None), memory.concurrency(freq=None), "steps")
    for freq, how in (("7min", "max"), ("1h", "mean")):
        same(db.concurrency(freq, how=how, until=last), memory.concurrency(freq, how=how),
             f"concurrency {freq} {how}")
    same(db.chat_activity("30min", until=last), memory.chat_activity("30min"), "chat")
    for channel in CHANNELS:
        same(db.retention(channel), memory.retention(channel), f"retention {channel}")
        same(db.concurrency("3min", channel), memory.concurrency("3min", channel), channel)
        window = {"start": at(30), "end": at(60 * 24 + 30)}
        same(db.sessions(channel_id=channel, **window),
             memory.sessions(channel_id=channel, **window), f"sessions {channel}")
    if last is not None:
        later = last + pd.Timedelta(minutes=90)
        same(db.summary(until=later), memory.summary(until=later), "summary until")
        same(db.sessions(until=later), memory.sessions(until=later), "sessions until")


#: 30 examples keep the suite quick; ENGINES_EXAMPLES=300 for a deeper run by hand
EXAMPLES = int(os.environ.get("ENGINES_EXAMPLES", "30"))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, max_size=40), roll_rows=st.sampled_from([1, 3, 10, 1000]))
@example(ops=[("join", "1", "6", 0, []), ("join", "1", "6", 0, []), ("leave", "1", "6", 1, []),
              ("leave", "1", "6", 0, []), ("leave", "2", "8", 60 * 24 + 5, [])], roll_rows=2)
# a session of zero length (joined and left in one instant): no step, no peak
@example(ops=[("join", "1", "6", 0, []), ("join", "1", "8", 0, [])], roll_rows=1)
def test_duckdb_over_the_archive_gives_the_in_memory_frames(tmp_path_factory, ops, roll_rows):
    memory = ParticipantLog()
    replay(memory, ops)
    root = tmp_path_factory.mktemp("archive")
    with ParticipantLog(archive=root, roll_rows=roll_rows) as log:
        replay(log, ops)
        if roll_rows == 3:
            log.roll()  # everything in files, nothing in the tail
        with log.engine("duckdb", memory_limit="256MB", threads=1) as db:
            compare(memory, db)
    # reopened: the gaps committed by the rolls and those of the tail are all there
    with ParticipantLog(archive=root) as again, again.engine("duckdb", threads=1) as db:
        same(db.gaps, memory.gaps, "gaps reopened")
        same(db.summary(), memory.summary(), "summary reopened")
        if not any(gap < 0 for _, _, _, gap, _ in ops):  # rows in time order: cached
            assert db.cached
    # the committed files alone: sessions from the session cache (as rolled, then rebuilt
    # from the events) and from the events agree
    for step in ("rolled", "rebuilt"):
        if step == "rebuilt":
            rebuild_cache(root, threads=1)
        with ArchiveAnalytics(root, threads=1) as cached, \
                ArchiveAnalytics(root, cache=False, threads=1) as events:
            assert not events.cached and (cached.cached or step == "rolled")
            for name in ("sessions", "summary", "users", "retention"):
                same(getattr(cached, name)(), getattr(events, name)(), f"{name}, {step}")
            same(cached.concurrency(None), events.concurrency(None), f"steps, {step}")
