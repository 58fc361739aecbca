"""The durable side of a participant log: a :class:`ColumnStore` mirrored into SQLite (WAL).

Recording never touches the disk: rows only go into the in-memory columns. :meth:`SqliteSink.flush`
copies the rows and strings added since the last commit (under the log's lock, a few array
slices) and commits them in one transaction (outside it); a background thread calls it every
``interval`` seconds. A committed row survives the death of the process (SIGKILL, kernel
restart); with ``synchronous=NORMAL`` in WAL mode an OS crash or power cut may lose the last
commits. Opening a file loads every committed row back into the store. The file is locked
while open (SQLite ``locking_mode=EXCLUSIVE``): a second log, or ``sqlite3``, on the same file
gets :class:`~mezon_nb.analytics.schema.LogInUseError` (or "database is locked") until
:meth:`SqliteSink.close`; read a live log through ``log.events`` or ``log.to_parquet()``.

The file keeps integer codes, as the store does, plus the string tables; the ``events_text``
view decodes them (``sqlite3 log.sqlite 'select * from events_text'``). Tables, under
``PRAGMA user_version`` = :data:`~mezon_nb.analytics.schema.SCHEMA_VERSION`::

    events(seq INTEGER PRIMARY KEY, time_ns, kind, source, clan, channel, user, participant)
    strings(domain, code, value)   -- domain: kind, source, clan_id, channel_id, user_id, participant
    channels(channel_id TEXT PRIMARY KEY, clan_id TEXT, label TEXT)
    gaps(start_ns, end_ns, reason) -- blind intervals (mezon_nb.analytics.gaps); since version 2
    snapshots(clan_id TEXT PRIMARY KEY) -- clans a snapshot has set (even an empty one); since 3

An older file is migrated when opened: the tables it lacks are added, nothing else changes.

>>> import tempfile, os, threading
>>> from mezon_nb.analytics.store import ColumnStore
>>> path = os.path.join(tempfile.mkdtemp(), "log.sqlite")
>>> store, lock = ColumnStore(), threading.Lock()
>>> sink = SqliteSink(path, store, lock)
>>> store.append((5, "joined", "live", "1", "6", "9", "ann")); sink.set_label("6", "1", "Live")
>>> sink.close()
>>> again = ColumnStore(); reopened = SqliteSink(path, again, lock); reopened.close()
>>> again.frame()["user_id"].tolist(), reopened.labels
(['9'], {'6': ('1', 'Live')})
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mezon_nb.analytics import schema
from mezon_nb.analytics.gaps import Gap
from mezon_nb.analytics.store import ColumnStore

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger(__name__)

_CODED = ("clan", "channel", "user", "participant")  # columns of events holding string codes
_DOMAINS = dict(zip(_CODED, ColumnStore.ID_TABLES))
_VIEW_JOINS = "\n".join(
    f"LEFT JOIN strings s_{c} ON s_{c}.domain = '{d}' AND s_{c}.code = e.{c}"
    for c, d in [("kind", "kind"), ("source", "source"), *_DOMAINS.items()])
_DDL = f"""
CREATE TABLE events (seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, kind INTEGER NOT NULL,
                     source INTEGER NOT NULL, clan INTEGER NOT NULL, channel INTEGER NOT NULL,
                     user INTEGER NOT NULL, participant INTEGER NOT NULL);
CREATE TABLE strings (domain TEXT NOT NULL, code INTEGER NOT NULL, value TEXT NOT NULL,
                      PRIMARY KEY (domain, code)) WITHOUT ROWID;
