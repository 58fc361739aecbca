"""Chat activity: the ``kind="message"`` rows of the event table, counted per viewer, channel, bin.

A chat message the bot receives is one event row: ``user_id``/``participant`` are the sender,
``time`` when it arrived (the text itself is not logged, only that someone spoke). With a
``freq`` (``"1min"``, ``"15s"``), bins are aligned to the epoch and run from the channel's first
message to the bin holding ``until`` (default: the last message), empty bins included.

>>> from mezon_nb.analytics.demo import demo_chat_events
>>> events = demo_chat_events()
>>> message_counts(events, "user_id").to_dict()
{'5': 2, '7': 1}
>>> chat_activity(events, freq="10min")[["time", "messages"]].values.tolist()
[[Timestamp('2026-01-01 10:00:00+0000', tz='UTC'), 2],
 [Timestamp('2026-01-01 10:10:00+0000', tz='UTC'), 0],
 [Timestamp('2026-01-01 10:20:00+0000', tz='UTC'), 1]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mezon_nb.analytics import schema
from mezon_nb.analytics.schema import codes, column_ns, to_time

_NAT = np.iinfo(np.int64).min


def message_rows(events: pd.DataFrame, channel_id: str | None = None) -> pd.DataFrame:
    """The chat rows of an event table (all channels, or one).

    >>> from mezon_nb.analytics.demo import demo_chat_events
    >>> len(message_rows(demo_chat_events())), len(message_rows(demo_chat_events(), "8"))
    (3, 0)
    """
    keep = (events["kind"] == "message").to_numpy()
    if channel_id is not None:
        keep = keep & (events["channel_id"] == str(channel_id)).to_numpy()
    return events[keep]


def message_counts(events: pd.DataFrame, by: str = "user_id") -> pd.Series:
    """Messages per ``by`` value (``"user_id"`` or ``"channel_id"``), an int64 Series by id.

    >>> from mezon_nb.analytics.demo import demo_chat_events
    >>> message_counts(demo_chat_events(), "channel_id").to_dict()
    {'6': 3}
    """
    rows = message_rows(events)
    counts = rows.groupby(rows[by].astype(str), sort=False).size()
    return counts.rename("messages").rename_axis(by).astype("int64")


def chat_activity(events: pd.DataFrame, freq: str = "1min", channel_id: str | None = None,
                  until: pd.Timestamp | None = None) -> pd.DataFrame:
    """Messages per time bin and channel, long format:
    :data:`~mezon_nb.analytics.schema.CHAT_COLUMNS` (``channel_id``, ``time``, ``messages``).

    >>> from mezon_nb.analytics.demo import demo_chat_events
    >>> chat_activity(demo_chat_events(), "1h")["messages"].tolist()
    [3]
    """
    rows = message_rows(events, channel_id)
    step = pd.to_timedelta(freq).value
    t, c = column_ns(rows["time"]), codes(rows["channel_id"])
    end = max(int(t.max(initial=_NAT)), pd.Timestamp(until).value if until is not None else _NAT)
    out_t, out_c, out_n = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for channel in np.unique(c):
        bins = t[c == channel] // step
        first = int(bins.min())
        counts = np.bincount(bins - first, minlength=end // step - first + 1)
        out_t.append((first + np.arange(len(counts))) * step)
        out_c.append(np.full(len(counts), channel))
        out_n.append(counts.astype(np.int64))  # type: ignore[arg-type, unused-ignore]
    cats = events["channel_id"].cat.categories if len(events) else []
    return pd.DataFrame({"channel_id": schema.id_categorical(np.concatenate(out_c), cats),
                         "time": to_time(np.concatenate(out_t)),
                         "messages": np.concatenate(out_n)})


__all__ = ["chat_activity", "message_counts", "message_rows"]
