"""The SQLite log: reopen after close, schema version checks, and SIGKILL mid-ingest.

The kill tests run a child process that records events into a durable log and prints
``ack N`` after each ``flush()`` returns; the parent kills it with SIGKILL while it is still
writing, reopens the file and checks that every acknowledged row is there, exactly.
Not covered: OS crashes and power loss (the docstring says what ``synchronous=NORMAL`` risks).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from analytics_helpers import BIG_USER, at, join, leave, snapshot

from mezon_nb.analytics import LogInUseError, LogSchemaError, ParticipantLog, schema

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys, time
sys.path[:0] = [sys.argv[3], sys.argv[4]]
from analytics_helpers import workload
from mezon_nb.analytics import ParticipantLog
mode, *archive = sys.argv[5:]
if archive:  # a log over a Parquet archive, rolling every few thousand rows
    log = ParticipantLog(archive=sys.argv[1], flush_interval=float(sys.argv[2]), roll_rows=3000)
else:
    log = ParticipantLog(sys.argv[1], flush_interval=float(sys.argv[2]))
events = workload(100_000)
for i, event in enumerate(events):
    log.record(event)
    if mode == "flush" and i % 500 == 499:
        log.flush()
        print("ack", len(log), flush=True)
    if mode == "sleep" and i == 999:
        time.sleep(1.0)
        print("ack", len(log), flush=True)
print("done", flush=True)
"""


def run_and_kill(path: Path, mode: str, acks_wanted: int, archive: bool = False) -> int:
    """Start the writer, wait for ``acks_wanted`` acks, SIGKILL it; return the last ack."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), "0.1", str(ROOT), str(Path(__file__).parent),
         mode, *(["archive"] if archive else [])], stdout=subprocess.PIPE, text=True)
    acked, deadline = 0, time.monotonic() + 60
    try:
        for _ in range(10_000):  # bounded: the child prints at most 201 lines
            line = proc.stdout.readline()
            if not line or line.startswith("done") or time.monotonic() > deadline:
                break
            acked = int(line.split()[1])
            acks_wanted -= 1
            if acks_wanted == 0:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, "the child finished before it was killed"
    return acked


def expected_rows(n: int) -> pd.DataFrame:
    from analytics_helpers import workload

    log = ParticipantLog()
    log.extend(workload(n + 10))
    return log.events.iloc[:n]


def same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    for c in got.columns:
        assert got[c].astype(object).tolist() == want[c].astype(object).tolist(), c


@pytest.mark.parametrize("mode, acks", [("flush", 5), ("sleep", 1)])
def test_sigkill_keeps_every_acknowledged_row(tmp_path, mode, acks):
    path = tmp_path / "log.sqlite"
    acked = run_and_kill(path, mode, acks)
    assert acked >= 1000
    with ParticipantLog(path) as log:
        events = log.events
    assert len(events) >= acked
    same_rows(events.iloc[:acked], expected_rows(acked))


def test_reopen_restores_rows_labels_and_who_is_watching(tmp_path):
    path = tmp_path / "log.sqlite"
    with ParticipantLog(path) as log:
        log.describe_channels({"6": ("1", "Live")})
        log.extend([join(0, BIG_USER, name="ann"), join(1, "7", name="bob")])
        before = log.events
    with ParticipantLog(path) as log:
        pd.testing.assert_frame_equal(log.events, before)
        log.record(leave(5, BIG_USER))  # the name comes from the session opened before
        log.reconcile(snapshot(), clan_id="1", at=at(6))  # "reconciled": the clan is known
        tail = log.events.iloc[2:][["kind", "user_id", "participant", "source"]]
    assert tail.astype(object).values.tolist() == [["left", BIG_USER, "ann", "live"],
                                                   ["left", "7", "bob", "reconciled"]]
    with ParticipantLog(path) as log:
        assert len(log) == 4 and log.channel_labels == {"6": "Live"}


@pytest.mark.parametrize("store", ["log_path", "archive"])
def test_an_empty_snapshot_before_a_reload_still_counts_as_the_baseline(tmp_path, store):
    where = {store: tmp_path / ("log.sqlite" if store == "log_path" else "archive")}
    with ParticipantLog(**where) as log:
        log.reconcile(snapshot(), clan_id="1", at=at(0))    # nobody watches: no row
        assert len(log) == 0
    with ParticipantLog(**where) as log:                    # the clan's baseline is known
        log.reconcile(snapshot(("6", "5", "ann")), clan_id="1", at=at(5))
        log.reconcile(snapshot(("6", "7", "bob")), clan_id="2", at=at(5))     # a new clan
        got = log.events[["clan_id", "user_id", "source"]].astype(object).values.tolist()
    assert got == [["1", "5", "reconciled"], ["2", "7", "snapshot"]]


def test_unflushed_rows_are_committed_by_the_background_writer(tmp_path):
    log = ParticipantLog(tmp_path / "log.sqlite", flush_interval=0.05)
    log.record(join(0, "5"))
    for _ in range(100):  # bounded wait, up to 5 s
        if log._sink.committed == 1:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the row was not committed within 5 s")
    log.close()


def test_one_log_per_file_at_a_time(tmp_path):
    path = tmp_path / "log.sqlite"
    with ParticipantLog(path):
        with pytest.raises(LogInUseError, match="already open in this process"):
            ParticipantLog(path)
        with closing(sqlite3.connect(path, timeout=0.1)) as conn, \
                pytest.raises(sqlite3.OperationalError, match="locked"):  # plain readers too
            conn.execute("select count(*) from events").fetchone()
    ParticipantLog(path).close()  # free again once closed
    other = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(ROOT)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "open"
        with pytest.raises(LogInUseError, match="is open elsewhere"):
            ParticipantLog(path)
    finally:
        other.kill()
        other.wait(timeout=30)
        other.stdout.close()
    ParticipantLog(path).close()  # a killed holder releases the file


HOLDER = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
from mezon_nb.analytics import ParticipantLog
log = ParticipantLog(sys.argv[1])
print("open", flush=True)
time.sleep(60)
"""


