"""Who is watching now, folded from participant-log rows (shared by the viewer and the panel).

A ``message`` row (someone spoke in the chat) marks that watcher as talking: their ``messages``
count and ``spoke`` (epoch seconds of their last message) appear in their watcher dict.

An :class:`Audience` reads the rows of a ``ParticipantLog`` (``log.follow``: the table so
far, then every new row, each exactly once). The log has already applied the ingest rules
(one stream per user, reconnect snapshots, a stream's end closing its sessions), so a row says
who joined or left and the audience only keeps the current set; ``listeners`` hear about every applied change as a
small delta dict (what the panel sends to the browser). Thread-safe: rows arrive on the
library's loop thread while the notebook reads counts on the main thread.

>>> audience = Audience()
>>> delta = audience.apply({"time": 10.0, "kind": "joined", "channel_id": "7",
...                         "channel_label": "demo", "user_id": "u1", "participant": "ann"})
>>> audience.count("7"), delta["count"], delta["total"]
(1, 1, 1)
>>> audience.watchers("7")
[{'user_id': 'u1', 'participant': 'ann', 'since': 10.0}]
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

_KINDS = ("joined", "left", "started", "ended", "message")


class FollowedLog(Protocol):
    """What an :class:`Audience` reads: ``mezon_nb.analytics.ParticipantLog`` is the one."""

    def follow(self, fn: Callable[[dict], Any]) -> tuple[pd.DataFrame, Callable[[], None]]:
        """The rows so far, and ``fn(row)`` for each later one; returns (table, unsubscribe)."""
        ...


def _text(value: Any) -> str:
    """A row cell as text ('' for None/NaN from a DataFrame)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def epoch_seconds(value: Any) -> float:
    """A row's ``time`` (pandas Timestamp, datetime or number) as float epoch seconds.

    >>> epoch_seconds(dt.datetime(1970, 1, 1, 0, 1, tzinfo=dt.timezone.utc))
    60.0
    """
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return float(value.timestamp())


class Audience:
    """Current viewers per channel, a viewer-count history, and the latest joins and leaves.

    ``channel_id`` limits everything to one channel; ``history`` bounds the kept count changes
    and ``ticker`` the kept events.

    >>> Audience(channel_id="7").apply({"time": 1.0, "kind": "joined", "channel_id": "8",
    ...                                 "user_id": "u1", "participant": "bo"}) is None
    True
    """

    def __init__(self, channel_id: str | None = None, history: int = 2000,
                 ticker: int = 20) -> None:
        self.channel_id = channel_id
        self.listeners: list[Callable[[dict], Any]] = []
        self._lock = threading.Lock()
        self._folding = threading.RLock()  # held by follow() while it folds the first table
        self._watching: dict[str, dict[str, dict]] = {}
        self._labels: dict[str, str] = {}
        self._series: deque = deque(maxlen=history)   # (time, total viewers)
        self._ticker: deque = deque(maxlen=ticker)
        self._seq = 0
        self._unsubscribe: Callable[[], Any] | None = None

    @classmethod
    def follow(cls, log: FollowedLog, channel_id: str | None = None,
               **options: Any) -> Audience:
        """Fold the log's rows so far, then each new one (call :meth:`close` to stop).

        >>> from types import SimpleNamespace as Row
        >>> from mezon_nb.analytics import ParticipantLog
        >>> log = ParticipantLog()
        >>> log.reconcile([Row(channel_id="7", user_id="5", participant="ann")], clan_id="1")
        >>> audience = Audience.follow(log)
        >>> log.reconcile([Row(channel_id="7", user_id="6", participant="bo")], clan_id="1")
        >>> audience.count("7"), [w["participant"] for w in audience.watchers("7")]
        (1, ['bo'])
        >>> audience.close()
        """
        audience = cls(channel_id, **options)
        with audience._folding:   # rows arriving meanwhile wait until the table is folded
            table, audience._unsubscribe = log.follow(audience.apply)
            for row in table.to_dict("records"):
                audience.apply(row, notify=False)
        return audience

    def close(self) -> None:
        """Stop following the log (idempotent).

        >>> Audience().close()
        """
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    def apply(self, row: dict, notify: bool = True) -> dict | None:
        """Apply one log row; returns the delta sent to listeners (None if it changes nothing).

        >>> delta = Audience().apply({"time": 1.0, "kind": "left", "channel_id": "7",
        ...                           "user_id": "u"})
        >>> delta["seq"], delta["event"]["kind"], delta["count"]
        (1, 'left', 0)
        """
        channel, kind, user = (_text(row.get(k)) for k in ("channel_id", "kind", "user_id"))
        if kind not in _KINDS or (self.channel_id is not None and channel != self.channel_id):
            return None
        when = epoch_seconds(row["time"])
        name = _text(row.get("participant")) or user
        with self._folding, self._lock:
            watchers = self._watching.setdefault(channel, {})
            if _text(row.get("channel_label")):
                self._labels[channel] = _text(row.get("channel_label"))
            if kind == "joined":
                watchers.setdefault(user, {"user_id": user, "participant": name, "since": when})
            elif kind == "left":
                watchers.pop(user, None)
            elif kind == "ended":
                watchers.clear()
            elif kind == "message" and user in watchers:
                watcher = watchers[user]
                watcher["messages"] = watcher.get("messages", 0) + 1
                watcher["spoke"] = when
            total = sum(len(w) for w in self._watching.values())
            if not self._series or self._series[-1][1] != total:
                self._series.append((when, total))
            event = {"time": when, "kind": kind, "channel_id": channel,
                     "channel_label": self._labels.get(channel, channel), "user_id": user,
                     "participant": name}
            self._ticker.append(event)
            self._seq += 1
            delta = {"seq": self._seq, "event": event, "count": len(watchers), "total": total}
        if notify:
            for listener in list(self.listeners):
                listener(delta)
        return delta

    def count(self, channel_id: str | None = None) -> int:
        """Viewers watching ``channel_id`` now (all followed channels with None).

        >>> Audience().count("7")
        0
        """
        with self._lock:
            if channel_id is None:
                return sum(len(w) for w in self._watching.values())
            return len(self._watching.get(channel_id, {}))

    def watchers(self, channel_id: str) -> list[dict]:
        """Who watches ``channel_id`` now: ``user_id``, ``participant``, ``since`` (epoch s),
        and for those who spoke in the chat ``messages`` and ``spoke`` (epoch s).

        >>> audience = Audience()
        >>> row = {"kind": "joined", "channel_id": "7", "user_id": "u", "participant": "ann"}
        >>> _ = audience.apply({**row, "time": 1.0}), audience.apply({**row, "time": 2.0,
        ...                                                           "kind": "message"})
        >>> audience.watchers("7")
        [{'user_id': 'u', 'participant': 'ann', 'since': 1.0, 'messages': 1, 'spoke': 2.0}]
        """
        with self._lock:
            return self._sorted(self._watching.get(channel_id, {}))

    @staticmethod
    def _sorted(watchers: dict[str, dict]) -> list[dict]:
        return sorted(watchers.values(), key=lambda w: w["since"])

    def snapshot(self) -> dict:
        """The whole state as one JSON-ready dict (a frontend's first paint or a resync).

        >>> Audience().snapshot()["seq"]
        0
        """
        with self._lock:
            channels = {
                channel: {"label": self._labels.get(channel, channel),
                          "watchers": self._sorted(w)}
                for channel, w in self._watching.items()
            }
            return {"seq": self._seq, "channels": channels,
                    "series": [list(point) for point in self._series],
                    "ticker": list(self._ticker)}


__all__ = ["Audience", "FollowedLog", "epoch_seconds"]
