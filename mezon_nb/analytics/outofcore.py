"""Out-of-core participant analytics: the log's frames computed by DuckDB over the archive.

:class:`ArchiveAnalytics` runs the SQL of :mod:`~mezon_nb.analytics.archive_sql` over the
committed Parquet files of an archive (plus, from ``log.engine("duckdb")``, the rows of a live
log not yet rolled), within ``memory_limit``, spilling to ``temp_directory``. It returns the
frames the in-memory :class:`~mezon_nb.analytics.ParticipantLog` returns: the same columns,
dtypes (ids as ``str`` categoricals, tz-aware UTC times) and values. DuckDB is the optional
extra ``mezon_nb[scale]``.

>>> import tempfile
>>> from mezon_nb.analytics import ParticipantLog, demo_events
>>> with ParticipantLog(archive=tempfile.mkdtemp()) as log:
...     log.extend(demo_events(as_events=True)); log.roll()
...     with log.engine("duckdb", memory_limit="256MB") as db:
...         db.summary()[["channel_id", "sessions", "peak_viewers"]].values.tolist()
[['6', 3, 2], ['8', 1, 1]]
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mezon_nb.analytics import archive_sql, schema
from mezon_nb.analytics.archive import EventArchive, id_lut
from mezon_nb.analytics.gaps import Gap, blind_time, gaps_frame
from mezon_nb.analytics.retention import survival
from mezon_nb.analytics.session_cache import SessionState, advance, open_table, peaks
from mezon_nb.analytics.store import Snapshot

if TYPE_CHECKING:
    from typing_extensions import Self

#: The rows of a running log not yet rolled: their event table, the channels they add, their
#: newest time, and the snapshots themselves with their first seq (for the session cache).
Tail = tuple[pa.Table, dict[str, tuple], "int | None", list[tuple[int, Snapshot]]]

#: The event relation the SQL reads (see :mod:`~mezon_nb.analytics.archive_sql`).
_FILES = ("SELECT seq, epoch_ns(time) AS t, CAST(kind AS VARCHAR) AS kind, "
          "CAST(source AS VARCHAR) AS source, CAST(clan_id AS BIGINT) AS clan_id, channel_id, "
          "user_id, CAST(participant AS VARCHAR) AS participant FROM read_parquet({files}, "
          "hive_partitioning = true, hive_types = {{'date': 'VARCHAR', 'clan_id': 'VARCHAR'}})")
_TAIL = "SELECT seq, t, kind, source, clan_id, channel_id, user_id, participant FROM tail"


def _duckdb():
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the out-of-core engine needs DuckDB: pip install 'mezon_nb[scale]'"
                          ) from exc
    return duckdb


def tail_table(snap: Snapshot, first_seq: int) -> pa.Table:
    """Rows of a store snapshot as the SQL's event relation (seq, t, ids as BIGINT).

    >>> from mezon_nb.analytics.store import ColumnStore
    >>> s = ColumnStore(); s.append((5, "joined", "live", "1", "6", "9", "ann"))
    >>> tail_table(s.snapshot(), 10).to_pylist()[0]["seq"]
    10
    """
    n = len(snap.time)

    def ids(column: str) -> pa.Array:
        codes = snap.codes[column]
        return pa.array(np.append(id_lut(snap.tables[column], column), 0)[codes],
                        mask=codes < 0)

    def text(codes: np.ndarray, values: list[str]) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0),
                                              pa.array(values, pa.string())).cast(pa.string())

    return pa.table({
        "seq": np.arange(first_seq, first_seq + n, dtype=np.int64), "t": snap.time,
        "kind": text(snap.kind.astype(np.int32), list(schema.KINDS)),
        "source": text(snap.source.astype(np.int32), list(schema.SOURCES)),
        "clan_id": ids("clan_id"), "channel_id": ids("channel_id"), "user_id": ids("user_id"),
        "participant": text(snap.codes["participant"], snap.tables["participant"])})


class ArchiveAnalytics:
    """DuckDB over a participant-log archive: ``sessions``, ``concurrency``, ``summary``,
    ``users``, ``retention``, ``chat_activity``, as :class:`ParticipantLog` has them.

    ``archive`` is the archive directory (its committed files; a running log adds its tail
    through ``log.engine("duckdb")``). ``memory_limit`` caps DuckDB's memory (e.g. ``"2GB"``);
    what does not fit spills to ``temp_directory`` (default: a fresh temporary directory,
    removed by :meth:`close`). ``threads`` defaults to DuckDB's (all cores). The sessions
    come from the archive's session cache (:mod:`~mezon_nb.analytics.session_cache`: one scan,
    no sort of the events) while it follows the archive (:attr:`cached`); ``cache=False``
    computes them from the events (the same frames, slower).

    >>> import tempfile
    >>> from mezon_nb.analytics import ParticipantLog, demo_events
    >>> path = tempfile.mkdtemp()
    >>> with ParticipantLog(archive=path) as log:
    ...     log.extend(demo_events(as_events=True)); log.roll()
    >>> with ArchiveAnalytics(path) as db:
    ...     db.users()[["user_id", "sessions"]].values.tolist()
    [['5', 3], ['7', 1]]
    """

    def __init__(self, archive: str | Path | EventArchive | None, *, memory_limit: str = "2GB",
                 temp_directory: str | Path | None = None, threads: int | None = None,
                 cache: bool = True, _tail: Tail | None = None,
                 _gaps: list[Gap] | None = None) -> None:
        duckdb = _duckdb()
        if archive is not None and not isinstance(archive, EventArchive):
            archive = EventArchive(archive)
        self.archive = archive
        channels = {} if archive is None else dict(archive.channels)
        last = None if archive is None else archive.state.last_time
        tail = None
        parts: list[tuple[int, Snapshot]] = []
        if _tail is not None:
            tail, more, tail_last, parts = _tail
            channels.update(more)
            last = tail_last if last is None else max(last, tail_last or last)
        self.last_time = last
        stored = [] if archive is None else [tuple(g) for g in archive.state.gaps]
        self._gaps = stored if _gaps is None else list(_gaps)
        self._own_temp = temp_directory is None
        self.temp_directory = Path(temp_directory or tempfile.mkdtemp(prefix="mezon-duckdb-"))
        self._con = con = duckdb.connect()
        self._cleanup = weakref.finalize(self, _close, con, self.temp_directory, self._own_temp)
        con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET temp_directory = ?", [str(self.temp_directory)])
        con.execute("SET preserve_insertion_order = false")
        if threads is not None:
            con.execute("SET threads = ?", [int(threads)])
        files = [] if archive is None else [str(p) for p in archive.files()]
        views = [_FILES.format(files=_list(files))] if files else []
        if tail is not None and tail.num_rows:
            con.register("tail", tail)
            views.append(_TAIL)
        if not views:
            con.register("tail", tail_table(_empty_snapshot(), 0))
            views.append(_TAIL)
        con.execute("CREATE TEMP VIEW ev AS " + " UNION ALL ".join(views))
        self._cache = self._use_cache(parts) if cache else {"cached": False}
        ch = sorted(channels.items(), key=lambda kv: kv[1][2])
        con.register("channels_in", pa.table({
            "channel_id": id_lut([c for c, _ in ch], "channel_id"),
            "label": pa.array([v[1] for _, v in ch], pa.string()),
            "first_seq": pa.array([v[2] for _, v in ch], pa.int64())}))
        con.execute("CREATE TEMP TABLE channels AS SELECT * FROM channels_in")

    def _use_cache(self, parts: list[tuple[int, Snapshot]]) -> dict[str, bool]:
        """The view ``sess`` over the archive's session cache, advanced over the tail's rows;
        the options of the SQL that reads it (none when the cache does not follow)."""
        state = SessionState() if self.archive is None else SessionState.of(self.archive.state)
        done = []
        for base, snap in parts:
            table, state = advance(snap, base, state)
            done.append(table)
        if not state.valid:
            return {"cached": False}
        self._con.register("sess_tail", pa.concat_tables([*done, open_table(state)]))
        self._con.register("sess_peaks", peaks(state))
        files = [] if self.archive is None else [str(p) for p in self.archive.session_files()]
        scans = [f"SELECT * FROM read_parquet({_list(files)})"] if files else []
        self._con.execute("CREATE TEMP VIEW sess AS " + " UNION ALL ".join(
            [*scans, "SELECT * FROM sess_tail"]))
        return {"cached": True, "unknown": state.unknown > 0}

    # -- the analytics --------------------------------------------------------------------

    def events(self) -> pd.DataFrame:
        """The tidy event table (:data:`~mezon_nb.analytics.schema.EVENT_COLUMNS`) in table
        order: every row, so only for what fits in memory.

        >>> import tempfile
        >>> ArchiveAnalytics(tempfile.mkdtemp()).events().shape
        (0, 8)
        """
        frame = self._query(
            "SELECT t, kind, CAST(clan_id AS VARCHAR) AS clan_id, CAST(e.channel_id AS VARCHAR) "
            "AS channel_id, c.label AS channel_label, CAST(user_id AS VARCHAR) AS user_id, "
            "participant, source FROM ev e LEFT JOIN channels c USING (channel_id) ORDER BY seq")
        return schema.events_frame(
            schema.to_time(_ns_column(frame["t"])),
            pd.Categorical(frame["kind"].astype(object), dtype=schema.KIND),
            {c: _in_order_seen(frame[c]) for c in schema.ID_COLUMNS},
            pd.Categorical(frame["source"].astype(object), dtype=schema.SOURCE))

    def sessions(self, until: pd.Timestamp | None = None, channel_id: str | None = None,
                 start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
                 ) -> pd.DataFrame:
        """One row per session (see :func:`mezon_nb.analytics.sessions.sessions`); with
        ``channel_id``, ``start`` or ``end``, only the sessions of that channel that overlap
        ``[start, end)``. One channel is read alone (the rest of the files is skipped).

        >>> import tempfile
        >>> ArchiveAnalytics(tempfile.mkdtemp()).sessions().shape
        (0, 11)
        """
        frame = self._query(archive_sql.sessions_sql(self._channel(channel_id), **self._cache,
                                                     window=(self._ns(start), self._ns(end))),
                            until=self._ns(until, self.last_time), start=self._ns(start),
                            end=self._ns(end))
        times = {c: schema.to_time(_ns_column(frame[c])) for c in ("joined_at", "left_at")}
        return _frame(frame, schema.SESSION_COLUMNS, times=times,
                      durations=("duration",), flags=("open", "start_unknown", "reconciled"))

    def concurrency(self, freq: str | None = "1min", channel_id: str | None = None,
                    until: pd.Timestamp | None = None, how: str = "max") -> pd.DataFrame:
        """Viewers over time per channel (see :func:`mezon_nb.analytics.concurrency.concurrency`);
        bins run to ``until``, by default the time of the last event.

        >>> import tempfile
        >>> ArchiveAnalytics(tempfile.mkdtemp()).concurrency().columns.tolist()
        ['channel_id', 'time', 'viewers']
        """
        if how not in ("max", "mean"):
            raise ValueError(f"how= must be 'max' or 'mean', not {how!r}")
        channel = self._channel(channel_id)
        if freq is None:
            frame = self._query(archive_sql.steps_sql(channel, **self._cache),
                                until=self._ns(None, 0))
        else:
            frame = self._query(archive_sql.binned_sql(how, channel, **self._cache),
                                until=self._ns(None, 0), step=pd.to_timedelta(freq).value,
                                end=self._ns(until, self.last_time))
        kind = np.float64 if freq is not None and how == "mean" and len(frame) else np.int64
        return pd.DataFrame({"channel_id": schema.id_categorical(frame["channel_id"]),
                             "time": schema.to_time(_ns_column(frame["t"])),
                             "viewers": frame["viewers"].to_numpy(kind)})

    def summary(self, until: pd.Timestamp | None = None) -> pd.DataFrame:
        """Per channel totals (see :func:`mezon_nb.analytics.summary.summary`).

        >>> import tempfile
        >>> ArchiveAnalytics(tempfile.mkdtemp()).summary().columns.tolist()[:3]
        ['clan_id', 'channel_id', 'channel_label']
        """
        frame = self._query(archive_sql.summary_sql(**self._cache),
                            until=self._ns(until, self.last_time))
        frame["blind_time"] = blind_time(self.gaps).value
        return _frame(frame, schema.SUMMARY_COLUMNS,
                      times={"peak_at": schema.to_time(_ns_column(frame["peak_at"]))},
                      durations=("total_watch", "median_watch", "blind_time"),
                      counts=("unique_viewers", "sessions", "peak_viewers",
                              "returning_viewers", "messages"))

    @property
    def cached(self) -> bool:
        """Whether the sessions come from the session cache (else from the events).

        >>> import tempfile
        >>> ArchiveAnalytics(tempfile.mkdtemp()).cached, ArchiveAnalytics(None, cache=False).cached
        (True, False)
        """
        return self._cache["cached"]

    @property
    def gaps(self) -> pd.DataFrame:
        """The log's blind intervals (``start``, ``end`` UTC, ``reason``), as ``log.gaps``:
        those committed with the archive's last roll, and the tail's through
        ``log.engine("duckdb")``. ``summary()``'s ``blind_time`` is their total.

        >>> import tempfile
        >>> ArchiveAnalytics(tempfile.mkdtemp()).gaps.columns.tolist()
        ['start', 'end', 'reason']
        """
        return gaps_frame(self._gaps)

    def users(self, until: pd.Timestamp | None = None) -> pd.DataFrame:
        """Per viewer totals (see :func:`mezon_nb.analytics.summary.users`).

        >>> import tempfile
        >>> ArchiveAnalytics(tempfile.mkdtemp()).users().columns.tolist()[-2:]
        ['channels', 'messages']
        """
        frame = self._query(archive_sql.users_sql(**self._cache),
                            until=self._ns(until, self.last_time))
        times = {c: schema.to_time(_ns_column(frame[c])) for c in ("first_seen", "last_seen")}
        return _frame(frame, schema.USER_COLUMNS, times=times, durations=("total_watch",),
                      counts=("sessions", "channels", "messages"))

    def retention(self, channel_id: str | None = None,
                  until: pd.Timestamp | None = None) -> pd.DataFrame:
        """Share of sessions still watching after t (see :mod:`mezon_nb.analytics.retention`).

        >>> import tempfile
        >>> ArchiveAnalytics(tempfile.mkdtemp()).retention().empty
        True
        """
        frame = self._query(archive_sql.durations_sql(self._channel(channel_id), **self._cache),
                            until=self._ns(until, self.last_time))
        return survival(frame["duration"].to_numpy(np.int64), frame["left"].to_numpy(np.int64),
                        frame["censored"].to_numpy(np.int64))

    def chat_activity(self, freq: str = "1min", channel_id: str | None = None,
                      until: pd.Timestamp | None = None) -> pd.DataFrame:
        """Chat messages per ``freq`` bin and channel (see
        :func:`mezon_nb.analytics.chat.chat_activity`); bins run to ``until``, by default the
        time of the last event.

        >>> import tempfile
        >>> ArchiveAnalytics(tempfile.mkdtemp()).chat_activity().shape
        (0, 3)
        """
        frame = self._query(archive_sql.chat_sql(self._channel(channel_id)),
                            step=pd.to_timedelta(freq).value,
                            end=self._ns(until, self.last_time))
        return pd.DataFrame({"channel_id": schema.id_categorical(frame["channel_id"]),
                             "time": schema.to_time(_ns_column(frame["t"])),
                             "messages": frame["messages"].to_numpy(np.int64)})

    def sql(self, query: str, **params: Any) -> pd.DataFrame:
        """Run your own SQL over the view ``ev`` (seq, t in ns, kind, source, clan_id,
        channel_id, user_id, participant) and the table ``channels``; a pandas frame.

        >>> import tempfile
        >>> ArchiveAnalytics(tempfile.mkdtemp()).sql("SELECT count(*) AS n FROM ev")["n"].tolist()
        [0]
        """
        return self._query(query, **params)

    # -- plumbing -------------------------------------------------------------------------

    def _query(self, sql: str, **params: Any) -> pd.DataFrame:
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        return self._con.execute(sql, used).fetch_df()

    def _channel(self, channel_id: str | None) -> int | None:
        if channel_id is None:
            return None
        return int(id_lut([str(channel_id)], "channel_id")[0])

    @staticmethod
    def _ns(at: pd.Timestamp | None, default: int | None = None) -> int | None:
        return default if at is None else pd.Timestamp(at).as_unit("ns").value

    def close(self) -> None:
        """Close the DuckDB connection and remove its own temporary directory. Idempotent.

        >>> import tempfile
        >>> db = ArchiveAnalytics(tempfile.mkdtemp()); db.close(); db.close()
        """
        self._cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "in memory" if self.archive is None else repr(str(self.archive.root))
        return f"<ArchiveAnalytics {where}>"


def rebuild_cache(archive: str | Path | EventArchive, **options: Any) -> None:
    """Recompute the archive's session cache from its committed event files, in DuckDB
    (``options`` as for :class:`ArchiveAnalytics`): for an archive whose cache a roll out of
    time order left behind, or one rolled before caches existed. Later rolls carry it on.

    The new cache goes to a new directory, committed with ``state.json`` (the old one is
    removed after): a crash leaves the old cache or the new one. No log may roll meanwhile
    (``ParticipantLog.rebuild_cache()`` holds its rolls back).

    >>> import tempfile
    >>> from mezon_nb.analytics import ParticipantLog, demo_events
    >>> path = tempfile.mkdtemp()
    >>> with ParticipantLog(archive=path) as log:
    ...     log.extend(demo_events(as_events=True)); log.roll()
    >>> rebuild_cache(path, memory_limit="256MB")
    >>> with ArchiveAnalytics(path) as db:
    ...     db.cached, db.summary()["sessions"].tolist()
    (True, [3, 1])
    """
    if not isinstance(archive, EventArchive):
        archive = EventArchive(archive)
    old, state = archive.sessions_dir, archive.state
    new = archive.root / f"sessions-{state.rolled:016d}"
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir()
    sql = archive_sql.rebuild_sql()
    with ArchiveAnalytics(archive, cache=False, **options) as db:
        con = db._con
        con.execute(sql["table"])
        path = new / f"part-{0:016d}.parquet"
        con.execute(f"COPY ({sql['closed']}) TO '{_quoted(path)}' "
                    "(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 65536)")
        opened = [list(r) for r in con.execute(sql["open"]).fetchall()]
        newest = dict(con.execute(sql["newest"]).fetchall())
        unknown = con.execute(sql["unknown"]).fetchone()[0]
        levels = {r[0]: list(r[1:]) for r in con.execute(sql["levels"]).fetchall()}
    cache = SessionState(opened, newest, unknown, True, levels, new.name)
    archive.commit(replace(state, sessions=cache.as_dict()), archive.channels)
    if old != new:
        shutil.rmtree(old, ignore_errors=True)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _close(con, temp: Path, own: bool) -> None:
    con.close()
    if own:
        shutil.rmtree(temp, ignore_errors=True)


def _list(files: list[str]) -> str:
    return "[" + ", ".join("'" + _quoted(Path(f)) + "'" for f in files) + "]"


def _ns_column(column: pd.Series) -> np.ndarray:
    """A nullable integer column of ns as int64 with ``int64.min`` for missing (NaT)."""
    return column.astype("Int64").to_numpy(np.int64, na_value=np.iinfo(np.int64).min)


def _in_order_seen(column: pd.Series) -> pd.Categorical:
    """Exact id strings as a categorical whose categories are in order of first appearance
    (as the in-memory log interns them: results list channels in that order)."""
    values = column.astype(object).where(column.notna(), None)
    seen = pd.Index(pd.unique(values.dropna()), dtype="str")
    return pd.Categorical(values, categories=seen)


def _empty_snapshot() -> Snapshot:
    from mezon_nb.analytics.store import ColumnStore
    return ColumnStore().snapshot()


def _frame(frame: pd.DataFrame, columns: tuple[str, ...], *, times: dict | None = None,
           durations: tuple[str, ...] = (), flags: tuple[str, ...] = (),
           counts: tuple[str, ...] = ()) -> pd.DataFrame:
    """A result frame with the in-memory engine's dtypes, in the declared column order."""
    out: dict[str, Any] = dict(times or {})
    for c in columns:
        if c in schema.ID_COLUMNS:
            out[c] = schema.id_categorical(frame[c].astype(object))
    for c in durations:
        out[c] = pd.to_timedelta(_ns_column(frame[c]).view("m8[ns]"))
    for c in flags:
        out[c] = frame[c].to_numpy(bool)
    for c in counts:
        out[c] = frame[c].to_numpy(np.int64)
    return pd.DataFrame({c: out[c] for c in columns})


__all__ = ["ArchiveAnalytics", "rebuild_cache", "tail_table"]
