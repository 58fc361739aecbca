"""Sessionisation: the event table becomes one row per watch session, vectorised in numpy.

Rows are grouped by (channel, user) and read in time order (ties: table order). A ``joined``
opens a session unless one is already open (a repeated join continues it); the next ``left``
closes it. A ``left`` with nothing open starts a session of unknown start (``joined_at`` NaT,
``start_unknown``), unless it repeats a ``left`` (then it confirms the session already closed).
A session still open at the end has ``left_at`` NaT and ``open``; its ``duration`` runs to
``until`` (default: the time of the table's last event, so results never depend on the clock;
pass ``until=pd.Timestamp.now("UTC")`` for a live view). ``duration`` is NaT when the start is
unknown. ``reconciled`` marks a session with a boundary that was inferred (a snapshot, a diff
after a reconnect, another stream joined, the stream ended) rather than reported live.

>>> import pandas as pd
>>> from mezon_nb.analytics import demo_events
>>> s = sessions(demo_events())
>>> s[["user_id", "joined_at", "duration", "open"]].head(2)
  user_id                 joined_at        duration   open
0       5 2026-01-01 10:00:00+00:00 0 days 00:30:00  False
1       7 2026-01-01 10:10:00+00:00 0 days 00:50:00   True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mezon_nb.analytics import schema
from mezon_nb.analytics.schema import codes, column_ns, to_time

_JOINED, _LEFT = schema.KINDS.index("joined"), schema.KINDS.index("left")
_LIVE = schema.SOURCES.index("live")
_NAT = np.iinfo(np.int64).min


def last_time(events: pd.DataFrame) -> int | None:
    """The newest event time in ns, or ``None`` for an empty table.

    >>> last_time(schema.empty_events()) is None
    True
    """
    return int(column_ns(events["time"]).max()) if len(events) else None


def _group_order(key: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions sorted by key, then time, then table order; and each one's rank in time order.

    Keys and time ranks are packed into one int64 and sorted with ``np.sort`` (several times
    faster than a stable ``argsort``); huge keys fall back to the stable argsort.
    """
    n = len(t)
    by_time = np.arange(n) if np.all(t[1:] >= t[:-1]) else np.argsort(t, kind="stable")
    k, bits = key[by_time], max(n.bit_length(), 1)
    if n and int(k.max()) < 1 << (62 - bits):
        rank = np.sort((k << bits) | np.arange(n)) & ((1 << bits) - 1)
    else:
        rank = np.argsort(k, kind="stable")
    return by_time[rank], rank


def bounds(key: np.ndarray, t: np.ndarray, kind: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The session rules on join/leave rows given by group ``key`` (channel and user), time
    ``t`` (ns) and ``kind`` code, in table order: ``(order, start, end)``.

    ``order`` sorts the rows by group, time, table order; ``start`` and ``end`` are positions
    into the sorted rows of each session's opening join and closing leave (-1: unknown start,
    still open), sessions in order of their first row (time, then table order).

    >>> j, l = schema.KINDS.index("joined"), schema.KINDS.index("left")
    >>> order, start, end = bounds(np.array([0, 0, 0]), np.array([1, 2, 3]), np.array([l, j, l]))
    >>> start.tolist(), end.tolist()
    ([-1, 1], [0, 2])
    """
    order, rank = _group_order(key, t)
    k, key = kind[order], key[order]
    n = len(k)
    first = np.ones(n, bool)
    first[1:] = key[1:] != key[:-1]
    prev = np.empty(n, np.int64)
    prev[0:1] = -1
    prev[1:] = k[:-1]
    prev[first] = -1
    pos = np.arange(n)
    opens = (k == _JOINED) & (prev != _JOINED)
    start_of = np.maximum.accumulate(np.where(opens, pos, 0)) if n else pos
    closes = (k == _LEFT) & (prev == _JOINED)
    orphans = (k == _LEFT) & (prev == -1)
    last = np.ones(n, bool)
    last[:-1] = first[1:]
    still_open = (k == _JOINED) & last
    start = np.concatenate([start_of[closes], np.full(orphans.sum(), -1), start_of[still_open]])
    end = np.concatenate([pos[closes], pos[orphans], np.full(still_open.sum(), -1)])
    # order sessions by the time rank of their first row: an inverse permutation, no sort
    first_row = np.where(start >= 0, start, end)
    slot = np.full(n, -1)
    slot[rank[first_row]] = np.arange(len(first_row))
    chosen = slot[slot >= 0]
    return order, start[chosen], end[chosen]


def sessions(events: pd.DataFrame, until: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per watch session, ordered by start (or end when the start is unknown), ties
    in table order.

    Columns are :data:`~mezon_nb.analytics.schema.SESSION_COLUMNS`; see the module docstring
    for the rules. An empty table gives an empty frame with the same columns.

    >>> from mezon_nb.analytics import demo_events
    >>> sessions(demo_events()).shape
    (4, 11)
    """
    kind = codes(events["kind"].astype(schema.KIND))
    rows = np.flatnonzero(((kind == _JOINED) | (kind == _LEFT)) & (codes(events["user_id"]) >= 0))
    t = column_ns(events["time"])[rows]
    user = codes(events["user_id"])[rows]
    key = codes(events["channel_id"])[rows] * (int(user.max(initial=0)) + 1) + user
    order, start, end = bounds(key, t, kind[rows])
    return _frame(events, rows[order], t[order], start, end, until)