def test_a_newer_schema_version_is_refused(tmp_path):
    path = tmp_path / "log.sqlite"
    ParticipantLog(path).close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(LogSchemaError, match=f"schema version 99; this mezon_nb reads up to {schema.SCHEMA_VERSION}"):
        ParticipantLog(path)


def test_a_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("create table notes (x)")
    with pytest.raises(LogSchemaError, match="not a participant log"):
        ParticipantLog(path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the bytes of an SQLite database" * 100)
    with pytest.raises(LogSchemaError, match="not a participant log"):
        ParticipantLog(path)


def test_the_file_reads_as_text_through_its_view(tmp_path):
    path = tmp_path / "log.sqlite"
    with ParticipantLog(path) as log:
        log.record(join(0, BIG_USER, name="ann"))
        log.record(leave(1, BIG_USER))
    with closing(sqlite3.connect(path)) as conn:
        got = conn.execute("select kind, source, clan_id, user_id, typeof(user_id), participant "
                           "from events_text order by seq").fetchall()
    assert got == [("joined", "live", "1", BIG_USER, "text", "ann"),
                   ("left", "live", "1", BIG_USER, "text", "ann")]


def test_a_failed_commit_keeps_the_rows_for_the_next_one(tmp_path):
    log = ParticipantLog(tmp_path / "log.sqlite", flush_interval=60)
    real = log._sink._conn

    class Failing:
        def execute(self, sql, *args):
            if sql == "COMMIT":
                raise sqlite3.OperationalError("disk I/O error")
            return real.execute(sql, *args)

        def executemany(self, sql, rows):
            return real.executemany(sql, rows)

    log.describe_channels({"6": ("1", "Live")})
    log.record(join(0, "5"))
    log._sink._conn = Failing()
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        log.flush()
    log._sink._conn = real
    log.record(leave(1, "5"))
    log.close()
    with ParticipantLog(tmp_path / "log.sqlite") as again:
        assert again.events["kind"].tolist() == ["joined", "left"]
        assert again.channel_labels == {"6": "Live"}


def test_record_does_not_wait_for_a_slow_disk(tmp_path):
    log = ParticipantLog(tmp_path / "log.sqlite", flush_interval=60)
    real = log._sink._conn
    writing, release = threading.Event(), threading.Event()

    class Slow:
        def execute(self, sql, *args):
            return real.execute(sql, *args)

        def executemany(self, sql, rows):
            writing.set()
            release.wait(60)  # a commit stuck on the disk until the test lets it go
            return real.executemany(sql, rows)

    log.record(join(0, "5"))
    log._sink._conn = Slow()
    flusher = threading.Thread(target=log.flush)
    flusher.start()
    try:
        assert writing.wait(10)
        recorder = threading.Thread(
            target=lambda: [log.record(join(1 + i, str(100 + i))) for i in range(100)])
        recorder.start()
        recorder.join(timeout=30)
        # every record() returned while the write was still stuck: none waited for it
        assert not recorder.is_alive() and not release.is_set()
    finally:
        release.set()
    flusher.join(timeout=30)
    log._sink._conn = real
    log.close()
    with ParticipantLog(tmp_path / "log.sqlite") as again:
        assert len(again) == 101
