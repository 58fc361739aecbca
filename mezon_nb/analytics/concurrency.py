"""Viewers over time per channel: the step function of open sessions, exact or binned.

``viewers`` at a time is the number of sessions with ``joined_at <= time < left_at`` (open
sessions never end). Sessions with an unknown start are left out: when they began is unknown.
With ``freq=None`` there is one row per instant the count changes, holding the count *after*
every join and leave of that instant (a session that starts and ends in the same instant never
shows). With a ``freq`` (``"1min"``, ``"15s"``, ``"1h"``), bins are aligned to the epoch and run
from the channel's first bin to the bin holding ``until`` (default: the last session boundary of
the table; :meth:`ParticipantLog.concurrency` passes the time of the log's last event). Each bin
holds, with ``how="max"`` (the default), the **maximum** viewers at any moment in the bin, the
count carried into the bin included; with ``how="mean"``, the **time-weighted mean** over the
part of the bin before ``until`` (a float: viewer-seconds / seconds), so
``sum(mean * observed bin length)`` is the total watch time.

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
                until: pd.Timestamp | None = None, how: str = "max") -> pd.DataFrame:
    """Viewers over time, long format: :data:`~mezon_nb.analytics.schema.CONCURRENCY_COLUMNS`.

    >>> from mezon_nb.analytics import demo_events
    >>> from mezon_nb.analytics.sessions import sessions
    >>> c = concurrency(sessions(demo_events()), freq="30min", channel_id="6")
    >>> c["viewers"].tolist()
    [2, 2, 1]
    >>> concurrency(sessions(demo_events()), "30min", "6", how="mean")["viewers"].round(2).tolist()
    [1.67, 1.67, 1.0]
    """
    if how not in ("max", "mean"):
        raise ValueError(f"how= must be 'max' or 'mean', not {how!r}")
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
        t, c, level = _binned(t, c, level, pd.to_timedelta(freq).value, end, how)
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


def _binned(t: np.ndarray, c: np.ndarray, level: np.ndarray, step: int, end: int, how: str):
    """Max (or time-weighted mean) viewers per ``step``-ns bin, per channel, up to ``end``."""
    out_t, out_c, out_v = [], [], []
    bounds = np.flatnonzero(np.r_[True, c[1:] != c[:-1], True])
    for lo, hi in pairwise(bounds):  # one pass per channel
        tc, lc = t[lo:hi], level[lo:hi]
        first = tc[0] // step
        grid = np.arange(first, end // step + 1) * step
        at = np.searchsorted(tc, grid, side="right") - 1
        carried = np.where(at >= 0, lc[np.maximum(at, 0)], 0)
        if how == "max":
            value = carried
            np.maximum.at(value, tc // step - first, lc)
        else:
            start, stop = np.minimum(grid, end), np.minimum(grid + step, end)
            width = stop - start
            area = _area_until(tc, lc, stop) - _area_until(tc, lc, start)
            value = np.where(width > 0, area / np.maximum(width, 1), carried)
        out_t.append(grid)
        out_c.append(np.full(len(grid), c[lo]))
        out_v.append(value)
    return np.concatenate(out_t), np.concatenate(out_c), np.concatenate(out_v)


def _area_until(tc: np.ndarray, lc: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The integral of the step function (``lc`` from each ``tc`` on, 0 before) up to ``x``."""
    before = np.r_[0, np.cumsum(lc[:-1] * np.diff(tc))]  # area up to each change
    i = np.searchsorted(tc, x, side="right") - 1
    inside = np.maximum(i, 0)
    return np.where(i >= 0, before[inside] + lc[inside] * (x - tc[inside]), 0)


__all__ = ["concurrency"]
