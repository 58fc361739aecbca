"""The Parquet archive of a participant log: a hive-partitioned dataset, written incrementally.

Layout under the archive directory (every Parquet engine reads ``events/`` unchanged)::

    events/date=2026-01-01/clan_id=1840651530236071936/part-0000000000000000.parquet
    channels.parquet   channel_id, clan_id, label, first_seq  (a dimension, replaced each roll)
    sessions/part-0000000000000000.parquet  the session cache: each roll's closed sessions
                       (see :mod:`~mezon_nb.analytics.session_cache`)
    state.json         the commit point: rows archived, who is watching, names, last live
                       times, blind intervals (the log's ``gaps``), the session cache's state
    tail/<seq>.sqlite  rows recorded since the last roll (the log's durable SQLite tail)

Event files hold ``seq`` (the row's position in the log, int64), ``time`` (UTC, microseconds),
``kind``, ``source``, ``channel_id`` and ``user_id`` (int64: Mezon ids are int64 snowflakes, so
they stay exact) and ``participant``; ``date`` and ``clan_id`` are the partition keys (read them
as strings: ``clan_id`` is an int64 in decimal, ``__HIVE_DEFAULT_PARTITION__`` when missing).
Rows are sorted by channel, user, time, seq inside a file (row groups of 64k rows, so a
query for one channel skips most of them by their statistics; ``seq``, ``time`` and
``user_id`` delta-encoded, the rest dictionary-encoded, snappy). A roll writes one new file per
(date, clan) it touches, named by the roll's first ``seq``; written files are never rewritten.

A roll writes its files (each to a temporary name, fsynced, renamed), then ``channels.parquet``,
then ``state.json``: that last rename is the commit. Opening the archive deletes what an
interrupted roll left behind (files of ``seq`` at or past the committed count), so a crash
loses nothing that was committed and duplicates nothing.

>>> import tempfile
>>> from mezon_nb.analytics.store import ColumnStore
>>> store = ColumnStore()
>>> store.append((1_767_225_600_000_000_000, "joined", "live", "1", "6", "5", "ann"))
>>> archive = EventArchive(tempfile.mkdtemp())
>>> archive.write(store.snapshot(), first_seq=0)
>>> archive.commit(ArchiveState(rolled=1, last_time=1_767_225_600_000_000_000), {})
>>> [p.relative_to(archive.root).as_posix() for p in archive.files()]
['events/date=2026-01-01/clan_id=1/part-0000000000000000.parquet']
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mezon_nb.analytics import schema
from mezon_nb.analytics.store import Snapshot

_DAY_NS = 86_400 * 10**9
_POWERS = np.array([10**i for i in range(20)], np.uint64)  # how many digits: searchsorted
_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_KIND = pa.array(schema.KINDS, pa.string())
_SOURCE = pa.array(schema.SOURCES, pa.string())

#: The schema of every event file (the partition keys ``date`` and ``clan_id`` are in the path).
EVENT_SCHEMA = pa.schema([
    ("seq", pa.int64()), ("time", pa.timestamp("us", "UTC")),
    ("kind", pa.dictionary(pa.int8(), pa.string())),
    ("source", pa.dictionary(pa.int8(), pa.string())),
    ("channel_id", pa.int64()), ("user_id", pa.int64()),
    ("participant", pa.string()),
], metadata={schema.PARQUET_VERSION_KEY: str(schema.SCHEMA_VERSION).encode()})
CHANNEL_SCHEMA = pa.schema([("channel_id", pa.int64()), ("clan_id", pa.int64()),
                            ("label", pa.string()), ("first_seq", pa.int64())])
#: How the partition keys read: strings (so no engine guesses a type that loses digits).
PARTITIONING = ds.partitioning(pa.schema([("date", pa.string()), ("clan_id", pa.string())]),
                               flavor="hive")


@dataclass
class ArchiveState:
    """What a reopened log needs besides the tail: the state as of row ``rolled``.

    ``open`` holds ``[user_id, channel_id, clan_id, participant]`` of every open session,
    ``names`` the last name of each user, ``clans`` the clans with rows or a snapshot,
    ``last_live`` each user's latest live row time (ns); ``last_time`` is the newest event time
    (ns) archived;
    ``gaps`` the log's blind intervals ``[start_ns, end_ns, reason]`` recorded so far (few: one
    per lost socket; see :mod:`mezon_nb.analytics.gaps`); ``sessions`` the session cache's
    state (:class:`~mezon_nb.analytics.session_cache.SessionState`; ``None`` in archives
    rolled before the cache existed).

    >>> ArchiveState().rolled
    0
    """

    rolled: int = 0
    last_time: int | None = None
    open: list[list] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    clans: list[str] = field(default_factory=list)
    last_live: dict[str, int] = field(default_factory=dict)
    gaps: list[list] = field(default_factory=list)
    sessions: dict | None = None


def id_lut(values: list[str], column: str) -> np.ndarray:
    """int64 values of id strings (the code -> id table of a store), checked to be exact.

    >>> id_lut(["1840651530236071936", "6"], "user_id").tolist()
    [1840651530236071936, 6]
    >>> id_lut(["07"], "user_id")
    Traceback (most recent call last):
    ...
    mezon_nb.analytics.schema.LogSchemaError: user_id '07' is not an int64 id in decimal; ...
    >>> [id_lut([v], "user_id") is None for v in ("-9223372036854775808", "0")]
    [False, False]
    """
    try:  # vectorised: ASCII text that parses, exact if it has the canonical digit count
        text = np.array(values, dtype="S")
        out = text.astype(np.int64)
        negative = out < 0
        size = out.view(np.uint64)
        size = np.where(negative, ~size + np.uint64(1), size)
        digits = np.maximum(np.searchsorted(_POWERS, size, side="right"), 1) + negative
        if np.array_equal(np.char.str_len(text), digits):  # no sign, space, 0 or _ more
            return out
    except (ValueError, OverflowError, UnicodeEncodeError):
        pass
    out = np.empty(len(values), np.int64)
    for i, v in enumerate(values):
        try:
            n = int(v)
            ok = str(n) == v and -2**63 <= n < 2**63
        except ValueError:
            ok = False
        if not ok:
            raise schema.LogSchemaError(f"{column} {v!r} is not an int64 id in decimal; the "
                                        f"archive keeps Mezon ids (int64 snowflakes) exactly")
        out[i] = n
    return out


class EventArchive:
    """A participant-log archive directory: write rolls, commit state, list and read files.

    Opening it recovers from an interrupted roll (see the module docstring).

    >>> import tempfile
    >>> EventArchive(tempfile.mkdtemp()).state.rolled
    0
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"archive path {self.root} is a file, not a directory")
        self.events_dir = self.root / "events"
        self.tail_dir = self.root / "tail"
        self.tail_dir.mkdir(parents=True, exist_ok=True)
        self.events_dir.mkdir(exist_ok=True)
        self.state = self._read_state()
        self.channels = self._read_channels()
        self.sessions_dir.mkdir(exist_ok=True)
        for path in [*self.events_dir.glob("*/*/*"), *self.sessions_dir.glob("*")]:
            if path.suffix == ".tmp" or _first_seq(path) >= self.state.rolled:
                path.unlink()  # an interrupted roll's files
        for path in self.root.glob("sessions*"):  # replaced by a rebuild, or one interrupted
            if path != self.sessions_dir:
                shutil.rmtree(path, ignore_errors=True)

    @property
    def sessions_dir(self) -> Path:
        """The session cache's directory (``sessions/``; a rebuild writes a new one).

        >>> import tempfile
        >>> EventArchive(tempfile.mkdtemp()).sessions_dir.name
        'sessions'
        """
        return self.root / (self.state.sessions or {}).get("directory", "sessions")

    # -- writing --------------------------------------------------------------------------

    def write(self, snap: Snapshot, first_seq: int, ids: dict[str, np.ndarray] | None = None
              ) -> None:
        """Write the rows of ``snap`` (seq ``first_seq`` on) as new files, one per partition.

        They are part of the archive once :meth:`commit` records ``rolled`` past them. ``ids``:
        :func:`snapshot_ids` of ``snap``, if the caller has them already.
        """
        n = len(snap.time)
        if not n:
            return
        if np.any(snap.time % 1000):
            raise schema.LogSchemaError("the archive keeps times in whole microseconds (event "
                                        "times come from datetimes); these rows have finer ones")
        seq = np.arange(first_seq, first_seq + n, dtype=np.int64)
        ids = ids or snapshot_ids(snap)
        day = snap.time // _DAY_NS
        clan = snap.codes["clan_id"]
        order = _file_order(snap, day, ids)
        part_key = (day * (len(ids["clan_id"]) + 1) + clan + 1)[order]
        bounds = np.flatnonzero(np.r_[True, part_key[1:] != part_key[:-1], True])
        user = snap.codes["user_id"][order]
        table = pa.table({
            "seq": seq[order],
            "time": pa.array(snap.time[order] // 1000).cast(pa.timestamp("us", "UTC")),
            "kind": pa.DictionaryArray.from_arrays(snap.kind[order], _KIND),
            "source": pa.DictionaryArray.from_arrays(snap.source[order], _SOURCE),
            "channel_id": ids["channel_id"][snap.codes["channel_id"][order]],
            "user_id": pa.array(np.append(ids["user_id"], 0)[user], mask=user < 0),
            "participant": _strings(snap.codes["participant"][order],
                                    snap.tables["participant"]),
        }, schema=EVENT_SCHEMA)
        clan_ids = snap.tables["clan_id"]
        jobs = []
        for lo, hi in pairwise(bounds):
            row = order[lo]
            date = np.datetime64(int(day[row]), "D").astype(str)
            code = int(clan[row])
            where = self.events_dir / f"date={date}" / \
                f"clan_id={clan_ids[code] if code >= 0 else _NULL_PARTITION}"
            where.mkdir(parents=True, exist_ok=True)
            jobs.append((where / f"part-{first_seq:016d}.parquet", table.slice(lo, hi - lo)))
        with ThreadPoolExecutor(min(len(jobs), os.cpu_count() or 1)) as pool:
            list(pool.map(lambda job: _write_atomic(job[0], partial(_write_events, job[1])),
                          jobs))

    def write_sessions(self, table: pa.Table, first_seq: int) -> None:
        """Write the session-cache rows of the roll from ``first_seq`` (none: no file).

        They are part of the cache once :meth:`commit` records ``rolled`` past them.
        """
        if table.num_rows:
            _write_atomic(self.sessions_dir / f"part-{first_seq:016d}.parquet",
                          partial(_write_sessions, table))

    def commit(self, state: ArchiveState, channels: dict[str, tuple]) -> None:
        """Record ``channels`` (``{channel_id: (clan_id, label, first_seq)}``) and ``state``.

        The ``state.json`` rename is the commit point of a roll.
        """
        ch = sorted(channels.items(), key=lambda kv: kv[1][2])
        table = pa.table({
            "channel_id": id_lut([c for c, _ in ch], "channel_id"),
            "clan_id": pa.array([None if v[0] is None else int(id_lut([v[0]], "clan_id")[0])
                                 for _, v in ch], pa.int64()),
            "label": pa.array([v[1] for _, v in ch], pa.string()),
            "first_seq": pa.array([v[2] for _, v in ch], pa.int64())}, schema=CHANNEL_SCHEMA)
        _write_atomic(self.root / "channels.parquet", lambda p: pq.write_table(table, p))
        text = json.dumps({"schema_version": schema.SCHEMA_VERSION, **asdict(state)})
        _write_atomic(self.root / "state.json", lambda p: Path(p).write_text(text))
        self.state, self.channels = state, dict(channels)

    # -- reading --------------------------------------------------------------------------

    def files(self) -> list[Path]:
        """The committed event files, in path order.

        >>> import tempfile
        >>> EventArchive(tempfile.mkdtemp()).files()
        []
        """
        return sorted(p for p in self.events_dir.glob("*/*/part-*.parquet")
                      if _first_seq(p) < self.state.rolled)

    def session_files(self) -> list[Path]:
        """The committed session-cache files, in roll order.

        >>> import tempfile
        >>> EventArchive(tempfile.mkdtemp()).session_files()
        []
        """
        return sorted(p for p in self.sessions_dir.glob("part-*.parquet")
                      if _first_seq(p) < self.state.rolled)

    def dataset(self) -> ds.Dataset:
        """The committed event files as a ``pyarrow.dataset`` (``date``/``clan_id`` strings).

        >>> import tempfile
        >>> EventArchive(tempfile.mkdtemp()).dataset().count_rows()
        0
        """
        return ds.dataset([str(p) for p in self.files()], schema=EVENT_SCHEMA.append(
            pa.field("date", pa.string())).append(pa.field("clan_id", pa.string())),
            format="parquet", partitioning=PARTITIONING, partition_base_dir=str(self.events_dir))

    def tail_segments(self) -> list[Path]:
        """The tail's SQLite segments, oldest first (one, unless a roll was interrupted).

        >>> import tempfile
        >>> EventArchive(tempfile.mkdtemp()).tail_segments()
        []
        """
        return sorted(self.tail_dir.glob("*.sqlite"), key=lambda p: int(p.stem))

    def tail_path(self, first_seq: int) -> Path:
        """The SQLite segment that holds rows from ``first_seq`` on.

        >>> import tempfile
        >>> EventArchive(tempfile.mkdtemp()).tail_path(7).name
        '0000000000000007.sqlite'
        """
        return self.tail_dir / f"{first_seq:016d}.sqlite"

    def _read_state(self) -> ArchiveState:
        path = self.root / "state.json"
        if not path.exists():
            return ArchiveState()
        try:
            data = json.loads(path.read_text())
            version = data.pop("schema_version")
            state = ArchiveState(**data)
        except (ValueError, KeyError, TypeError) as exc:
            raise schema.LogSchemaError(f"{path} is not a participant-log archive state "
                                        f"({exc}); pass another archive path") from exc
        if not 1 <= version <= schema.SCHEMA_VERSION:
            raise schema.LogSchemaError(
                f"{path} has participant-log schema version {version}; this mezon_nb reads "
                f"1 to {schema.SCHEMA_VERSION}. Upgrade mezon_nb or pass another archive.")
        return state

    def _read_channels(self) -> dict[str, tuple]:
        path = self.root / "channels.parquet"
        if not path.exists():
            return {}
        t = pq.read_table(path).to_pylist()
        return {str(r["channel_id"]): (None if r["clan_id"] is None else str(r["clan_id"]),
                                       r["label"], r["first_seq"]) for r in t}


def snapshot_ids(snap: Snapshot) -> dict[str, np.ndarray]:
    """The int64 value of every id in the snapshot's tables (clan, channel, user), checked.

    >>> from mezon_nb.analytics.store import ColumnStore
    >>> s = ColumnStore(); s.append((0, "joined", "live", "1", "6", "5", "ann"))
    >>> {c: v.tolist() for c, v in snapshot_ids(s.snapshot()).items()}
    {'clan_id': [1], 'channel_id': [6], 'user_id': [5]}
    """
    return {c: id_lut(snap.tables[c], c) for c in ("clan_id", "channel_id", "user_id")}


def first_seen(snap: Snapshot, first_seq: int, known: dict[str, tuple]) -> dict[str, int]:
    """``{channel_id: seq}`` of the first row of each channel of ``snap`` not in ``known``.

    >>> from mezon_nb.analytics.store import ColumnStore
    >>> s = ColumnStore(); s.append((0, "ended", "live", "1", "6", None, None))
    >>> first_seen(s.snapshot(), 10, {})
    {'6': 10}
    """
    codes, where = np.unique(snap.codes["channel_id"], return_index=True)
    table = snap.tables["channel_id"]
    return {table[c]: first_seq + int(i) for c, i in zip(codes.tolist(), where.tolist())
            if table[c] not in known}


def _file_order(snap: Snapshot, day: np.ndarray, ids: dict[str, np.ndarray]) -> np.ndarray:
    """Row order in the files: partition (day, clan), channel and user by id value, time, seq.

    One stable sort of a packed int64 key over the rows in time order (a lexsort when the key
    does not fit in 63 bits).
    """
    t = snap.time
    by_time = np.arange(len(t)) if np.all(t[1:] >= t[:-1]) else np.argsort(t, kind="stable")
    keys = [day - day.min()] + [np.append(np.argsort(np.argsort(ids[c])), -1)[snap.codes[c]] + 1
                                for c in ("clan_id", "channel_id", "user_id")]
    widths = [max(int(k.max()).bit_length(), 1) for k in keys]
    if sum(widths) > 62:
        return np.lexsort((np.arange(len(t)), t, *keys[::-1]))
    packed = np.zeros(len(t), np.int64)
    for k, w in zip(keys, widths):
        packed = (packed << w) | k
    return by_time[np.argsort(packed[by_time], kind="stable")]


def _write_events(table: pa.Table, path: str) -> None:
    pq.write_table(table, path, compression="snappy", row_group_size=64 * 1024,
                   use_dictionary=["kind", "source", "channel_id", "participant"],
                   column_encoding={c: "DELTA_BINARY_PACKED" for c in ("seq", "time", "user_id")})


def _write_sessions(table: pa.Table, path: str) -> None:
    pq.write_table(table, path, compression="snappy", row_group_size=64 * 1024,
                   use_dictionary=["channel_id", "clan_id", "user_id", "participant"],
                   column_encoding={c: "DELTA_BINARY_PACKED" for c in ("ref_t", "left_at",
                                                                       "ref_seq")})


def _strings(codes: np.ndarray, values: list[str]) -> pa.Array:
    """Plain strings (Parquet dictionary-encodes each file with only the values it holds)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0),
                                          pa.array(values, pa.string())).cast(pa.string())


def _first_seq(path: Path) -> int:
    name = path.name.split(".")[0]
    return int(name.removeprefix("part-")) if name.startswith("part-") else -1


def _write_atomic(path: Path, write) -> None:
    """Write through ``write(tmp_path)``, fsync, then rename over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    write(str(tmp))
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


__all__ = ["CHANNEL_SCHEMA", "EVENT_SCHEMA", "PARTITIONING", "ArchiveState", "EventArchive",
           "first_seen", "id_lut", "snapshot_ids"]
