"""Viewers over time per channel: the step function of open sessions, exact or binned.

``viewers`` at a time is the number of sessions with ``joined_at <= time < left_at`` (open
sessions never end). Sessions with an unknown start are left out: when they began is unknown.
With ``freq=None`` there is one row per instant the count changes, holding the count *after*
every join and leave of that instant (a session that starts and ends in the same instant never
shows). With a ``freq`` (``"1min"``, ``"15s"``, ``"1h"``), bins are aligned to the epoch and
each holds the **maximum** viewers at any moment in the bin (the count carried into the bin
included), from the channel's first bin to the bin holding ``until`` (default: the last session
boundary of the table).

>>> from mezon_nb.analytics import demo_events
>>> from mezon_nb.analytics.sessions import sessions
>>> c = concurrency(sessions(demo_events()), freq=None, channel_id="6")
>>> [(str(t.time()), v) for t, v in zip(c["time"], c["viewers"])]
[('10:00:00', 1), ('10:10:00', 2), ('10:30:00', 1), ('10:40:00', 2), ('11:00:00', 1)]
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from mezon_nb.analytics import schema
from mezon_nb.analytics.schema import codes, column_ns, to_time

_NAT = np.iinfo(np.int64).min


def concurrency(sessions: pd.DataFrame, freq: str | None = "1min", channel_id: str | None = None,
                until: pd.Timestamp | None = None) -> pd.DataFrame:
    """Viewers over time, long format: :data:`~mezon_nb.analytics.schema.CONCURRENCY_COLUMNS`.

    >>> from mezon_nb.analytics import demo_events
    >>> from mezon_nb.analytics.sessions import sessions
    >>> c = concurrency(sessions(demo_events()), freq="30min", channel_id="6")
    >>> c["viewers"].tolist()
    [2, 2, 1]
    """
    s = sessions[~sessions["start_unknown"]]
    if channel_id is not None:
        s = s[s["channel_id"] == str(channel_id)]
    ch, joined, left = codes(s["channel_id"]), column_ns(s["joined_at"]), column_ns(s["left_at"])
    closed = left != _NAT
    t, c, level = _steps(np.concatenate([joined, left[closed]]),
                         np.concatenate([ch, ch[closed]]),
                         np.concatenate([np.ones(len(joined), np.int64),
                                         -np.ones(int(closed.sum()), np.int64)]))
    if freq is not None and len(t):
        end = max(int(t.max()), pd.Timestamp(until).value if until is not None else _NAT)
        t, c, level = _binned(t, c, level, pd.to_timedelta(freq).value, end)
    cats = sessions["channel_id"].cat.categories if len(sessions) else []
    return pd.DataFrame({"channel_id": schema.id_categorical(c, cats),
                         "time": to_time(t), "viewers": level})


def _steps(t: np.ndarray, c: np.ndarray, delta: np.ndarray):
    """Sum the +1/-1 deltas per (channel, instant) and run the count within each channel."""
    by_time = np.argsort(t)  # ties need no order: they are summed
    narrow = np.int16 if c.max(initial=0) < 2**15 else np.int32  # int16: a radix sort
    order = by_time[np.argsort(c[by_time].astype(narrow), kind="stable")]
    t, c, delta = t[order], c[order], delta[order]
    new = np.ones(len(t), bool)
    new[1:] = (c[1:] != c[:-1]) | (t[1:] != t[:-1])
    starts = np.flatnonzero(new)
    total = np.add.reduceat(delta, starts) if len(starts) else delta
    changed = total != 0
    t, c, total = t[starts][changed], c[starts][changed], total[changed]
    running = np.cumsum(total)
    first = np.ones(len(c), bool)
    first[1:] = c[1:] != c[:-1]
    base = (running - total)[first]  # the running count before each channel's first instant
    return t, c, running - base[np.cumsum(first) - 1]


def _binned(t: np.ndarray, c: np.ndarray, level: np.ndarray, step: int, end: int):
    """Max viewers per ``step``-ns bin, per channel, from its first bin to the bin of ``end``."""
    out_t, out_c, out_v = [], [], []
    bounds = np.flatnonzero(np.r_[True, c[1:] != c[:-1], True])
    for lo, hi in pairwise(bounds):  # one pass per channel
        tc, lc = t[lo:hi], level[lo:hi]
        first = tc[0] // step
        grid = np.arange(first, end // step + 1) * step
        at = np.searchsorted(tc, grid, side="right") - 1
        peak = np.where(at >= 0, lc[np.maximum(at, 0)], 0)
        np.maximum.at(peak, tc // step - first, lc)
        out_t.append(grid)
        out_c.append(np.full(len(grid), c[lo]))
        out_v.append(peak)
    return np.concatenate(out_t), np.concatenate(out_c), np.concatenate(out_v)


__all__ = ["concurrency"]
