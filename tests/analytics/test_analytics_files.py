"""Parquet round trips (ids exact, many files combine, version checked), DuckDB, and plots.

Not covered: plot pixels (only titles, labels and lines are checked).
"""

from __future__ import annotations

import duckdb
import matplotlib
import pandas as pd
import pyarrow.parquet as pq
import pytest
from analytics_helpers import BIG_CHANNEL, BIG_USER, join, leave

from mezon_nb.analytics import LogSchemaError, ParticipantLog, demo_events, schema

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def big_log() -> ParticipantLog:
    log = ParticipantLog()
    log.extend([join(0, BIG_USER, channel=BIG_CHANNEL, label="Big"),
                leave(3, BIG_USER, channel=BIG_CHANNEL)])
    return log


def test_round_trip_keeps_ids_exact_and_dtypes(tmp_path):
    log = big_log()
    log.to_parquet(tmp_path / "a.parquet")
    again = ParticipantLog.read_parquet(tmp_path / "a.parquet")
    pd.testing.assert_frame_equal(again.events, log.events)
    assert again.events["user_id"].tolist() == [BIG_USER, BIG_USER]
    assert again.channel_labels == {BIG_CHANNEL: "Big"}
    types = {f.name: str(f.type) for f in pq.read_schema(tmp_path / "a.parquet")}
    assert "string" in types["user_id"] and "timestamp[ns, tz=UTC]" == types["time"]


def test_many_files_combine_in_time_order(tmp_path):
    big_log().to_parquet(tmp_path / "bot1.parquet")
    ParticipantLog.read_parquet([]).to_parquet(tmp_path / "empty.parquet")
    day = ParticipantLog()
    day.extend(demo_events(as_events=True))
    day.to_parquet(tmp_path / "bot2.parquet")
    both = ParticipantLog.read_parquet(sorted(tmp_path.glob("*.parquet")))
    assert len(both) == 9
    assert both.events["time"].is_monotonic_increasing
    assert set(both.events["user_id"].dropna()) == {BIG_USER, "5", "7"}
    assert both.events["kind"].dtype == schema.KIND
    assert len(both.sessions()) == 5


def test_duckdb_reads_the_files_with_string_ids(tmp_path):
    big_log().to_parquet(tmp_path / "a.parquet")
    got = duckdb.sql(f"SELECT user_id, kind FROM '{tmp_path}/*.parquet' ORDER BY time").fetchall()
    assert got == [(BIG_USER, "joined"), (BIG_USER, "left")]


def test_unknown_parquet_versions_are_refused(tmp_path):
    path = tmp_path / "a.parquet"
    big_log().to_parquet(path)
    table = pq.read_table(path)
    meta = {**table.schema.metadata, schema.PARQUET_VERSION_KEY: b"7"}
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "new.parquet")
    with pytest.raises(LogSchemaError, match="version 7"):
        ParticipantLog.read_parquet(tmp_path / "new.parquet")
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "foreign.parquet")
    with pytest.raises(LogSchemaError, match="version 0"):
        ParticipantLog.read_parquet(tmp_path / "foreign.parquet")


def test_plots_return_their_axes():
    log = ParticipantLog()
    log.extend(demo_events(as_events=True))
    ax = log.plot.concurrency()
    assert ax.get_title() == "Concurrent viewers" and len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Live", "Q&A"]
    _, given = plt.subplots()
    assert log.plot.concurrency(freq="10min", ax=given) is given
    assert "max per 10min" in given.get_title()
    assert log.plot.sessions_hist().get_title() == "Session lengths (4 sessions)"
    ax = log.plot.retention(channel_id="6")
    assert ax.get_xlabel() == "minutes since joining"


def test_plots_of_an_empty_log_do_not_raise():
    log = ParticipantLog()
    for draw in (log.plot.concurrency, log.plot.sessions_hist, log.plot.retention):
        assert draw().get_title()


def test_two_bots_seeing_the_same_events_do_not_double_count(tmp_path):
    for bot, jitter in (("a", 0.0), ("b", 0.01)):  # the second bot hears everything 0.6 s later
        log = ParticipantLog()
        log.extend([join(0 + jitter, "5"), join(2 + jitter, "7"), leave(10 + jitter, "5"),
                    join(12 + jitter, "5", channel="8"), leave(20 - jitter, "7")])
        log.to_parquet(tmp_path / f"{bot}.parquet")
    merged = ParticipantLog.read_parquet(sorted(tmp_path.glob("*.parquet")))
    assert len(merged) == 10
    assert merged.sessions()[["channel_id", "user_id", "open"]].values.tolist() == [
        ["6", "5", False], ["6", "7", False], ["8", "5", True]]
    assert merged.summary()["peak_viewers"].tolist() == [2, 1]
