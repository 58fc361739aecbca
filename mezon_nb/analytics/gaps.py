"""Blind intervals: the times a participant log could not see events (``log.gaps``).

When the realtime socket is lost, joins and leaves stop arriving until the client has
reconnected and applied a snapshot of who is watching. The snapshot shows the state at its
end only: a viewer who joined and left inside the interval is missing from the log, and a
change it reveals happened at an unknown time within it. So the log keeps each interval, and
analytics can say "unknown here" instead of silently under-counting sessions.

:data:`~mezon_nb.analytics.schema.GAP_COLUMNS`: ``start`` and ``end`` (UTC), ``reason`` (what
ended the connection, e.g. ``"socket lost (code 1006)"``). ``summary()``'s ``blind_time`` is
:func:`blind_time` of them: one socket carries every channel, so it is the same on every row.

>>> gaps = gaps_frame([(0, 2_000_000_000, "socket lost (code 1006)"),
...                    (1_000_000_000, 3_000_000_000, "no pong within 10 s")])
>>> gaps["end"].tolist()[0], blind_time(gaps)
(Timestamp('1970-01-01 00:00:02+0000', tz='UTC'), Timedelta('0 days 00:00:03'))
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from mezon_nb.analytics import schema

#: One blind interval as stored: (start ns, end ns, reason), times as UTC epoch nanoseconds.
Gap = tuple[int, int, str]


def gap_row(start: datetime | pd.Timestamp, end: datetime | pd.Timestamp, reason: str) -> Gap:
    """Check and convert one interval: aware times, ``start <= end``, a ``str`` reason.

    >>> from datetime import timezone
    >>> gap_row(datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 1, 0, 0, 1,
    ...         tzinfo=timezone.utc), "socket lost")[1] - 1767225600 * 10**9
    1000000000
    >>> gap_row(datetime(2026, 1, 1), datetime(2026, 1, 2), "x")
    Traceback (most recent call last):
    ...
    ValueError: a gap's start and end must be timezone-aware (e.g. datetime.now(timezone.utc))
    """
    if not isinstance(reason, str):
        raise TypeError(f"a gap's reason must be a str, got {type(reason).__name__}")
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    if first.tzinfo is None or last.tzinfo is None:
        raise ValueError("a gap's start and end must be timezone-aware "
                         "(e.g. datetime.now(timezone.utc))")
    if last < first:
        raise ValueError(f"a gap must not end ({last}) before it starts ({first})")
    return (int(first.tz_convert("UTC").as_unit("ns").value),
            int(last.tz_convert("UTC").as_unit("ns").value), reason)


def gaps_frame(rows: Iterable[Gap]) -> pd.DataFrame:
    """The ``log.gaps`` table of stored intervals, ordered by ``start``.

    >>> gaps_frame([]).dtypes.astype(str).tolist()
    ['datetime64[ns, UTC]', 'datetime64[ns, UTC]', 'object']
    """
    rows = sorted(rows)
    starts, ends, reasons = zip(*rows) if rows else ((), (), ())
    return pd.DataFrame({"start": schema.to_time(list(starts)),
                         "end": schema.to_time(list(ends)),
                         "reason": pd.Series(list(reasons), dtype=object)},
                        columns=list(schema.GAP_COLUMNS))


def blind_time(gaps: pd.DataFrame) -> pd.Timedelta:
    """Total time covered by ``gaps`` (overlapping intervals counted once).

    >>> blind_time(gaps_frame([]))
    Timedelta('0 days 00:00:00')
    """
    total, reach = pd.Timedelta(0), None
    for start, end in sorted(zip(gaps["start"], gaps["end"])):
        if reach is not None and start < reach:
            start = reach
        if end > start:
            total += end - start
        reach = end if reach is None else max(reach, end)
    return total


__all__ = ["Gap", "blind_time", "gap_row", "gaps_frame"]
