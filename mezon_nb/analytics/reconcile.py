"""Ingest rules: turn client events and snapshots into event rows, keeping who is watching what.

The rules (the only place they live):

* A user watches one stream at a time (the Mezon web app keeps one per user): a join to a
  second channel first records a ``left`` of the first, ``source="reconciled"``.
* A ``StreamingLeaved`` carries no participant name or label: the name is filled from the open
  session (or the last name seen for that user); labels are a per-channel dimension.
* A ``StreamingEnded`` closes every open session of that channel with a reconciled ``left``.
* :meth:`SessionTracker.reconcile` diffs a snapshot (``ListStreamingChannelUsers`` after a
  (re)connect) against the open sessions of that clan: viewers gone are recorded as ``left``,
  new viewers as ``joined``, both at the snapshot time ``at`` (when it was requested). A user
  with a live event at or after ``at`` is left alone: that event is newer than the snapshot.
  Rows are ``source="snapshot"`` at the first snapshot of a clan in a new log (nothing could
  have been missed before we started) and ``"reconciled"`` after it, or after a reload from
  disk (events may have been missed while nothing ran).
  A user listed in several channels (several devices) keeps the session already open, else
  the last channel listed wins.
* A leave with no open session is recorded as is; the session analysis gives it an unknown start.
* A :class:`~mezon_nb.core.events.ChannelMessage` is one ``message`` row: the sender and
  their name (display name, else username); it opens or closes no session.

>>> from datetime import datetime, timedelta, timezone
>>> from mezon_nb.core.events import StreamingJoined
>>> t = SessionTracker()
>>> at = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> j = lambda ch: StreamingJoined(clan_id="1", clan_name="c", id="0", participant="ann",
...                                user_id="5", streaming_channel_label="", streaming_channel_id=ch,
...                                received_at=at)
>>> rows = []; t.ingest(j("6"), rows); t.ingest(j("7"), rows)
>>> [(r[1], r[2], r[4]) for r in rows]
[('joined', 'live', '6'), ('left', 'reconciled', '6'), ('joined', 'live', '7')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from mezon_nb.analytics.store import Row
from mezon_nb.core.events import (
    ChannelMessage,
    StreamingEnded,
    StreamingJoined,
    StreamingLeaved,
    StreamingStarted,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def time_ns(at: datetime) -> int:
    """Exact integer nanoseconds since the epoch; naive datetimes are taken as UTC.

    >>> time_ns(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=timezone.utc))
    1000005000
    """
    try:
        return (at - _EPOCH) // _MICROSECOND * 1_000
    except TypeError:  # naive
        return (at.replace(tzinfo=timezone.utc) - _EPOCH) // _MICROSECOND * 1_000


class SessionTracker:
    """Who is watching which channel right now, and the rows each event implies.

    ``open`` maps user_id -> (channel_id, clan_id, participant). Not thread-safe by itself.

    >>> SessionTracker().open
    {}
    """

    def __init__(self) -> None:
        self.open: dict[str, tuple[str, str | None, str | None]] = {}
        self.names: dict[str, str] = {}  # user_id -> last participant name seen
        self.clans: set[str | None] = set()  # clans snapshotted, or with rows in a reloaded log
        self.last_live: dict[str, int] = {}  # user_id -> time (ns) of their latest live event

    def ingest(self, event: Any, out: list[Row]) -> None:
        """Append the rows one client event implies to ``out``, in order; update the state.

        Raises ``TypeError`` for anything that is not a streaming event or a chat message.

        >>> from mezon_nb.core.events import StreamingEnded
        >>> out = []; SessionTracker().ingest(StreamingEnded(clan_id="1", channel_id="6"), out)
        >>> [r[1:] for r in out]
        [('ended', 'live', '1', '6', None, None)]
        """
        kind = type(event)
        if kind is StreamingJoined:
            t = self.last_live[event.user_id] = time_ns(event.received_at)
            self._join(t, "live", event.clan_id,
                       event.streaming_channel_id, event.user_id, event.participant, out)
        elif kind is StreamingLeaved:
            t = self.last_live[event.streaming_user_id] = time_ns(event.received_at)
            self._leave(t, "live", event.clan_id,
                        event.streaming_channel_id, event.streaming_user_id, out)
        elif kind is StreamingStarted:
            out.append((time_ns(event.received_at), "started", "live", event.clan_id,
                        event.channel_id, None, None))
        elif kind is StreamingEnded:
            self._end(time_ns(event.received_at), event.clan_id, event.channel_id, out)
        elif kind is ChannelMessage:
            out.append((time_ns(event.received_at), "message", "live", event.clan_id,
                        event.channel_id, event.sender_id,
                        event.sender_name or self.names.get(event.sender_id)))
        else:
            raise TypeError(f"ParticipantLog records StreamingJoined/Leaved/Started/Ended "
                            f"events and ChannelMessage, not {kind.__name__}")

    def reconcile(self, snapshot: Iterable[Any], clan_id: str, at: datetime,
                  complete: bool = True) -> list[Row]:
        """Rows that bring the open sessions of ``clan_id`` in line with ``snapshot``.

        ``snapshot`` rows need ``.channel_id``, ``.user_id`` and ``.participant``; ids may be
        ``str`` or ``int`` (never float). With ``complete=False`` (the server may have cut the
        list at its row limit) a user the snapshot does not list keeps the session it has: only
        the users it lists are joined or moved.

        >>> from types import SimpleNamespace as Row
        >>> at = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> t = SessionTracker()
        >>> [r[1:3] for r in t.reconcile([Row(channel_id=6, user_id=5, participant="a")], "1", at)]
        [('joined', 'snapshot')]
        >>> [r[1:3] for r in t.reconcile([], "1", at, complete=False)]
        []
        >>> [r[1:3] for r in t.reconcile([], "1", at)]
        [('left', 'reconciled')]
        """
        t = time_ns(at)
        source = "reconciled" if clan_id in self.clans else "snapshot"
        self.clans.add(clan_id)
        newer = {user for user, seen in self.last_live.items() if seen >= t}
        present: dict[str, tuple[str, str]] = {}  # user -> (channel, participant)
        for r in snapshot:
            user = str(r.user_id)
            if user in newer:
                continue
            if present.get(user, (None,))[0] != self.open.get(user, (0,))[0]:
                present[user] = (str(r.channel_id), r.participant)
        rows: list[Row] = []
        for user, (channel, clan, _) in list(self.open.items()):
            if (clan == clan_id and user not in newer and (complete or user in present)
                    and present.get(user, (None,))[0] != channel):
                self._leave(t, "reconciled", clan, channel, user, rows)
        for user, (channel, participant) in present.items():
            if self.open.get(user, (None,))[0] != channel:
                self._join(t, source, clan_id, channel, user, participant, rows)
        return rows

    def _join(self, t: int, source: str, clan: str, channel: str, user: str,
              participant: str | None, out: list[Row]) -> None:
        current = self.open.get(user)
        if current is not None and current[0] != channel:
            self._leave(t, "reconciled", current[1], current[0], user, out)
        if participant:
            self.names[user] = participant
        else:
            participant = self.names.get(user)
        self.open[user] = (channel, clan, participant)
        out.append((t, "joined", source, clan, channel, user, participant))

    def _leave(self, t: int, source: str, clan: str | None, channel: str, user: str,
               out: list[Row]) -> None:
        current = self.open.get(user)
        if current is not None and current[0] == channel:
            del self.open[user]
            participant = current[2]
        else:
            participant = self.names.get(user)
        out.append((t, "left", source, clan, channel, user, participant))

    def _end(self, t: int, clan: str, channel: str, out: list[Row]) -> None:
        out.append((t, "ended", "live", clan, channel, None, None))
        for user, (ch, ch_clan, _) in list(self.open.items()):
            if ch == channel:
                self._leave(t, "reconciled", ch_clan, ch, user, out)

    def restore(self, open_sessions: Iterable[Sequence[Any]], names: dict[str, str],
                clans: Iterable[str], last_live: dict[str, int] | None = None) -> None:
        """Reset the state from a reloaded log: ``(user, channel, clan, participant)`` tuples,
        names, the clans it has rows of or a snapshot set, and each user's latest live row time
        (ns).

        >>> t = SessionTracker(); t.restore([("5", "6", "1", "ann")], {"5": "ann"}, ["1"])
        >>> t.open
        {'5': ('6', '1', 'ann')}
        """
        self.open = {u: (ch, clan, p) for u, ch, clan, p in open_sessions}
        self.names = dict(names)
        self.clans = set(clans)
        self.last_live = dict(last_live or {})


__all__ = ["SessionTracker", "time_ns"]
