"""Columnar in-memory event storage: int64 times and integer codes into interned string tables.

One event costs 26 bytes of columns (``time`` int64, ``kind`` and ``source`` int8, four int32
codes: clan, channel, user, participant) plus its share of the string tables, which grow with the
number of distinct ids, not events. Channel labels are a per-channel dimension (``label_of``),
not a per-row column. Columns are ``array.array`` (amortised O(1) append, no per-row objects);
:meth:`ColumnStore.snapshot` copies them into numpy (fast, under the log's lock) and
:func:`frame` builds the pandas table from that copy (outside it).

>>> s = ColumnStore()
>>> s.append((1_700_000_000_000_000_000, "joined", "live", "1", "6", "5", "ann"))
>>> s.set_label("6", "Live")
True
>>> s.frame()[["kind", "channel_label", "user_id"]].values.tolist()
[['joined', 'Live', '5']]
"""

from __future__ import annotations

import array
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from mezon_nb.analytics import schema

#: An event row as the ingest rules produce it: (time_ns, kind, source, clan_id, channel_id,
#: user_id, participant); ids and names are ``str`` or ``None``.
Row = tuple[int, str, str, "str | None", str, "str | None", "str | None"]

_KIND_CODE = {k: i for i, k in enumerate(schema.KINDS)}
_SOURCE_CODE = {s: i for i, s in enumerate(schema.SOURCES)}


class Interner(dict):
    """``str -> int`` codes assigned on first sight; ``None`` is code -1; ``values[code]`` back.

    >>> t = Interner()
    >>> [t["a"], t["b"], t["a"], t[None]], t.values
    ([0, 1, 0, -1], ['a', 'b'])
    """

    def __init__(self) -> None:
        super().__init__({None: -1})
        self.values: list[str] = []  # type: ignore[assignment]  # shadows dict.values

    def __missing__(self, key: str) -> int:
        code = len(self.values)
        self.values.append(key)
        self[key] = code
        return code


def _factorize(values: Any) -> tuple[np.ndarray, Sequence]:
    """(codes, uniques) of a column, -1 for missing; categoricals are taken as they are."""
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        return np.asarray(values.cat.codes), values.cat.categories
    return pd.factorize(pd.Series(values, dtype=object))


class Snapshot(NamedTuple):
    """Copied columns of a :class:`ColumnStore` (numpy arrays, code -> string lists).

    >>> ColumnStore().snapshot().labels
    []
    """

    time: np.ndarray
    kind: np.ndarray
    source: np.ndarray
    codes: dict[str, np.ndarray]
    tables: dict[str, list[str]]
    label_of: np.ndarray
    labels: list[str]


def frame(snap: Snapshot) -> pd.DataFrame:
    """The tidy event table (see :data:`schema.EVENT_COLUMNS`) of a snapshot.

    >>> frame(ColumnStore().snapshot()).shape
    (0, 8)
    """
    ids = {c: schema.id_categorical(snap.codes[c], snap.tables[c]) for c in snap.codes}
    channels = snap.codes["channel_id"]
    pad = len(snap.tables["channel_id"]) - len(snap.label_of) + 1
    label_of = np.append(snap.label_of, np.full(pad, -1, np.int32))  # -1 maps to -1
    ids["channel_label"] = schema.id_categorical(label_of[channels], snap.labels)
    time = pd.DatetimeIndex(snap.time.view("M8[ns]")).tz_localize("UTC")
    return schema.events_frame(time, pd.Categorical.from_codes(snap.kind, dtype=schema.KIND), ids,
                               pd.Categorical.from_codes(snap.source, dtype=schema.SOURCE))


