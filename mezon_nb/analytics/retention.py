"""Retention: the share of sessions still watching ``t`` after they joined (Kaplan–Meier).

Open sessions are *right-censored*: they are known to have lasted at least their ``duration``
(measured to ``until``, see :mod:`mezon_nb.analytics.sessions`), so they count as at risk up to
that point and then drop out without counting as a leave. Sessions with an unknown start carry
no duration and are left out. Leaves and censorings at the same duration: leaves first (the
usual Kaplan–Meier convention). Zero-length sessions leave at ``t = 0``.

>>> from mezon_nb.analytics import demo_events
>>> from mezon_nb.analytics.sessions import sessions
>>> r = retention(sessions(demo_events()))
>>> r.round({"retained": 2})
         duration  at_risk  left  censored  retained
0 0 days 00:00:00        4     0         1      1.00
1 0 days 00:20:00        3     1         0      0.67
2 0 days 00:30:00        2     1         0      0.33
3 0 days 00:50:00        1     0         1      0.33
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mezon_nb.analytics import schema


def retention(sessions: pd.DataFrame, channel_id: str | None = None) -> pd.DataFrame:
    """Survival curve, one row per distinct duration (:data:`schema.RETENTION_COLUMNS`).

    ``retained`` is the estimated share still watching just after ``duration``; the first row
    is ``duration = 0``. Returns an empty frame when no session has a known start.

    >>> from mezon_nb.analytics.sessions import sessions
    >>> from mezon_nb.analytics import demo_events
    >>> retention(sessions(demo_events()), channel_id="8")["retained"].tolist()
    [1.0]
    """
    s = sessions[sessions["duration"].notna()]
    if channel_id is not None:
        s = s[s["channel_id"] == str(channel_id)]
    d = s["duration"].to_numpy("m8[ns]").view("i8")
    observed = ~s["open"].to_numpy(bool)
    times, inverse = np.unique(d, return_inverse=True)
    left = np.bincount(inverse, weights=observed, minlength=len(times)).astype(np.int64)
    return survival(times, left, np.bincount(inverse, minlength=len(times)) - left)


def survival(times: np.ndarray, left: np.ndarray, censored: np.ndarray) -> pd.DataFrame:
    """The Kaplan–Meier table of distinct durations (ns, ascending) with the number of
    sessions that ended (``left``) and that are still open (``censored``) at each.

    >>> table = survival(np.array([0, 60 * 10**9]), np.array([1, 1]), np.array([0, 1]))
    >>> table["retained"].round(3).tolist()
    [0.667, 0.333]
    """
    times = np.asarray(times, np.int64)
    gone = left + censored
    total = int(gone.sum())
    at_risk = total - np.cumsum(gone) + gone
    retained = np.cumprod(1.0 - left / np.maximum(at_risk, 1))
    if len(times) and times[0] > 0:
        times, at_risk = np.r_[0, times], np.r_[total, at_risk]
        left, censored, retained = np.r_[0, left], np.r_[0, censored], np.r_[1.0, retained]
    return pd.DataFrame({"duration": pd.to_timedelta(times.view("m8[ns]")), "at_risk": at_risk,
                         "left": left, "censored": censored,
                         "retained": retained}, columns=list(schema.RETENTION_COLUMNS))


__all__ = ["retention", "survival"]
