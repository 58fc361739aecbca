"""The durable side of a participant log: one SQLite file in WAL mode, written in batches.

Rows are queued in memory by :meth:`SqliteSink.add` (a list append under a lock, no disk I/O)
and committed in one transaction by :meth:`SqliteSink.flush`, which a background thread calls
every ``interval`` seconds (and sooner once ``batch`` rows wait). A committed row survives the
death of the process (SIGKILL, kernel restart); with ``synchronous=NORMAL`` in WAL mode an
operating-system crash or power cut may lose the last commits.

Tables (``PRAGMA user_version`` = :data:`~mezon_nb.analytics.schema.SCHEMA_VERSION`)::

    events(seq INTEGER PRIMARY KEY, time_ns INTEGER, kind TEXT, source TEXT,
           clan_id TEXT, channel_id TEXT, user_id TEXT, participant TEXT)
    channels(channel_id TEXT PRIMARY KEY, clan_id TEXT, label TEXT)

Ids are TEXT, so ``sqlite3 log.sqlite 'select * from events'`` shows them exactly.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "log.sqlite")
>>> sink = SqliteSink(path)
>>> sink.add([(5, "joined", "live", "1", "6", "9", "ann")]); sink.set_label("6", "1", "Live")
>>> sink.close()
>>> rows, labels = SqliteSink(path).load()
>>> rows["user_id"], labels
(['9'], {'6': ('1', 'Live')})
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import numpy as np

from mezon_nb.analytics import schema
from mezon_nb.analytics.store import Row

logger = logging.getLogger(__name__)

_COLUMNS = ("time_ns", "kind", "source", "clan_id", "channel_id", "user_id", "participant")
_DDL = """
CREATE TABLE events (seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, kind TEXT NOT NULL,
                     source TEXT NOT NULL, clan_id TEXT, channel_id TEXT NOT NULL, user_id TEXT,
                     participant TEXT);
CREATE TABLE channels (channel_id TEXT PRIMARY KEY, clan_id TEXT, label TEXT NOT NULL);
"""
_INSERT = f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_UPSERT = "INSERT OR REPLACE INTO channels (channel_id, clan_id, label) VALUES (?, ?, ?)"


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
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
        conn.executescript(f"BEGIN; {_DDL} PRAGMA user_version={schema.SCHEMA_VERSION}; COMMIT;")
    return conn


class SqliteSink:
    """Batched, thread-safe writer of event rows and channel labels into one SQLite file.

    >>> import tempfile, os
    >>> with SqliteSink(os.path.join(tempfile.mkdtemp(), "x.sqlite")) as sink:
    ...     sink.pending
    0
    """

    def __init__(self, path: str | Path, *, interval: float = 0.2, batch: int = 50_000) -> None:
        self.path = Path(path)
        self.interval = interval
        self.batch = batch
        self._conn = _open(self.path)
        self._rows: list[Row] = []
        self._labels: dict[str, tuple[str | None, str]] = {}
        self._lock = threading.Lock()  # guards the queues; held for O(1) only
        self._io = threading.Lock()  # one writer on the connection at a time
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"mezon-log-{self.path.name}",
                                        daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Rows queued but not yet committed."""
        return len(self._rows)

    def add(self, rows: list[Row]) -> None:
        """Queue rows for the next commit (no disk I/O here)."""
        with self._lock:
            self._rows += rows
            full = len(self._rows) >= self.batch
        if full:
            self._wake.set()

    def set_label(self, channel_id: str, clan_id: str | None, label: str) -> None:
        """Queue a channel label for the next commit."""
        with self._lock:
            self._labels[channel_id] = (clan_id, label)

    def flush(self) -> None:
        """Commit everything queued so far; when this returns, those rows are on disk."""
        with self._io:
            with self._lock:
                rows, self._rows = self._rows, []
                labels, self._labels = self._labels, {}
            if not rows and not labels:
                return
            conn = self._conn
            conn.execute("BEGIN")
            try:
                conn.executemany(_INSERT, rows)
                conn.executemany(_UPSERT, [(c, clan, lab) for c, (clan, lab) in labels.items()])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                with self._lock:  # keep them for the next attempt
                    self._rows[:0] = rows
                    self._labels = {**labels, **self._labels}
                raise

    def load(self) -> tuple[dict, dict[str, tuple[str | None, str]]]:
        """Every committed row as columns (``time_ns`` an int64 array), and the channel labels."""
        with self._io:
            cur = self._conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM events ORDER BY seq")
            rows = cur.fetchall()
            labels = {c: (clan, lab) for c, clan, lab in
                      self._conn.execute("SELECT channel_id, clan_id, label FROM channels")}
        columns = {name: list(col) for name, col in zip(_COLUMNS, zip(*rows))} if rows else \
            {name: [] for name in _COLUMNS}
        columns["time_ns"] = np.array(columns["time_ns"], dtype=np.int64)
        return columns, labels

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # keep the thread alive; rows stay queued for the next try
                logger.exception("participant log: commit to %s failed", self.path)

    def close(self) -> None:
        """Commit what is queued, stop the writer thread, close the file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join()
        self.flush()
        self._conn.close()

    def __enter__(self) -> SqliteSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["SqliteSink"]
