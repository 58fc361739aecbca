"""Blind intervals in the participant log: ``add_gap``, ``gaps``, ``summary()['blind_time']``,
durable in SQLite (and a version 1 file migrated to hold them).

The client recording them on a real reconnect is tested in tests/client/test_resync_faults.py.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from analytics_helpers import join

from mezon_nb.analytics import ParticipantLog, schema

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _gap(log: ParticipantLog, start_s: float, end_s: float, reason: str = "socket lost") -> None:
    log.add_gap(T0 + timedelta(seconds=start_s), T0 + timedelta(seconds=end_s), reason)


def test_gaps_are_a_utc_table_ordered_by_start():
    log = ParticipantLog()
    _gap(log, 10, 12, "no pong within 10 s")
    _gap(log, 0, 1)
    gaps = log.gaps
    assert tuple(gaps.columns) == schema.GAP_COLUMNS
    assert str(gaps["start"].dtype) == "datetime64[ns, UTC]" == str(gaps["end"].dtype)
    assert gaps["reason"].tolist() == ["socket lost", "no pong within 10 s"]
    assert gaps["start"].iloc[0] == pd.Timestamp(T0)


def test_other_timezones_are_stored_as_utc():
    log = ParticipantLog()
    plus2 = timezone(timedelta(hours=2))
    log.add_gap(datetime(2026, 3, 1, 14, 0, tzinfo=plus2), datetime(2026, 3, 1, 14, 1, tzinfo=plus2),
                "socket lost")
    assert log.gaps["start"].iloc[0] == pd.Timestamp(T0)


def test_summary_reports_the_blind_time_overlaps_counted_once():
    log = ParticipantLog()
    log.extend([join(0, "5"), join(1, "7", channel="8")])
    assert log.summary()["blind_time"].tolist() == [pd.Timedelta(0)] * 2
    _gap(log, 0, 2)
    _gap(log, 1, 3)  # overlaps the first
    _gap(log, 10, 10.5)
    summary = log.summary()
    assert tuple(summary.columns) == schema.SUMMARY_COLUMNS
    assert summary["blind_time"].tolist() == [pd.Timedelta(seconds=3.5)] * 2


@pytest.mark.parametrize("start, end, error", [
    (datetime(2026, 1, 1), datetime(2026, 1, 2), ValueError),  # naive
    (T0, T0 - timedelta(seconds=1), ValueError),  # ends before it starts
    ("not a time", T0, ValueError),
])
def test_bad_gaps_are_refused(start, end, error):
    log = ParticipantLog()
    with pytest.raises(error):
        log.add_gap(start, end, "x")
    with pytest.raises(TypeError):
        log.add_gap(T0, T0, 5)
    assert log.gaps.empty


def test_gaps_are_durable(tmp_path):
    path = tmp_path / "log.sqlite"
    with ParticipantLog(path) as log:
        _gap(log, 0, 2, "socket lost (code 1006)")
    with ParticipantLog(path) as again:
        assert again.gaps["reason"].tolist() == ["socket lost (code 1006)"]
        assert again.summary().empty  # no sessions: no rows, but no error either
        _gap(again, 5, 6)
    with ParticipantLog(path) as third:
        assert len(third.gaps) == 2


def test_a_version_1_file_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "log.sqlite"
    with ParticipantLog(path) as log:
        log.extend([join(0, "5")])
    with closing(sqlite3.connect(path)) as conn:  # make it what version 1 wrote
        conn.execute("DROP TABLE gaps")
        conn.execute("DROP TABLE snapshots")     # version 3's
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
    with ParticipantLog(path) as old:
        assert len(old) == 1 and old.gaps.empty
        _gap(old, 0, 1)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert conn.execute("SELECT reason FROM gaps").fetchall() == [("socket lost",)]
        assert conn.execute("SELECT count(*) FROM snapshots").fetchone() == (0,)