def _frame(events: pd.DataFrame, rows: np.ndarray, t: np.ndarray, start: np.ndarray,
           end: np.ndarray, until: pd.Timestamp | None) -> pd.DataFrame:
    """Assemble the session frame from start/end positions into the sorted joined/left rows."""
    joined = np.where(start >= 0, t[start], _NAT) if len(t) else np.full(len(start), _NAT)
    left = np.where(end >= 0, t[end], _NAT) if len(t) else np.full(len(end), _NAT)
    ref = rows[np.where(start >= 0, start, end)]
    stop = pd.Timestamp(until).value if until is not None else last_time(events)
    is_open, unknown = end < 0, start < 0
    duration = np.where(is_open, stop if stop is not None else _NAT, left) - joined
    duration = np.where(unknown, _NAT, np.maximum(duration, 0))
    source = codes(events["source"].astype(schema.SOURCE))
    inferred = np.zeros(len(start), bool)
    for bound in (start, end):
        has = bound >= 0
        inferred[has] |= source[rows[bound[has]]] != _LIVE
    out = {c: events[c].iloc[ref].reset_index(drop=True) for c in schema.ID_COLUMNS}
    out.update(joined_at=to_time(joined), left_at=to_time(left),
               duration=pd.to_timedelta(duration.view("m8[ns]")), open=is_open,
               start_unknown=unknown, reconciled=inferred)
    return pd.DataFrame({c: out[c] for c in schema.SESSION_COLUMNS})


def overlapping(sessions: pd.DataFrame, channel_id: str | None = None,
                start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
                ) -> pd.DataFrame:
    """The sessions of ``channel_id`` (all channels if ``None``) that overlap ``[start, end)``:
    begun (or, start unknown, ended) before ``end`` and open or ended at or after ``start``.

    >>> from mezon_nb.analytics import demo_events
    >>> s = sessions(demo_events())
    >>> len(overlapping(s, "6", end=pd.Timestamp("2026-01-01T10:05Z")))
    1
    """
    keep = np.ones(len(sessions), bool)
    if channel_id is not None:
        keep &= (sessions["channel_id"] == str(channel_id)).to_numpy()
    first = sessions["joined_at"].fillna(sessions["left_at"])
    if end is not None:
        keep &= (first < pd.Timestamp(end)).to_numpy()
    if start is not None:
        keep &= (sessions["open"] | (sessions["left_at"] >= pd.Timestamp(start))).to_numpy()
    return sessions if keep.all() else sessions[keep].reset_index(drop=True)


__all__ = ["bounds", "last_time", "overlapping", "sessions"]