CREATE TABLE channels (channel_id TEXT PRIMARY KEY, clan_id TEXT, label TEXT NOT NULL);
CREATE TABLE gaps (start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE snapshots (clan_id TEXT PRIMARY KEY);
CREATE VIEW events_text AS
SELECT e.seq, e.time_ns, s_kind.value AS kind, s_source.value AS source, s_clan.value AS clan_id,
       s_channel.value AS channel_id, s_user.value AS user_id, s_participant.value AS participant
FROM events e
{_VIEW_JOINS};
"""
_INSERT = "INSERT INTO events (time_ns, kind, source, clan, channel, user, participant) " \
          "VALUES (?, ?, ?, ?, ?, ?, ?)"
_STRING = "INSERT INTO strings (domain, code, value) VALUES (?, ?, ?)"
_UPSERT = "INSERT OR REPLACE INTO channels (channel_id, clan_id, label) VALUES (?, ?, ?)"
_GAP = "INSERT INTO gaps (start_ns, end_ns, reason) VALUES (?, ?, ?)"
_SNAPSHOT = "INSERT OR IGNORE INTO snapshots (clan_id) VALUES (?)"
#: Schema changes from version N-1 to N, applied in order when an older file is opened.
_MIGRATIONS = {2: "CREATE TABLE gaps (start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, "
                  "reason TEXT NOT NULL)",
               3: "CREATE TABLE snapshots (clan_id TEXT PRIMARY KEY)"}


def _open(path: Path) -> sqlite3.Connection:
    """Open (or create) the log file and hold it exclusively until the connection closes."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=2.0)
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "locked" in str(exc):
            raise schema.LogInUseError(
                f"{path} is open elsewhere (another ParticipantLog or SQLite connection, in "
                f"this or another process); close that first, or pass another log_path") from exc
        if isinstance(exc, sqlite3.OperationalError):  # e.g. no such directory: as it is
            raise
        raise schema.LogSchemaError(f"{path} is not a participant log ({exc}); "
                                    f"pass another log_path") from exc
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if version > schema.SCHEMA_VERSION:
        conn.close()
        raise schema.LogSchemaError(
            f"{path} has participant-log schema version {version}; this mezon_nb reads up to "
            f"{schema.SCHEMA_VERSION}. Upgrade mezon_nb or pass another log_path.")
    if version == 0 and tables:
        conn.close()
        raise schema.LogSchemaError(f"{path} is an SQLite file but not a participant log "
                                    f"(tables: {', '.join(sorted(tables))}); pass another path.")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    if version == 0:
        enums = [("kind", i, k) for i, k in enumerate(schema.KINDS)] + \
                [("source", i, s) for i, s in enumerate(schema.SOURCES)]
        conn.execute("BEGIN")
        for statement in _DDL.split(";"):
            conn.execute(statement)
        conn.executemany(_STRING, enums)
        conn.execute(f"PRAGMA user_version={schema.SCHEMA_VERSION}")
        conn.execute("COMMIT")
    elif version < schema.SCHEMA_VERSION:
        conn.execute("BEGIN")
        for step in range(version + 1, schema.SCHEMA_VERSION + 1):
            conn.execute(_MIGRATIONS[step])
        conn.execute(f"PRAGMA user_version={schema.SCHEMA_VERSION}")
        conn.execute("COMMIT")
    return conn


#: Files open in this process (resolved path -> sink), for a clearer error on a second open.
_OPEN: weakref.WeakValueDictionary[Path, SqliteSink] = weakref.WeakValueDictionary()


class SqliteSink:
    """Keeps ``store``'s rows committed to ``path``; loads the file into ``store`` when opened.

    ``lock`` is the lock the store's writers hold. ``store`` must be empty when the sink opens.

    >>> import tempfile, os, threading
    >>> from mezon_nb.analytics.store import ColumnStore
    >>> with SqliteSink(os.path.join(tempfile.mkdtemp(), "x.sqlite"), ColumnStore(),
    ...                 threading.Lock()) as sink:
    ...     sink.committed
    0
    """

    def __init__(self, path: str | Path, store: ColumnStore, lock: threading.Lock | threading.RLock,
                 *, interval: float = 0.2) -> None:
        self.path = Path(path)
        self.interval = interval
        self._store, self._lock = store, lock
        here = _OPEN.get(self.path.resolve())
        if here is not None:
            raise schema.LogInUseError(
                f"{self.path} is already open in this process; close that log first "
                f"(log.close(), or open it with `with ParticipantLog(path) as log:`)")
        self._conn = _open(self.path)
        try:
            self.labels = self._load()  # {channel_id: (clan_id, label)} found in the file
            self.gaps: list[Gap] = [tuple(row) for row in self._conn.execute(
                "SELECT start_ns, end_ns, reason FROM gaps ORDER BY rowid")]  # found in the file
            #: clans a snapshot has set (found in the file, and added since)
            self.snapshotted: set[str] = {row[0] for row in self._conn.execute(
                "SELECT clan_id FROM snapshots")}
        except BaseException:
            self._conn.close()
            raise
        _OPEN[self.path.resolve()] = self
        self._labels: dict[str, tuple[str | None, str]] = {}  # queued channel labels
        self._gaps: list[Gap] = []  # queued blind intervals
        self._snapshots: list[str] = []  # queued snapshotted clans
        self.committed = len(store)  # rows of the store already in the file
        self._strings_done = {d: len(store.tables[d].values) for d in ColumnStore.ID_TABLES}
        # one writer on the connection at a time; taken before ``lock`` (see :meth:`writing`)
        self._io = threading.RLock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"mezon-log-{self.path.name}",
                                        daemon=True)
        self._thread.start()

    def writing(self) -> threading.RLock:
        """The sink's writer lock, to hold around code that takes the store's ``lock`` and
        then flushes: a commit takes this lock first, then the store's, so whoever needs both
        takes them in that order (the other order deadlocks against the writer thread).

        >>> import tempfile, os, threading
        >>> from mezon_nb.analytics.store import ColumnStore
        >>> lock = threading.Lock()
        >>> with SqliteSink(os.path.join(tempfile.mkdtemp(), "x.sqlite"), ColumnStore(),
        ...                 lock) as sink, sink.writing(), lock:
        ...     pass
        """
        return self._io

    def set_label(self, channel_id: str, clan_id: str | None, label: str) -> None:
        """Queue a channel label for the next commit.

        >>> import tempfile, os, threading
        >>> from mezon_nb.analytics.store import ColumnStore
        >>> path = os.path.join(tempfile.mkdtemp(), "x.sqlite")
        >>> with SqliteSink(path, ColumnStore(), threading.Lock()) as sink:
        ...     sink.set_label("6", "1", "Live")
        >>> with SqliteSink(path, ColumnStore(), threading.Lock()) as again:
        ...     again.labels
        {'6': ('1', 'Live')}
        """
        self._labels[channel_id] = (clan_id, label)

    def add_gap(self, gap: Gap) -> None:
        """Queue one blind interval ``(start_ns, end_ns, reason)`` for the next commit.

        >>> import tempfile, os, threading
        >>> from mezon_nb.analytics.store import ColumnStore
        >>> path = os.path.join(tempfile.mkdtemp(), "x.sqlite")
        >>> with SqliteSink(path, ColumnStore(), threading.Lock()) as sink:
        ...     sink.add_gap((1, 2, "socket lost"))
        >>> with SqliteSink(path, ColumnStore(), threading.Lock()) as again:
        ...     again.gaps
        [(1, 2, 'socket lost')]
        """
        self._gaps.append(gap)

    def add_snapshot(self, clan_id: str) -> None:
        """Note that a snapshot has set ``clan_id``'s sessions (committed with the next rows):
        after a reload its next snapshot catches up on a gap, even when this one recorded no
        row.

        >>> import tempfile, os, threading
        >>> from mezon_nb.analytics.store import ColumnStore
        >>> path = os.path.join(tempfile.mkdtemp(), "x.sqlite")
        >>> with SqliteSink(path, ColumnStore(), threading.Lock()) as sink:
        ...     sink.add_snapshot("1"); sink.add_snapshot("1")
        >>> with SqliteSink(path, ColumnStore(), threading.Lock()) as again:
        ...     again.snapshotted
        {'1'}
        """
        if clan_id not in self.snapshotted:
            self.snapshotted.add(clan_id)
            self._snapshots.append(clan_id)

    def flush(self) -> None:
        """Commit every row recorded so far; when this returns, they are on disk.

        >>> import tempfile, os, threading
        >>> from mezon_nb.analytics.store import ColumnStore
        >>> store = ColumnStore()
        >>> sink = SqliteSink(os.path.join(tempfile.mkdtemp(), "x.sqlite"), store, threading.Lock())
        >>> store.append((5, "ended", "live", "1", "6", None, None)); sink.flush(); sink.committed
        1
        >>> sink.close()
        """
        with self._io:
            with self._lock:
                end = len(self._store)
                columns = self._store.slice(self.committed, end)
                strings = [(d, code, value) for d in ColumnStore.ID_TABLES
                           for code, value in enumerate(self._store.tables[d].values[
                               self._strings_done[d]:], start=self._strings_done[d])]
                labels, self._labels = self._labels, {}
                gaps, self._gaps = self._gaps, []
                snapshots, self._snapshots = self._snapshots, []
            if end == self.committed and not (strings or labels or gaps or snapshots):
                return
            conn = self._conn
            conn.execute("BEGIN")
            try:
                conn.executemany(_STRING, strings)
                conn.executemany(_INSERT, zip(*(c.tolist() for c in columns)))
                conn.executemany(_UPSERT, [(c, clan, lab) for c, (clan, lab) in labels.items()])
                conn.executemany(_GAP, gaps)
                conn.executemany(_SNAPSHOT, [(clan,) for clan in snapshots])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                self._labels = {**labels, **self._labels}  # retried by the next flush
                self._gaps[:0] = gaps
                self._snapshots[:0] = snapshots
                raise
            self.committed = end
            for d, code, _ in strings:
                self._strings_done[d] = code + 1

    def _load(self) -> dict[str, tuple[str | None, str]]:
        """Append the file's rows and strings to the (empty) store; return the channel labels."""
        conn = self._conn
        tables: dict[str, list[str]] = {d: [] for d in ColumnStore.ID_TABLES}
        for domain, value in conn.execute("SELECT domain, value FROM strings WHERE domain NOT IN "
                                          "('kind', 'source') ORDER BY domain, code"):
            tables[domain].append(value)
        n = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        cursor = conn.execute(f"SELECT time_ns, kind, source, {', '.join(_CODED)} FROM events "
                              f"ORDER BY seq")  # streamed into one array: no list of tuples
        cols = np.fromiter(chain.from_iterable(cursor), np.int64, count=7 * n).reshape(n, 7)
        self._store.extend_codes(cols[:, 0], cols[:, 1], cols[:, 2],
                                 dict(zip(ColumnStore.ID_TABLES, cols[:, 3:].T)), tables)
        return {c: (clan, lab) for c, clan, lab in
                conn.execute("SELECT channel_id, clan_id, label FROM channels")}

    def _run(self) -> None:
        delay = self.interval
        while not self._closed:
            self._wake.wait(delay)
            try:
                self.flush()
                delay = self.interval
            except Exception:  # keep the thread alive; the rows stay in memory and are retried
                logger.exception("participant log: commit to %s failed; retrying in %.1f s",
                                 self.path, min(delay * 2, 30.0))
                delay = min(delay * 2, 30.0)  # back off, e.g. while the disk is full

    def close(self) -> None:
        """Commit what is recorded, stop the writer thread, close the file. Idempotent.

        >>> import tempfile, os, threading
        >>> from mezon_nb.analytics.store import ColumnStore
        >>> sink = SqliteSink(os.path.join(tempfile.mkdtemp(), "x.sqlite"), ColumnStore(),
        ...                   threading.Lock())
        >>> sink.close(); sink.close()
        """
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join()
        self.flush()
        self._conn.close()
        _OPEN.pop(self.path.resolve(), None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["SqliteSink"]