class ColumnStore:
    """Append-only event columns; not thread-safe on its own (the log holds a lock).

    >>> ColumnStore().frame().shape
    (0, 8)
    """

    ID_TABLES = ("clan_id", "channel_id", "user_id", "participant")

    def __init__(self) -> None:
        self.time = array.array("q")
        self.kind = array.array("b")
        self.source = array.array("b")
        self.codes = {c: array.array("i") for c in self.ID_TABLES}
        self.tables = {c: Interner() for c in self.ID_TABLES}
        self.labels = Interner()
        self.label_of = array.array("i")  # channel code -> label code (-1: unknown)
        # (append, code-of) per id column, bound once: append() is on the per-event path
        self._id_columns = tuple((self.codes[c].append, self.tables[c].__getitem__)
                                 for c in self.ID_TABLES)

    def __len__(self) -> int:
        return len(self.time)

    def append(self, row: Row) -> None:
        """Append one row (see :data:`Row`).

        >>> s = ColumnStore(); s.append((0, "left", "live", "1", "6", "5", None)); len(s)
        1
        """
        self.time.append(row[0])
        self.kind.append(_KIND_CODE[row[1]])
        self.source.append(_SOURCE_CODE[row[2]])
        (a0, c0), (a1, c1), (a2, c2), (a3, c3) = self._id_columns
        a0(c0(row[3]))
        a1(c1(row[4]))
        a2(c2(row[5]))
        a3(c3(row[6]))

    def extend(self, rows: list[Row]) -> None:
        """Append many rows, column by column (the per-value work runs in C).

        >>> s = ColumnStore(); s.extend([(i, "joined", "live", "1", "6", str(i), None)
        ...                              for i in range(10)]); s.tables["user_id"].values[-1]
        '9'
        """
        if len(rows) < 8:
            for row in rows:
                self.append(row)
            return
        t, kind, source, *ids = zip(*rows)
        self.time.extend(t)
        self.kind.extend(map(_KIND_CODE.__getitem__, kind))
        self.source.extend(map(_SOURCE_CODE.__getitem__, source))
        for name, values in zip(self.ID_TABLES, ids):
            self.codes[name].extend(map(self.tables[name].__getitem__, values))

    def extend_codes(self, time: np.ndarray, kind: np.ndarray, source: np.ndarray,
                     codes: Mapping[str, Any], tables: Mapping[str, Sequence[str]]) -> None:
        """Bulk-append coded columns; ``tables[c][code]`` is the string a code of ``c`` means.

        >>> s = ColumnStore()
        >>> s.extend_codes([0], [0], [0], {c: [0] for c in s.ID_TABLES},
        ...                {c: [c[:4]] for c in s.ID_TABLES})
        >>> s.frame()[["clan_id", "user_id"]].values.tolist()
        [['clan', 'user']]
        """
        self.time.frombytes(np.asarray(time, np.int64).tobytes())
        self.kind.frombytes(np.asarray(kind, np.int8).tobytes())
        self.source.frombytes(np.asarray(source, np.int8).tobytes())
        for name in self.ID_TABLES:
            interner = self.tables[name]
            lut = np.array([interner[v] for v in tables[name]] + [-1], np.int32)
            self.codes[name].frombytes(lut[np.asarray(codes[name], np.int64)].tobytes())

    def extend_columns(self, time: np.ndarray, kind: Sequence, source: Sequence,
                       ids: dict[str, Sequence]) -> None:
        """Bulk-append columns of strings (``None``/NaN for missing), e.g. read from Parquet.

        >>> s = ColumnStore()
        >>> s.extend_columns([0, 1], ["joined", "left"], ["live", "live"],
        ...                  {c: ["7", None] for c in s.ID_TABLES})
        >>> s.frame()["user_id"].tolist()
        ['7', nan]
        """
        enums = []
        for values, lut in ((kind, _KIND_CODE), (source, _SOURCE_CODE)):
            cats = pd.Categorical(values)
            enums.append(np.array([lut[c] for c in cats.categories], np.int8)[cats.codes])
        factorized = {c: _factorize(ids[c]) for c in self.ID_TABLES}
        self.extend_codes(time, enums[0], enums[1], {c: f[0] for c, f in factorized.items()},
                          {c: list(f[1]) for c, f in factorized.items()})

    def slice(self, start: int, stop: int) -> tuple[np.ndarray, ...]:
        """Copies of rows ``start:stop``: time, kind, source, then the four id code columns.

        >>> s = ColumnStore(); s.append((9, "left", "live", "1", "6", "5", None))
        >>> [c.tolist() for c in s.slice(0, 1)]
        [[9], [1], [0], [0], [0], [0], [-1]]
        """
        cols = (self.time, self.kind, self.source, *(self.codes[c] for c in self.ID_TABLES))
        return tuple(np.array(c[start:stop]) for c in cols)

    def set_label(self, channel_id: str, label: str) -> bool:
        """Name a channel; True if that changed anything.

        >>> s = ColumnStore(); s.set_label("6", "Live"), s.set_label("6", "Live")
        (True, False)
        """
        code = self.tables["channel_id"][channel_id]
        missing = code + 1 - len(self.label_of)
        if missing > 0:
            self.label_of.extend([-1] * missing)
        new = self.labels[label]
        changed = self.label_of[code] != new
        self.label_of[code] = new
        return changed

    def label(self, channel_id: str) -> str | None:
        """The channel's label, or ``None``.

        >>> s = ColumnStore(); s.set_label("6", "Live"); (s.label("6"), s.label("8"))
        True
        ('Live', None)
        """
        code = self.tables["channel_id"].get(channel_id, -1)
        if 0 <= code < len(self.label_of) and self.label_of[code] >= 0:
            return self.labels.values[self.label_of[code]]
        return None

    def snapshot(self) -> Snapshot:
        """A copy of the columns and string tables (cheap: no per-row objects).

        >>> ColumnStore().snapshot().time.dtype
        dtype('int64')
        """
        n = len(self.time)
        return Snapshot(
            np.frombuffer(self.time, np.int64, n).copy(), np.frombuffer(self.kind, np.int8, n).copy(),
            np.frombuffer(self.source, np.int8, n).copy(),
            {c: np.frombuffer(self.codes[c], np.int32, n).copy() for c in self.ID_TABLES},
            {c: list(self.tables[c].values) for c in self.ID_TABLES},
            np.frombuffer(self.label_of, np.int32).copy(), list(self.labels.values))

    def frame(self) -> pd.DataFrame:
        """The tidy event table (see :data:`schema.EVENT_COLUMNS`), a copy.

        >>> ColumnStore().frame().columns[0]
        'time'
        """
        return frame(self.snapshot())

    def last_time(self) -> pd.Timestamp | None:
        """The time of the newest row, or ``None``.

        >>> ColumnStore().last_time() is None
        True
        """
        if not len(self.time):
            return None
        return pd.Timestamp(int(np.max(np.frombuffer(self.time, np.int64))), tz="UTC")

    def nbytes(self) -> int:
        """Bytes held by the columns (not the string tables).

        >>> ColumnStore().nbytes()
        0
        """
        cols = [self.time, self.kind, self.source, self.label_of, *self.codes.values()]
        return sum(c.buffer_info()[1] * c.itemsize for c in cols)


__all__ = ["ColumnStore", "Interner", "Row", "Snapshot", "frame"]
