"""Rolling a durable log into its archive: the ingest state carried across rolls and reopens.

A log over an archive keeps its unrolled rows in a SQLite tail segment
(:class:`~mezon_nb.analytics.durable.SqliteSink`, unchanged). A roll starts a new segment,
writes the old one's rows as Parquet and commits the :class:`ArchiveState` as of its last row;
then the old segment is deleted. Reopening reads the state, replays only the tail's rows on
it (:func:`replay`) and finishes any roll a crash interrupted (:func:`recover`), so the time
to reopen depends on the tail, not on the history.

>>> from mezon_nb.analytics.store import ColumnStore
>>> s = ColumnStore(); s.append((7, "joined", "live", "1", "6", "5", "ann"))
>>> replay(ArchiveState(), s.snapshot()).open
[['5', '6', '1', 'ann']]
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace

from mezon_nb.analytics import schema
from mezon_nb.analytics.archive import ArchiveState, EventArchive, first_seen, snapshot_ids
from mezon_nb.analytics.durable import SqliteSink
from mezon_nb.analytics.gaps import Gap
from mezon_nb.analytics.session_cache import SessionState, advance
from mezon_nb.analytics.store import ColumnStore, Snapshot

_JOINED, _LEFT = schema.KINDS.index("joined"), schema.KINDS.index("left")
_LIVE = schema.SOURCES.index("live")


def replay(state: ArchiveState, snap: Snapshot, gaps: Iterable[Gap] = ()) -> ArchiveState:
    """The state after the rows of ``snap``, as a reopened SQLite log rebuilds it: who watches
    which channel (a join opens, a leave of that channel closes), the last name of each user,
    their latest live row, every clan with rows, the newest time; ``gaps`` (the segment's blind
    intervals) join the state's, each once.

    >>> from mezon_nb.analytics.store import ColumnStore
    >>> s = ColumnStore()
    >>> s.extend([(1, "joined", "live", "1", "6", "5", "ann"), (2, "left", "live", "1", "6",
    ...            "5", "ann")] * 4)
    >>> after = replay(ArchiveState(), s.snapshot())
    >>> after.open, after.names, after.last_live, after.last_time
    ([], {'5': 'ann'}, {'5': 2}, 2)
    """
    tables = snap.tables
    users, channels = tables["user_id"], tables["channel_id"]
    clans_of, names_of = tables["clan_id"], tables["participant"]
    watching = {u: (ch, clan, p) for u, ch, clan, p in state.open}
    names, last_live = dict(state.names), dict(state.last_live)
    columns = (snap.time, snap.kind, snap.source, *(snap.codes[c] for c in ColumnStore.ID_TABLES))
    for t, kind, source, clan, channel, user, name in zip(*(c.tolist() for c in columns)):
        if user < 0:
            continue
        uid = users[user]
        if name >= 0 and kind == _JOINED:   # as the live tracker: joins name a user, chat not
            names[uid] = names_of[name]
        if source == _LIVE and last_live.get(uid, t) <= t:
            last_live[uid] = t
        if kind == _JOINED:
            watching[uid] = (channels[channel], clans_of[clan] if clan >= 0 else None,
                             names_of[name] if name >= 0 else None)
        elif kind == _LEFT and watching.get(uid, (None,))[0] == channels[channel]:
            del watching[uid]
    last = int(snap.time.max()) if len(snap.time) else None
    if state.last_time is not None:
        last = state.last_time if last is None else max(last, state.last_time)
    return ArchiveState(
        rolled=state.rolled + len(snap.time), last_time=last,
        open=[[u, ch, clan, p] for u, (ch, clan, p) in watching.items()],
        names=names, clans=sorted(set(state.clans) | set(clans_of)), last_live=last_live,
        gaps=[*state.gaps, *(list(g) for g in gaps if list(g) not in state.gaps)])


def channels_after(known: dict[str, tuple], snap: Snapshot, first_seq: int,
                   labels: dict[str, tuple[str | None, str]]) -> dict[str, tuple]:
    """``{channel_id: (clan_id, label, first_seq)}``: ``known`` plus the channels new in
    ``snap`` (its rows start at ``first_seq``), labelled with ``labels``.

    >>> from mezon_nb.analytics.store import ColumnStore
    >>> s = ColumnStore(); s.append((0, "ended", "live", "1", "6", None, None))
    >>> channels_after({}, s.snapshot(), 3, {"6": ("1", "Live")})
    {'6': ('1', 'Live', 3)}
    """
    out = dict(known)
    clans = snap.tables["clan_id"]
    for channel, seq in first_seen(snap, first_seq, known).items():
        code = snap.codes["clan_id"][seq - first_seq]
        out[channel] = (clans[code] if code >= 0 else None, None, seq)
    for channel, (clan, label) in labels.items():
        if channel in out:
            out[channel] = (out[channel][0] or clan, label, out[channel][2])
    return out


def roll(archive: EventArchive, snap: Snapshot, state: ArchiveState,
         labels: dict[str, tuple[str | None, str]]) -> None:
    """Write ``snap`` (its rows start at ``archive.state.rolled``) and the sessions it closes
    (the session cache), then commit ``state`` with the cache's new state."""
    base, ids = archive.state.rolled, snapshot_ids(snap)
    done, cache = advance(snap, base, SessionState.of(archive.state), ids)
    archive.write(snap, base, ids)
    archive.write_sessions(done, base)
    archive.commit(replace(state, sessions=cache.as_dict()),
                   channels_after(archive.channels, snap, base, labels))


def recover(archive: EventArchive) -> None:
    """Finish rolls a crash interrupted: delete segments already committed, roll complete
    ones older than the newest, so at most one segment (the live tail) is left.

    >>> import tempfile
    >>> a = EventArchive(tempfile.mkdtemp()); recover(a); a.tail_segments()
    []
    """
    segments = archive.tail_segments()
    for path in segments:
        if int(path.stem) < archive.state.rolled:
            delete_segment(path)
    segments = [p for p in segments if int(p.stem) >= archive.state.rolled]
    for path in segments[:-1]:
        store = ColumnStore()
        sink = SqliteSink(path, store, threading.Lock())
        try:
            snap = store.snapshot()
            roll(archive, snap, replay(archive.state, snap, sink.gaps), sink.labels)
        finally:
            sink.close()
        delete_segment(path)


def delete_segment(path) -> None:
    """Delete a tail segment and its SQLite side files."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


__all__ = ["channels_after", "delete_segment", "recover", "replay", "roll"]
