"""The archive's session cache: what each roll writes, when the cache stops following (rows out
of time order, archives older than the cache), leaves of unknown start decided across rolls,
an interrupted roll's session files, and a flush that meets a roll."""

from __future__ import annotations

import json
import threading

import pyarrow.parquet as pq
import pytest
from analytics_helpers import join, leave, rows

from mezon_nb.analytics import ParticipantLog
from mezon_nb.analytics.archive import EventArchive
from mezon_nb.analytics.outofcore import ArchiveAnalytics
from mezon_nb.analytics.session_cache import SESSION_SCHEMA, SessionState

pytest.importorskip("duckdb")

SESSION = ("user_id", "joined_at", "left_at", "open", "start_unknown")


def frames(log: ParticipantLog, memory: ParticipantLog) -> None:
    with log.engine("duckdb", threads=1) as db:
        assert rows(db.sessions(), *SESSION) == rows(memory.sessions(), *SESSION)
        assert db.summary().equals(memory.summary())


def test_each_roll_writes_the_sessions_it_closes(tmp_path):
    with ParticipantLog(archive=tmp_path) as log:
        log.extend([join(0, "5"), join(1, "7"), leave(10, "5")])
        log.roll()
        log.extend([leave(20, "7"), join(30, "5")])
        log.roll()
    archive = EventArchive(tmp_path)
    files = archive.session_files()
    assert [f.name for f in files] == ["part-0000000000000000.parquet",
                                       "part-0000000000000003.parquet"]
    first, second = (pq.read_table(f) for f in files)
    assert first.schema.equals(SESSION_SCHEMA) and first.column("user_id").to_pylist() == [5]
    assert second.column("user_id").to_pylist() == [7]   # opened in the first roll
    state = SessionState.of(archive.state)
    assert state.valid and [o[1] for o in state.open] == ["5"]   # joined at 30, still open
    with ArchiveAnalytics(tmp_path, threads=1) as db:
        assert db.cached
        assert db.summary()["sessions"].tolist() == [3]


def test_leaves_of_unknown_start_are_decided_across_rolls(tmp_path):
    history = [[join(0, "5"), leave(5, "5")], [leave(6, "5"), leave(7, "7")], [leave(8, "7")]]
    memory = ParticipantLog()
    with ParticipantLog(archive=tmp_path) as log:
        for part in history:
            log.extend(part)
            memory.extend(part)
            log.roll()
        frames(log, memory)
    # 5's second leave repeats its first; 7's first leave has no start, its second repeats it
    assert rows(memory.sessions(), "user_id", "start_unknown") == [("5", False), ("7", True)]
    # three leaves with nothing open in their roll were written; the query kept one
    assert SessionState.of(EventArchive(tmp_path).state).unknown == 3


def test_a_row_older_than_its_channels_newest_leaves_the_cache(tmp_path):
    memory = ParticipantLog()
    with ParticipantLog(archive=tmp_path) as log:
        for part in ([join(0, "5"), leave(10, "5")], [join(5, "7"), leave(12, "5")]):
            log.extend(part)
            memory.extend(part)
            log.roll()
        with log.engine("duckdb") as db:
            assert not db.cached
        frames(log, memory)
        log.extend([join(20, "9")])   # in time order again: the cache stays behind
        memory.extend([join(20, "9")])
        log.roll()
        frames(log, memory)
    assert not SessionState.of(EventArchive(tmp_path).state).valid


def test_a_rebuild_brings_a_stale_cache_back(tmp_path):
    memory = ParticipantLog()
    parts = ([join(0, "5"), leave(10, "5")], [join(5, "7"), leave(12, "5"), join(13, "8")],
             [leave(20, "7"), leave(21, "8"), join(22, "5")])
    with ParticipantLog(archive=tmp_path) as log:
        for part in parts[:2]:
            log.extend(part)
            memory.extend(part)
            log.roll()
        old = EventArchive(tmp_path).sessions_dir
        log.rebuild_cache(memory_limit="256MB", threads=1)
        assert not old.exists() and log._archive.sessions_dir.name == "sessions-0000000000000005"
        with log.engine("duckdb") as db:
            assert db.cached
        frames(log, memory)
        log.extend(parts[2])      # later rolls carry the rebuilt cache on
        memory.extend(parts[2])
        log.roll()
        frames(log, memory)
    with ParticipantLog(archive=tmp_path) as again, again.engine("duckdb") as db:
        assert db.cached
        assert db.summary().equals(memory.summary())


def test_an_archive_rolled_before_the_cache_reads_the_events(tmp_path):
    memory = ParticipantLog()
    with ParticipantLog(archive=tmp_path) as log:
        log.extend([join(0, "5"), leave(10, "5"), join(11, "7")])
        memory.extend([join(0, "5"), leave(10, "5"), join(11, "7")])
        log.roll()
    state = json.loads((tmp_path / "state.json").read_text())
    del state["sessions"]
    (tmp_path / "state.json").write_text(json.dumps(state))
    with ParticipantLog(archive=tmp_path) as log:
        with log.engine("duckdb") as db:
            assert not db.cached
        frames(log, memory)
        log.rebuild_cache()
        with log.engine("duckdb") as db:
            assert db.cached
        frames(log, memory)


def test_an_interrupted_rolls_session_file_is_removed(tmp_path):
    with ParticipantLog(archive=tmp_path) as log:
        log.extend([join(0, "5"), leave(10, "5")])
        log.roll()
    stray = tmp_path / "sessions" / "part-0000000000000002.parquet"  # past the commit
    stray.write_bytes((tmp_path / "sessions" / "part-0000000000000000.parquet").read_bytes())
    (tmp_path / "sessions" / "part-0000000000000002.parquet.tmp").write_bytes(b"half")
    archive = EventArchive(tmp_path)
    assert [p.name for p in (tmp_path / "sessions").iterdir()] == [
        "part-0000000000000000.parquet"]
    assert len(archive.session_files()) == 1


def test_flushing_while_a_roll_swaps_segments_does_not_deadlock(tmp_path):
    """A commit holds the sink's writer lock and then takes the log's; a roll takes them in
    the same order, so a flush caught between its two locks lets the roll wait, not hang."""
    log = ParticipantLog(archive=tmp_path)
    try:
        log.extend([join(0, "5")])
        sink = log._sink
        rolled = threading.Event()
        with sink.writing():      # a flush that holds the writer lock, about to take the log's
            roller = threading.Thread(target=lambda: (log.roll(), rolled.set()), daemon=True)
            roller.start()
            assert not rolled.wait(0.2)
            # the roll waits for the writer lock without holding the log's lock
            assert log._lock.acquire(timeout=10), "the roll holds the log's lock: deadlock"
            log._lock.release()
        assert rolled.wait(30), "the roll did not finish"
        assert len(log._store) == 0 and len(log) == 1
    finally:
        log.close()
