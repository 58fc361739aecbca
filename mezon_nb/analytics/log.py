"""``ParticipantLog``: every join and leave of a streaming channel, in memory or durable on disk.

>>> from mezon_nb.analytics import ParticipantLog, demo_events
>>> with ParticipantLog() as log:
...     log.extend(demo_events(as_events=True))
...     log.summary()[["channel_label", "unique_viewers", "peak_viewers", "total_watch"]]
  channel_label  unique_viewers  peak_viewers     total_watch
0          Live               2             2 0 days 01:40:00
1           Q&A               1             1 0 days 00:00:00
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from mezon_nb.analytics import parquet, rolling
from mezon_nb.analytics.archive import ArchiveState, EventArchive, id_lut
from mezon_nb.analytics.chat import chat_activity
from mezon_nb.analytics.concurrency import concurrency
from mezon_nb.analytics.durable import SqliteSink
from mezon_nb.analytics.gaps import Gap, gap_row, gaps_frame
from mezon_nb.analytics.outofcore import ArchiveAnalytics, rebuild_cache, tail_table
from mezon_nb.analytics.plot import LogPlot
from mezon_nb.analytics.reconcile import SessionTracker
from mezon_nb.analytics.retention import retention
from mezon_nb.analytics.schema import column_ns
from mezon_nb.analytics.sessions import overlapping, sessions
from mezon_nb.analytics.store import ColumnStore, Row, Snapshot, frame
from mezon_nb.analytics.summary import summary, users

if TYPE_CHECKING:
    from typing_extensions import Self


logger = logging.getLogger(__name__)

Listener = Callable[[dict], Any]
_CHUNK = 5_000  # events per lock hold in extend(): a concurrent record() waits ~10 ms at most


class ParticipantLog:
    """Who watched which stream, when: a tidy event log plus the analytics over it.

    ``log_path=None`` keeps the log in memory. With a path, the log is also an SQLite file (WAL
    mode) that is reloaded when opened again, e.g. after a kernel restart.

    **Durability.** :meth:`record`, :meth:`extend` and :meth:`reconcile` never touch the disk:
    rows go into the in-memory columns, and a background thread commits the new ones in one
    transaction every ``flush_interval`` seconds (0.2 s by default). A row is *acknowledged*
    once :meth:`flush` (or :meth:`close`, or leaving the ``with`` block) has returned after it
    was recorded; an acknowledged row survives the process being killed (SIGKILL, kernel
    restart, crash). Rows are normally on disk within ``flush_interval`` anyway, but only the
    ``flush()`` return is a promise. An OS crash or power cut may lose the last commits
    (SQLite ``synchronous=NORMAL``).

    **Archive.** With ``archive=directory`` (instead of ``log_path``) the log is durable the
    same way, in a SQLite *tail* inside the directory, and every ``roll_rows`` rows (or on
    :meth:`roll`) the tail is rolled into a hive-partitioned Parquet dataset there (see
    :mod:`mezon_nb.analytics.archive`) and dropped from memory. Memory and the time to reopen
    depend on the tail, not on the history; the analytics methods then run in DuckDB over the
    files and the tail (:meth:`engine`, ``pip install 'mezon_nb[scale]'``).

    The ingest rules (one stream per user, a leave fills its name from the open session, a
    stream end closes its sessions, snapshots are diffed) are in
    :mod:`mezon_nb.analytics.reconcile`; session rules in :mod:`mezon_nb.analytics.sessions`.
    All methods are thread-safe.

    >>> log = ParticipantLog()
    >>> log.describe_channels({"6": ("1", "Live")})
    >>> from mezon_nb.core.events import StreamingJoined
    >>> log.record(StreamingJoined(clan_id="1", clan_name="c", id="0", participant="ann",
    ...                            user_id="5", streaming_channel_label="",
    ...                            streaming_channel_id="6"))
    >>> log.events[["kind", "channel_label", "participant", "source"]].values.tolist()
    [['joined', 'Live', 'ann', 'live']]
    """

    def __init__(self, log_path: str | Path | None = None, *, flush_interval: float = 0.2,
                 archive: str | Path | None = None, roll_rows: int = 250_000):
        self._lock = threading.RLock()
        self._store = ColumnStore()
        self._tracker = SessionTracker()
        self._channels: dict[str, tuple[str | None, str]] = {}
        self._listeners: list[tuple[Listener, int]] = []  # (fn, first table position it gets)
        self._sink: SqliteSink | None = None
        self._closed = False
        self._label_changes = 0
        self._cached: tuple[tuple, pd.DataFrame] | None = None  # (key, sessions)
        self._gaps: list[Gap] = []
        self._archive: EventArchive | None = None
        self._base = 0  # seq of the store's first row (rows before it are in the archive)
        #: rolls not committed yet: (base, rows, state, labels, segment path, its sink)
        self._rolling: list[tuple[int, Snapshot, ArchiveState, dict[str, tuple[str | None, str]],
                                  Path, SqliteSink]] = []
        self._roll_lock = threading.Lock()
        self._roller: threading.Thread | None = None
        self._roll_rows, self._interval = max(int(roll_rows), 1), flush_interval
        self._clans: set[str] = set()  # clans with rows, for the archive's state
        self._last_rolled: int | None = None  # newest time (ns) rolled into the archive
        if log_path is not None and archive is not None:
            raise ValueError("pass log_path (one SQLite file) or archive (a directory), not both")
        if archive is not None:
            self._open_archive(archive)
        elif log_path is not None:
            self._sink = SqliteSink(log_path, self._store, self._lock, interval=flush_interval)
            self._finalizer = weakref.finalize(self, self._sink.close)
            self._restore(self._sink.labels)
            self._gaps.extend(self._sink.gaps)

    # -- ingest ---------------------------------------------------------------------------

    def record(self, event: Any) -> None:
        """Record one ``StreamingJoined``/``Leaved``/``Started``/``Ended`` or ``ChannelMessage``
        (a ``message`` row: who spoke, not what); cheap, no disk I/O.

        >>> from mezon_nb.core.events import StreamingEnded
        >>> log = ParticipantLog(); log.record(StreamingEnded(clan_id="1", channel_id="6"))
        >>> len(log)
        1
        """
        self._ingest((event,))

    def extend(self, events: Iterable[Any]) -> None:
        """Record many events, in order (their ``received_at`` is the row time).

        >>> from mezon_nb.analytics import demo_events
        >>> log = ParticipantLog(); log.extend(demo_events(as_events=True)); len(log)
        7
        """
        events = iter(events)
        for chunk in iter(lambda: list(islice(events, _CHUNK)), []):
            self._ingest(chunk)

    def reconcile(self, snapshot: Iterable[Any], *, clan_id: str,
                  at: datetime | None = None, complete: bool = True) -> None:
        """Record what a (re)connect snapshot of ``clan_id`` shows was missed while offline.

        ``snapshot`` is the ``ListStreamingChannelUsers`` result: rows with ``.channel_id``,
        ``.user_id`` and ``.participant``. ``at`` (default: now) is the time given to the rows.
        ``complete=False`` says the list may be cut (it filled the server's row limit): then
        nobody it leaves out is recorded as gone, only the users it lists are joined or moved.

        >>> from types import SimpleNamespace as Row
        >>> log = ParticipantLog()
        >>> log.reconcile([Row(channel_id="6", user_id="5", participant="ann")], clan_id="1")
        >>> log.events[["kind", "user_id", "source"]].values.tolist()
        [['joined', '5', 'snapshot']]
        """
        with self._lock:
            self._check_open()
            rows = self._tracker.reconcile(snapshot, str(clan_id),
                                           at or datetime.now(timezone.utc), complete)
            if self._sink is not None:      # a reload then knows the clan was snapshotted
                self._sink.add_snapshot(str(clan_id))
            start = len(self)  # a position in the whole history: rolls keep it
            self._store.extend(rows)
        self._notify(rows, start)
        self._maybe_roll()

    def add_gap(self, start: datetime | pd.Timestamp, end: datetime | pd.Timestamp,
                reason: str) -> None:
        """Record a blind interval: from ``start`` to ``end`` (timezone-aware) events may be
        missing, for ``reason``. The client records one for every lost socket, from the loss to
        the applied reconnect snapshot. Durable like the rows; see :attr:`gaps`.

        >>> log = ParticipantLog()
        >>> log.add_gap(datetime(2026, 1, 1, tzinfo=timezone.utc),
        ...             datetime(2026, 1, 1, 0, 0, 2, tzinfo=timezone.utc), "socket lost")
        >>> log.gaps["reason"].tolist(), log.summary().columns[-1]
        (['socket lost'], 'blind_time')
        """
        gap = gap_row(start, end, reason)
        with self._lock:
            self._check_open()
            self._gaps.append(gap)
            if self._sink is not None:
                self._sink.add_gap(gap)

    @property
    def gaps(self) -> pd.DataFrame:
        """The blind intervals (``start``, ``end`` UTC, ``reason``) by start; see
        :mod:`mezon_nb.analytics.gaps`. Sessions in them may be missing or mistimed.

        >>> ParticipantLog().gaps.columns.tolist()
        ['start', 'end', 'reason']
        """
        with self._lock:
            rows = list(self._gaps)
        return gaps_frame(rows)

    def describe_channels(self, mapping: dict[str, tuple[str, str]]) -> None:
        """Name channels: ``{channel_id: (clan_id, label)}``; every row of them gets the label.

        >>> log = ParticipantLog(); log.describe_channels({"6": ("1", "Live")})
        >>> log.channel_labels
        {'6': 'Live'}
        """
        with self._lock:
            for channel_id, (clan_id, label) in mapping.items():
                entry = (None if clan_id is None else str(clan_id), str(label))
                if self._channels.get(str(channel_id)) != entry:
                    self._set_label(str(channel_id), *entry)

    @property
    def channel_labels(self) -> dict[str, str]:
        """``{channel_id: label}`` for every named channel (from joins or describe_channels).

        >>> ParticipantLog().channel_labels
        {}
        """
        with self._lock:
            return {c: label for c, (_, label) in self._channels.items()}

    def on_event(self, fn: Listener) -> Callable[[], None]:
        """Call ``fn(row)`` with each new row; returns the unsubscribe function.

        ``row`` has the keys of :data:`~mezon_nb.analytics.schema.EVENT_COLUMNS` (``time`` a UTC
        ``pd.Timestamp``, missing values ``None``), and comes after the row is in the table.
        ``fn`` runs on the recording thread (the client's event loop): keep it short. Its
        exceptions are logged, never raised into the recording thread.

        >>> from types import SimpleNamespace as Row
        >>> log = ParticipantLog(); seen = []
        >>> stop = log.on_event(seen.append)
        >>> log.reconcile([Row(channel_id="6", user_id="5", participant="ann")], clan_id="1")
        >>> stop(); {k: seen[0][k] for k in ("kind", "user_id", "channel_label", "source")}
        {'kind': 'joined', 'user_id': '5', 'channel_label': None, 'source': 'snapshot'}
        """
        return self._subscribe(fn, 0)

    def follow(self, fn: Listener) -> tuple[pd.DataFrame, Callable[[], None]]:
        """The event table now, and ``fn(row)`` for every row recorded after it: none missed,
        none twice, even while another thread records. Returns ``(table, unsubscribe)``.

        >>> from types import SimpleNamespace as Row
        >>> log = ParticipantLog(); seen = []
        >>> log.reconcile([Row(channel_id="6", user_id="5", participant="ann")], clan_id="1")
        >>> table, stop = log.follow(seen.append)
        >>> log.reconcile([], clan_id="1"); stop()
        >>> len(table), [row["kind"] for row in seen]
        (1, ['left'])
        """
        with self._lock:
            columns = self._store.snapshot()
            unsubscribe = self._subscribe(fn, len(self))
        return frame(columns), unsubscribe

    def _subscribe(self, fn: Listener, first: int) -> Callable[[], None]:
        """Call ``fn`` with each row from table position ``first`` on."""
        entry = (fn, first)
        with self._lock:
            self._listeners.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._listeners:
                    self._listeners.remove(entry)
        return unsubscribe

    # -- the table and the analytics ------------------------------------------------------

    @property
    def events(self) -> pd.DataFrame:
        """The tidy event table (:data:`~mezon_nb.analytics.schema.EVENT_COLUMNS`), a copy
        (of an archive log: the whole history, read from the files).

        >>> ParticipantLog().events.columns.tolist()[:3]
        ['time', 'kind', 'clan_id']
        """
        if self._archive is not None:
            with self.engine("duckdb") as db:
                return db.events()
        with self._lock:
            columns = self._store.snapshot()
        return frame(columns)

    def sessions(self, until: pd.Timestamp | None = None, channel_id: str | None = None,
                 start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
                 ) -> pd.DataFrame:
        """One row per watch session; see :func:`mezon_nb.analytics.sessions.sessions`.
        ``channel_id``, ``start``, ``end``: only the sessions of that channel that overlap
        ``[start, end)`` (see :func:`~mezon_nb.analytics.sessions.overlapping`).

        >>> ParticipantLog().sessions().shape
        (0, 11)
        """
        if self._archive is not None:
            with self.engine("duckdb") as db:
                return db.sessions(until, channel_id, start, end)
        return overlapping(self._sessions(until), channel_id, start, end).copy()

    def concurrency(self, freq: str | None = "1min", channel_id: str | None = None,
                    until: pd.Timestamp | None = None, how: str = "max") -> pd.DataFrame:
        """Viewers over time per channel; see :func:`mezon_nb.analytics.concurrency.concurrency`.

        Bins run to ``until``, by default the time of the log's last event.

        >>> ParticipantLog().concurrency().columns.tolist()
        ['channel_id', 'time', 'viewers']
        """
        if self._archive is not None:
            with self.engine("duckdb") as db:
                return db.concurrency(freq, channel_id, until, how)
        return concurrency(self._sessions(until), freq=freq, channel_id=channel_id,
                           until=self._until(until), how=how)

    def summary(self, until: pd.Timestamp | None = None) -> pd.DataFrame:
        """Per channel totals, chat ``messages`` and the log's ``blind_time`` (total of
        :attr:`gaps`) included; see :func:`mezon_nb.analytics.summary.summary`.

        >>> len(ParticipantLog().summary())
        0
        """
        if self._archive is not None:
            with self.engine("duckdb") as db:
                return db.summary(until)
        return summary(self._sessions(until), self.events, self.gaps)

    def users(self, until: pd.Timestamp | None = None) -> pd.DataFrame:
        """Per viewer totals, chat ``messages`` included; see
        :func:`mezon_nb.analytics.summary.users`.

        >>> ParticipantLog().users().columns.tolist()[-2:]
        ['channels', 'messages']
        """
        if self._archive is not None:
            with self.engine("duckdb") as db:
                return db.users(until)
        return users(self._sessions(until), self.events)

    def chat_activity(self, freq: str = "1min", channel_id: str | None = None,
                      until: pd.Timestamp | None = None) -> pd.DataFrame:
        """Chat messages per ``freq`` bin and channel (``channel_id``, ``time``, ``messages``);
        see :func:`mezon_nb.analytics.chat.chat_activity`. Bins run to ``until``, by default
        the time of the log's last event.

        >>> from mezon_nb.analytics.demo import demo_chat_events
        >>> log = ParticipantLog(); log.extend(demo_chat_events(as_events=True))
        >>> log.chat_activity("30min")["messages"].tolist()
        [3, 0, 0]
        """
        if self._archive is not None:
            with self.engine("duckdb") as db:
                return db.chat_activity(freq, channel_id, until)
        return chat_activity(self.events, freq=freq, channel_id=channel_id,
                             until=self._until(until))

    def retention(self, channel_id: str | None = None,
                  until: pd.Timestamp | None = None) -> pd.DataFrame:
        """Share of sessions still watching after t; see :mod:`mezon_nb.analytics.retention`.

        >>> ParticipantLog().retention().empty
        True
        """
        if self._archive is not None:
            with self.engine("duckdb") as db:
                return db.retention(channel_id, until)
        return retention(self._sessions(until), channel_id=channel_id)

    def engine(self, name: str = "duckdb", **options: Any) -> ArchiveAnalytics | ParticipantLog:
        """The analytics of this log computed by ``"duckdb"`` (an
        :class:`~mezon_nb.analytics.outofcore.ArchiveAnalytics` over the archive's files and
        the rows not rolled yet; ``options``: ``memory_limit``, ``temp_directory``,
        ``threads``, ``cache``; close it after use) or ``"memory"`` (a log with every row in
        memory: this one, or for an archive log a copy loaded from the files). Both have the same
        analytics methods and return the same frames.

        >>> from mezon_nb.analytics import demo_events
        >>> log = ParticipantLog(); log.extend(demo_events(as_events=True))
        >>> with log.engine("duckdb", memory_limit="256MB") as db:
        ...     db.sessions()["duration"].sum() == log.engine("memory").sessions()["duration"].sum()
        True
        """
        if name == "memory":
            if options:
                raise TypeError(f"the memory engine takes no options, not {sorted(options)}")
            if self._archive is None:
                return self
            copy = self._loaded(self.events)
            copy._gaps = list(self._gaps)
            return copy
        if name != "duckdb":
            raise ValueError(f"engine must be 'duckdb' or 'memory', not {name!r}")
        with self._roll_lock:  # no roll commits while the view (files + tail) is taken
            with self._lock:
                parts = [*((b, snap) for b, snap, *_ in self._rolling),
                         (self._base, self._store.snapshot())]
                labels, gaps = dict(self._channels), list(self._gaps)
            known = {} if self._archive is None else self._archive.channels
            for base, snap in parts:
                known = rolling.channels_after(known, snap, base, labels)
            times = [int(snap.time.max()) for _, snap in parts if len(snap.time)]
            tail = pa.concat_tables([tail_table(snap, base) for base, snap in parts])
            return ArchiveAnalytics(self._archive, **options,
                                    _tail=(tail, known, max(times) if times else None, parts),
                                    _gaps=gaps)

    def roll(self) -> None:
        """Roll the rows recorded so far into the archive's Parquet files now (and first any
        earlier roll that failed, e.g. on a full disk); does nothing without an archive. Runs
        by itself in the background every ``roll_rows`` rows.

        >>> import tempfile
        >>> from mezon_nb.analytics import demo_events
        >>> with ParticipantLog(archive=tempfile.mkdtemp()) as log:
        ...     log.extend(demo_events(as_events=True)); log.roll(); len(log), len(log._store)
        (7, 0)
        """
        if self._archive is None:
            return
        with self._roll_lock:
            sink = self._sink  # replaced only under the roll lock
            assert sink is not None  # an archive log has one
            with sink.writing(), self._lock:  # the order the sink's own commits take them
                self._check_open()
                if len(self._store):
                    self._swap_segment()
                pending = list(self._rolling)
            for base, snap, state, labels, segment, sink in pending:
                sink.close()
                rolling.roll(self._archive, snap, state, labels)
                rolling.delete_segment(segment)
                with self._lock:
                    self._rolling.pop(0)

    def rebuild_cache(self, **options: Any) -> None:
        """Recompute the archive's session cache from its event files (DuckDB; ``options`` as
        for :meth:`engine`), e.g. after a roll of rows out of time order left it behind
        (``engine("duckdb").cached`` false); rolls wait meanwhile, recording goes on.

        >>> import tempfile
        >>> from mezon_nb.analytics import demo_events
        >>> with ParticipantLog(archive=tempfile.mkdtemp()) as log:
        ...     log.extend(demo_events(as_events=True)); log.roll(); log.rebuild_cache()
        ...     with log.engine("duckdb") as db:
        ...         db.cached
        True
        """
        if self._archive is None:
            raise ValueError("rebuild_cache() needs a log over an archive "
                             "(ParticipantLog(archive=...))")
        with self._roll_lock:
            self._check_open()
            rebuild_cache(self._archive, **options)

    @property
    def plot(self) -> LogPlot:
        """Matplotlib plots: ``.concurrency()``, ``.sessions_hist()``, ``.retention()``.

        >>> type(ParticipantLog().plot).__name__
        'LogPlot'
        """
        return LogPlot(self)

    # -- files ----------------------------------------------------------------------------

    def to_parquet(self, path: str | Path) -> None:
        """Write the event table to Parquet; see :mod:`mezon_nb.analytics.parquet`.

        >>> import tempfile, os
        >>> ParticipantLog().to_parquet(os.path.join(tempfile.mkdtemp(), "e.parquet"))
        """
        parquet.write_events(self.events, path)

    @classmethod
    def read_parquet(cls, paths: str | Path | Iterable[str | Path]) -> ParticipantLog:
        """An in-memory log of the events in one or many Parquet files (e.g. bots × days).

        Rows are merged in time order. When two bots saw the same event, the session rules
        absorb the copy (a repeated join continues a session, a repeated leave confirms its
        end), so sessions and everything derived from them are not double-counted.

        >>> import tempfile, os
        >>> from mezon_nb.analytics import demo_events
        >>> path = os.path.join(tempfile.mkdtemp(), "e.parquet")
        >>> src = ParticipantLog(); src.extend(demo_events(as_events=True)); src.to_parquet(path)
        >>> both = ParticipantLog.read_parquet([path, path])
        >>> len(both), len(both.sessions()), len(src.sessions())
        (14, 4, 4)
        """
        return cls._loaded(parquet.read_events(paths))

    @classmethod
    def _loaded(cls, events: pd.DataFrame) -> ParticipantLog:
        """An in-memory log of an event table's rows, in table order."""
        log = cls()
        log._store.extend_columns(column_ns(events["time"]), events["kind"], events["source"],
                                  {c: events[c] for c in ColumnStore.ID_TABLES})
        log._restore(parquet.labels(events))
        return log

    def flush(self) -> None:
        """Commit every recorded row to disk (no-op in memory); they are then acknowledged.

        >>> ParticipantLog().flush()
        """
        if self._sink is not None:
            self._sink.flush()

    def close(self) -> None:
        """Flush and close the file; later records raise ``RuntimeError``. Idempotent.

        >>> log = ParticipantLog(); log.close(); log.close()
        """
        with self._lock:
            self._closed = True
            roller = self._roller
        if roller is not None:
            roller.join()
        if self._sink is not None:
            self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self._base + len(self._store)

    def __repr__(self) -> str:
        where = f"log_path={str(self._sink.path)!r}" if self._sink else "in memory"
        if self._archive is not None:
            where = f"archive={str(self._archive.root)!r}"
        return f"<ParticipantLog {len(self)} events, {where}{', closed' if self._closed else ''}>"

    # -- internals ------------------------------------------------------------------------

    def _ingest(self, chunk: Iterable[Any]) -> None:
        """Apply the ingest rules to a chunk of events under one lock hold, then notify."""
        rows: list[Row] = []
        with self._lock:
            self._check_open()
            start = len(self)  # a position in the whole history: rolls keep it
            ingest, labels = self._tracker.ingest, self._channels
            try:
                for event in chunk:
                    ingest(event, rows)
                    label = getattr(event, "streaming_channel_label", "")
                    if label and labels.get(event.streaming_channel_id, (0, 0))[1] != label:
                        self._set_label(event.streaming_channel_id, event.clan_id, label)
            finally:
                self._store.extend(rows)
        self._notify(rows, start)
        self._maybe_roll()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this ParticipantLog is closed; open it again with "
                               "ParticipantLog(log_path) to keep recording")

    def _sessions(self, until: pd.Timestamp | None) -> pd.DataFrame:
        """The session table, recomputed only when rows or labels changed (shared, read-only)."""
        with self._lock:
            key = (len(self._store), self._label_changes, until)
            if self._cached is not None and self._cached[0] == key:
                return self._cached[1]
            columns = self._store.snapshot()
        result = sessions(frame(columns), until)  # outside the lock: record() never waits
        with self._lock:
            self._cached = (key, result)
        return result

    def _until(self, until: pd.Timestamp | None) -> pd.Timestamp | None:
        """``until``, else the time of the log's last event."""
        if until is not None:
            return until
        with self._lock:
            return self._store.last_time()

    def _set_label(self, channel_id: str, clan_id: str | None, label: str) -> None:
        self._label_changes += 1
        self._channels[channel_id] = (clan_id, label)
        self._store.set_label(channel_id, label)
        if self._sink is not None:
            self._sink.set_label(channel_id, clan_id, label)

    def _notify(self, rows: list[Row], start: int) -> None:
        """Tell the listeners about ``rows``, stored from table position ``start`` on."""
        listeners = list(self._listeners)
        if not listeners:
            return
        for position, (t, kind, source, clan, channel, user, participant) in enumerate(
                rows, start):
            row = {"time": pd.Timestamp(t, tz="UTC"), "kind": kind, "clan_id": clan,
                   "channel_id": channel, "channel_label": self._store.label(channel),
                   "user_id": user, "participant": participant, "source": source}
            for fn, first in listeners:
                if position < first:   # already in the table that follow() returned
                    continue
                try:
                    fn(row)
                except Exception:
                    logger.exception("participant log: on_event listener %r failed", fn)

    def _open_archive(self, root: str | Path) -> None:
        """Open (or create) an archive: finish interrupted rolls, load the tail, rebuild the
        ingest state from the committed state plus the tail's rows."""
        self._archive = archive = EventArchive(root)
        rolling.recover(archive)
        self._base = archive.state.rolled
        segments = archive.tail_segments()
        path = segments[0] if segments else archive.tail_path(self._base)
        self._sink = SqliteSink(path, self._store, self._lock, interval=self._interval)
        self._finalizer = weakref.finalize(self, self._sink.close)
        state = rolling.replay(archive.state, self._store.snapshot(), self._sink.gaps)
        self._gaps = [tuple(g) for g in state.gaps]
        labels = {c: (clan, label) for c, (clan, label, _) in archive.channels.items()
                  if label is not None}
        for channel_id, (clan_id, label) in {**labels, **self._sink.labels}.items():
            self._channels[channel_id] = (clan_id, label)
            self._store.set_label(channel_id, label)
        clans = {*state.clans, *self._sink.snapshotted}
        self._tracker.restore(state.open, state.names, clans, state.last_live)
        self._clans, self._last_rolled = clans, archive.state.last_time

    def _swap_segment(self) -> None:
        """Under the sink's writer lock and the log's lock: set the store's rows aside for a
        roll, start a new tail segment."""
        snap = self._store.snapshot()
        for column in ("clan_id", "channel_id", "user_id"):  # bad ids stay in this segment
            id_lut(snap.tables[column], column)
        old, archive = self._sink, self._archive
        assert old is not None and archive is not None  # an archive log has both
        old.flush()
        end = self._base + len(snap.time)
        tracker = self._tracker
        self._clans |= {c for c in (*tracker.clans, *snap.tables["clan_id"]) if c is not None}
        last = int(snap.time.max())
        self._last_rolled = last = max(last, self._last_rolled or last)
        state = ArchiveState(
            rolled=end, last_time=last,
            open=[[u, ch, clan, p] for u, (ch, clan, p) in tracker.open.items()],
            names=dict(tracker.names), clans=sorted(self._clans),
            last_live=dict(tracker.last_live), gaps=[list(g) for g in self._gaps])
        self._rolling.append((self._base, snap, state, dict(self._channels), old.path, old))
        self._finalizer.detach()
        self._store = ColumnStore()
        self._sink = SqliteSink(archive.tail_path(end), self._store, self._lock,
                                interval=self._interval)
        for channel_id, (_, label) in self._channels.items():  # after: the sink writes them
            self._store.set_label(channel_id, label)
        self._finalizer = weakref.finalize(self, self._sink.close)
        self._base = end
        self._cached = None

    def _maybe_roll(self) -> None:
        """Start a background roll when the tail has ``roll_rows`` rows (one at a time)."""
        if self._archive is None or len(self._store) < self._roll_rows:
            return
        with self._lock:
            if self._closed or (self._roller is not None and self._roller.is_alive()):
                return
            self._roller = threading.Thread(target=self._roll_quietly, daemon=True,
                                            name=f"mezon-roll-{self._archive.root.name}")
            self._roller.start()

    def _roll_quietly(self) -> None:
        while not self._closed:  # again if roll_rows more arrived meanwhile
            try:
                self.roll()
            except Exception:  # the rows stay in their SQLite segment; the next roll retries
                if not self._closed:
                    logger.exception("participant log: rolling into %s failed",
                                     getattr(self._archive, "root", None))
                return
            with self._lock:
                if len(self._store) < self._roll_rows:
                    return

    def _restore(self, labels: dict[str, tuple[str | None, str]]) -> None:
        """After rows were loaded (SQLite, Parquet): set the labels, rebuild who is watching."""
        with self._lock:
            for channel_id, (clan_id, label) in labels.items():
                self._channels[channel_id] = (clan_id, label)
                self._store.set_label(channel_id, label)
            events = self._store.frame()
            still = sessions(events).query("open")
            # as the live tracker: a join names its user, a chat message does not
            names = events[events["kind"] == "joined"].dropna(subset=["user_id", "participant"])
            names = names.drop_duplicates("user_id", keep="last")
            live = events[(events["source"] == "live") & events["user_id"].notna()]
            latest = live.groupby("user_id", observed=True)["time"].max()
            self._tracker.restore(
                zip(*(_objects(still[c]) for c in ("user_id", "channel_id", "clan_id",
                                                   "participant"))),
                dict(zip(_objects(names["user_id"]), _objects(names["participant"]))),
                {*self._store.tables["clan_id"].values,
                 *(self._sink.snapshotted if self._sink is not None else ())},
                {str(user): int(t.value) for user, t in latest.items()})


def _objects(column: pd.Series) -> list:
    """Python values of a column, missing as ``None``."""
    return column.astype(object).where(column.notna(), None).tolist()


__all__ = ["ParticipantLog"]
