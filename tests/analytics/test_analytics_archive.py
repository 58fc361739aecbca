"""The Parquet archive: its layout, reading it without mezon_nb, rolls, reopening and crashes.

* the files are plain hive Parquet: ``pyarrow.dataset`` (what Dask, Spark and Trino read
  too) gives the per-channel counts of the in-memory log, ids exact;
* a roll only adds files; a reopened log keeps only its tail in memory and continues exactly
  like one that never stopped (hypothesis);
* SIGKILL while recording and rolling loses no acknowledged row and duplicates none; the
  leftovers of an interrupted roll are cleaned up or finished when the archive is opened.
* a ``follow()`` listener gets every row recorded after its table, across a roll.
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from analytics_helpers import BIG_CHANNEL, BIG_USER, at, join, leave, same_after_reopen, workload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_analytics_durable import expected_rows, run_and_kill, same_rows
from test_analytics_engines import op, replay

from mezon_nb.analytics import LogSchemaError, ParticipantLog
from mezon_nb.analytics.archive import EventArchive
from mezon_nb.analytics.durable import SqliteSink
from mezon_nb.analytics.reconcile import time_ns
from mezon_nb.analytics.store import ColumnStore

pytest.importorskip("duckdb")


def test_pyarrow_reads_the_archive_with_the_logs_counts(tmp_path):
    events = workload(3000, channels=3) + [join(60, BIG_USER, channel=BIG_CHANNEL, clan="2")]
    memory = ParticipantLog()
    memory.extend(events)
    with ParticipantLog(archive=tmp_path, roll_rows=1000) as log:
        log.extend(events)
        log.roll()
    files = sorted(p.relative_to(tmp_path / "events").parts[:2]
                   for p in (tmp_path / "events").rglob("*.parquet"))
    assert ("date=2026-01-01", "clan_id=1") in files and ("date=2026-01-01", "clan_id=2") in files
    dataset = ds.dataset(tmp_path / "events", format="parquet", partitioning="hive")
    table = dataset.to_table(columns=["channel_id", "user_id", "kind"])
    counts = table.group_by("channel_id").aggregate([("kind", "count")]).to_pylist()
    got = {str(r["channel_id"]): r["kind_count"] for r in counts}
    want = memory.events["channel_id"].astype(str).value_counts().to_dict()
    assert got == want
    users = set(map(str, pc.unique(table["user_id"]).to_pylist()))
    assert BIG_USER in users  # an int64 above 2**53, exact
    big = dataset.to_table(filter=ds.field("clan_id") == 2)
    assert big.num_rows == 1 and big["channel_id"].to_pylist() == [int(BIG_CHANNEL)]


def test_files_are_sorted_and_never_rewritten(tmp_path):
    with ParticipantLog(archive=tmp_path, roll_rows=10**9) as log:
        log.extend(workload(2000))
        log.roll()
        first = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in log._archive.files()}
        log.extend(workload(2000)[::-1][:10])  # out of order and again
        log.roll()
        assert {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in first} == first
        assert len(log._archive.files()) == len(first) + 1
    for path in first:
        t = ds.dataset(path, format="parquet").to_table().to_pandas()
        keys = t[["channel_id", "user_id", "time", "seq"]]
        assert keys.equals(keys.sort_values(list(keys.columns), ignore_index=True))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, max_size=30), cut=st.integers(0, 30), roll_rows=st.sampled_from([2, 5]))
def test_a_reopened_archive_log_continues_like_an_uninterrupted_one(tmp_path_factory, ops, cut,
                                                                    roll_rows):
    whole = ParticipantLog()
    replay(whole, ops)
    path = tmp_path_factory.mktemp("reopen")
    with ParticipantLog(archive=path, roll_rows=roll_rows) as first:
        replay(first, ops[:cut])
        before = len(first)
    with ParticipantLog(archive=path, roll_rows=roll_rows) as second:
        assert len(second) == before  # only the rows not rolled are loaded into memory
        assert len(second._store) == before - second._archive.state.rolled
        replay(second, ops[cut:], start=sum(o[3] for o in ops[:cut]))
        got = second.events
    same_after_reopen(got, whole.events, before)


def test_sigkill_while_rolling_keeps_every_acknowledged_row(tmp_path):
    acked = run_and_kill(tmp_path, "flush", 12, archive=True)
    assert acked >= 6000  # past a few rolls
    with ParticipantLog(archive=tmp_path) as log:
        events = log.events
        assert not list((tmp_path / "events").rglob("*.tmp"))
    assert len(events) >= acked
    same_rows(events.iloc[:acked], expected_rows(acked))


def test_an_interrupted_roll_is_cleaned_up_or_finished(tmp_path):
    with ParticipantLog(archive=tmp_path, roll_rows=10**9) as log:
        log.extend([join(0, "5"), join(1, "7")])
        log.roll()
        log.extend([leave(2, "5")])
    archive = EventArchive(tmp_path)
    committed = archive.files()
    # a roll that wrote a file but died before its commit: the file is not part of the archive
    orphan = committed[0].with_name(f"part-{archive.state.rolled:016d}.parquet")
    orphan.write_bytes(committed[0].read_bytes())
    # ... and one that had started the next segment: the older one is complete, roll it now
    store = ColumnStore()
    sink = SqliteSink(archive.tail_path(archive.state.rolled + 1), store, threading.Lock())
    store.append((time_ns(at(3)), "left", "live", "1", "6", "7", None))
    sink.close()
    with ParticipantLog(archive=tmp_path) as log:
        # the orphan copy is gone; the file now there is the finished roll's (seq 2: one row)
        assert ds.dataset(orphan, format="parquet").to_table()["seq"].to_pylist() == [2]
        assert [p.name for p in log._archive.tail_segments()] == [sink.path.name]
        assert log.events[["kind", "user_id"]].astype(object).values.tolist() == [
            ["joined", "5"], ["joined", "7"], ["left", "5"], ["left", "7"]]
        assert log.sessions()["open"].tolist() == [False, False]


def test_bad_input_gets_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="not both"):
        ParticipantLog(tmp_path / "x.sqlite", archive=tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        ParticipantLog(archive=tmp_path / "file")
    with ParticipantLog(archive=tmp_path / "a") as log:
        with pytest.raises(ValueError, match="'duckdb' or 'memory'"):
            log.engine("spark")
        log.record(join(0, "not-a-snowflake"))
        with pytest.raises(LogSchemaError, match="not an int64 id"):
            log.roll()
        assert len(log._store) == 1 and not log._rolling  # the row stays in the tail
    with ParticipantLog(archive=tmp_path / "a") as log:  # and the log still opens
        assert len(log) == 1
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "state.json").write_text("{not json")
    with pytest.raises(LogSchemaError, match="not a participant-log archive state"):
        ParticipantLog(archive=tmp_path / "b")


def test_memory_engine_of_an_archive_log_loads_the_history(tmp_path):
    with ParticipantLog(archive=tmp_path, roll_rows=500) as log:
        log.extend(workload(2000))
        log.describe_channels({"100": ("1", "Main")})
        memory = log.engine("memory")
        assert len(memory) == len(log) > 2000 and memory.channel_labels["100"] == "Main"
        assert np.array_equal(memory.summary()["sessions"], log.summary()["sessions"])
        assert log.summary()["channel_label"].astype(object).tolist()[0] == "Main"


def test_a_follower_gets_every_row_across_a_roll(tmp_path):
    # a roll replaces the in-memory tail: follow() must count rows in the whole history
    with ParticipantLog(archive=tmp_path, roll_rows=10**9) as log:
        log.record(join(0, "11"))
        log.record(join(1, "12"))
        seen = []
        table, stop = log.follow(seen.append)
        log.record(join(2, "13"))
        log.roll()
        log.record(join(3, "14"))
        log.record(leave(4, "11"))
        stop()
    assert len(table) == 2
    assert [(row["kind"], row["user_id"]) for row in seen] == [
        ("joined", "13"), ("joined", "14"), ("left", "11")]


def test_a_chat_message_does_not_name_a_user_after_a_reopen(tmp_path):
    """Found by the property test above (CI, 2026-12-03): only a join names a user for the
    leaves that follow, live and after a reopen alike; a chat message's sender name did after
    a reopen only."""
    from test_analytics_engines import replay as replay_ops
    ops = [("join", "1", "6", 0, [])] * 16 + [("chat", "2", "6", 0, [])] + [
        ("join", "1", "6", 0, [])] * 2 + [("leave", "2", "6", 0, [])]
    whole = ParticipantLog()
    replay_ops(whole, ops)
    with ParticipantLog(archive=tmp_path, roll_rows=2) as first:
        replay_ops(first, ops[:17])
        before = len(first)
    with ParticipantLog(archive=tmp_path, roll_rows=2) as second:
        replay_ops(second, ops[17:], start=0)
        got = second.events
    same_after_reopen(got, whole.events, before)
