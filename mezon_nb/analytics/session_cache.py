"""The session cache of an archive: each roll's finished sessions, one row each, so that the
analytics of a long history read sessions instead of sorting every join and leave again.

A roll hands its rows to :func:`advance` with the cache's :class:`SessionState` as of the rows
before it (the sessions still open, each channel's newest join or leave). The session rules
(:func:`~mezon_nb.analytics.sessions.bounds`) run on the open sessions, as their opening joins,
followed by the roll's rows. Sessions that close go to ``sessions/part-<seq>.parquet`` beside
the event files (:data:`SESSION_SCHEMA`, sorted by channel and start); those still open stay in
the state, which commits with the roll. A leave with nothing open in the roll is written as a
session of unknown start: it is one only if no earlier row of its channel and user exists
(else it repeats a leave), which the query decides (the earliest row of a channel and user is
always the first row of one of its cached sessions).

The rules read each (channel, user)'s rows in time order, so the cache follows a roll only if
its joins and leaves are no older than its channels' newest ones already rolled (rows come in
time order, give or take the jitter inside one roll). A roll with an older one leaves the cache
behind (``valid`` false): the DuckDB engine then reads the events, as without a cache.

>>> from mezon_nb.analytics.store import ColumnStore
>>> s = ColumnStore()
>>> s.extend([(1, "joined", "live", "1", "6", "5", "ann"), (2, "left", "live", "1", "6", "5",
...            "ann"), (3, "joined", "live", "1", "6", "7", "bob")])
>>> done, state = advance(s.snapshot(), 0, SessionState())
>>> done.column("left_at").to_pylist(), state.open
([2], [['6', '7', '1', 'bob', 3, 2, False]])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from mezon_nb.analytics import schema
from mezon_nb.analytics.archive import ArchiveState, id_lut, snapshot_ids
from mezon_nb.analytics.sessions import bounds
from mezon_nb.analytics.store import Snapshot

_JOINED, _LEFT = schema.KINDS.index("joined"), schema.KINDS.index("left")
_LIVE = schema.SOURCES.index("live")

#: One row per session: ids (int64), ``ref_t`` its first row's time (the join, or the leave of
#: an unknown start; ns), ``left_at`` (ns; null while open), ``ref_seq`` its first row's seq,
#: ``reconciled`` a boundary inferred rather than reported live.
SESSION_SCHEMA = pa.schema([
    ("channel_id", pa.int64()), ("user_id", pa.int64()), ("clan_id", pa.int64()),
    ("participant", pa.string()), ("ref_t", pa.int64()), ("left_at", pa.int64()),
    ("start_unknown", pa.bool_()), ("ref_seq", pa.int64()), ("reconciled", pa.bool_())])


@dataclass
class SessionState:
    """The cache as of a roll: ``open`` sessions ``[channel_id, user_id, clan_id, participant,
    joined_at, ref_seq, reconciled]``, ``newest`` join/leave time (ns) per channel, how many
    ``unknown`` starts were written, ``valid`` while the cache follows the archive, and per
    channel ``levels`` ``[viewers, peak, peak_at, last_t]``: the viewer count after its last
    instant ``last_t`` so far (a later roll may add to that instant), the peak over the
    instants before it and when it was first reached (see :func:`peaks`); the cache's files
    are in ``directory`` under the archive.

    >>> SessionState().valid
    True
    """

    open: list[list] = field(default_factory=list)
    newest: dict[str, int] = field(default_factory=dict)
    unknown: int = 0
    valid: bool = True
    levels: dict[str, list] = field(default_factory=dict)
    directory: str = "sessions"

    @classmethod
    def of(cls, state: ArchiveState) -> SessionState:
        """The cache state committed with ``state``; an archive rolled before caches existed
        has none (not valid).

        >>> SessionState.of(ArchiveState(rolled=5)).valid, SessionState.of(ArchiveState()).valid
        (False, True)
        """
        if state.sessions is None:
            return cls(valid=state.rolled == 0)
        return cls(**state.sessions)

    def as_dict(self) -> dict:
        """For :class:`~mezon_nb.analytics.archive.ArchiveState` (JSON).

        >>> sorted(SessionState().as_dict())
        ['directory', 'levels', 'newest', 'open', 'unknown', 'valid']
        """
        return asdict(self)


def advance(snap: Snapshot, first_seq: int, state: SessionState,
            ids: dict[str, np.ndarray] | None = None) -> tuple[pa.Table, SessionState]:
    """The sessions the rows of ``snap`` (seq ``first_seq`` on) close, and the state after them.

    ``ids`` are the int64 values of the snapshot's id tables, if the caller has them already
    (:func:`~mezon_nb.analytics.archive.snapshot_ids`).

    >>> from mezon_nb.analytics.store import ColumnStore
    >>> s = ColumnStore(); s.append((1, "left", "live", "1", "6", "5", "ann"))
    >>> done, after = advance(s.snapshot(), 9, SessionState(newest={"6": 2}))
    >>> done.num_rows, after.valid
    (0, False)
    """
    user = snap.codes["user_id"]
    rows = np.flatnonzero(((snap.kind == _JOINED) | (snap.kind == _LEFT)) & (user >= 0))
    if not state.valid or not len(rows):
        return empty(), state
    tables = snap.tables
    carry = list(zip(*state.open)) if state.open else [()] * 7
    n_carry = len(state.open)
    ids = ids or snapshot_ids(snap)
    channels, ch, channel_ids = _codes(tables["channel_id"], carry[0],
                                       snap.codes["channel_id"][rows], ids["channel_id"])
    users, us, user_ids = _codes(tables["user_id"], carry[1], user[rows], ids["user_id"])
    t = np.concatenate([np.array(carry[4], np.int64), snap.time[rows]])
    kind = np.concatenate([np.full(n_carry, _JOINED, np.int8), snap.kind[rows]])
    order, start, end = bounds(ch * (len(users) + 1) + us, t, kind)
    rolled = order[order >= n_carry]  # the roll's rows, by channel
    newest = _newest(state.newest, channels, ch[rolled], t[rolled])
    if newest is None:
        return empty(), SessionState(valid=False, directory=state.directory)
    live, seq, clan, no_clan, name, names = _columns(snap, rows, first_seq, carry, ids)
    first = order[np.where(start >= 0, start, end)]
    closing = order[end]
    done = end >= 0
    reconciled = ~np.where(start >= 0, live[order[start]], True) | ~np.where(done, live[closing],
                                                                              True)
    of = (channel_ids[ch[first]], user_ids[us[first]])
    still = ~done
    opened = [[channels[c], users[u], None if nc else str(cl), None if p < 0 else names[p],
               int(tt), int(sq), bool(r)] for c, u, cl, nc, p, tt, sq, r in zip(
        *(a[first[still]].tolist() for a in (ch, us, clan, no_clan, name, t, seq)),
        reconciled[still].tolist())]
    keep = np.flatnonzero(done)
    by_channel = ch[first[keep]]  # by channel, then start (as found); a radix sort if it can
    keep = keep[np.argsort(by_channel.astype(np.int16) if len(channels) < 2**15 else by_channel,
                           kind="stable")]
    rows_at = first[keep]
    table = pa.table({
        "channel_id": of[0][keep], "user_id": of[1][keep],
        "clan_id": pa.array(clan[rows_at], mask=no_clan[rows_at]),
        "participant": pa.array(names, pa.string()).take(
            pa.array(name[rows_at], mask=name[rows_at] < 0)),
        "ref_t": t[rows_at], "left_at": t[closing[keep]], "start_unknown": start[keep] < 0,
        "ref_seq": seq[rows_at], "reconciled": reconciled[keep]}, schema=SESSION_SCHEMA)
    unknown = state.unknown + int(np.count_nonzero(start[keep] < 0))
    # the viewer count changes at the join of each session of known start (in this roll) and
    # at its leave: its peak, as concurrency's, goes on from the last roll
    joins = (start >= 0) & (order[start] >= n_carry)
    leaves = (start >= 0) & done
    at = np.concatenate([order[start[joins]], closing[leaves]])
    levels = _levels(state.levels, channels, ch[at], t[at],
                     np.r_[np.ones(joins.sum(), np.int64), -np.ones(leaves.sum(), np.int64)])
    return table, SessionState(opened, newest, unknown, True, levels, state.directory)


def _columns(snap: Snapshot, rows: np.ndarray, first_seq: int, carry: list, ids: dict
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Per row, the carried open sessions' then the roll's: live source, seq, clan id (and
    whether it has none), participant code into the returned names."""
    live = np.concatenate([~np.array(carry[6], bool), snap.source[rows] == _LIVE])
    seq = np.concatenate([np.array(carry[5], np.int64), first_seq + rows])
    clan_codes = snap.codes["clan_id"][rows]
    clan = np.concatenate([np.array([0 if c is None else int(c) for c in carry[2]], np.int64),
                           np.append(ids["clan_id"], 0)[clan_codes]])
    no_clan = np.concatenate([np.array([c is None for c in carry[2]], bool), clan_codes < 0])
    table = snap.tables["participant"]
    names = table + [p for p in carry[3] if p is not None]
    carried = np.cumsum([p is not None for p in carry[3]], dtype=np.int64) + len(table) - 1
    name = np.concatenate([np.where([p is None for p in carry[3]], -1, carried).astype(np.int32),
                           snap.codes["participant"][rows]])
    return live, seq, clan, no_clan, name, names


def _levels(known: dict[str, list], channels: pd.Index, ch: np.ndarray, t: np.ndarray,
            d: np.ndarray) -> dict[str, list]:
    """``levels`` after viewer-count changes ``d`` (+1, -1) at ``t`` in channels ``ch``: the
    count after each instant (the net of its changes: inside an instant the count never passes
    the larger of the levels before and after), the peak of every instant but the last, which
    a later roll may still add to."""
    out = {c: list(v) for c, v in known.items()}
    if not len(ch):
        return out
    ch, t, d = _by_channel_time(ch, t, d)
    cut = np.flatnonzero(np.r_[True, (ch[1:] != ch[:-1]) | (t[1:] != t[:-1])])
    ich, it, net = ch[cut], t[cut], np.add.reduceat(d, cut)
    edges = np.flatnonzero(np.r_[True, ich[1:] != ich[:-1], True])
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist()):
        name = channels[int(ich[lo])]
        level, peak, peak_at, last = out.get(name, [0, 0, None, None])
        times = it[lo:hi].tolist()
        after = level + np.cumsum(net[lo:hi])
        if last is not None and times[0] != last and level > peak:  # that instant is complete
            peak, peak_at = level, last
        if hi - lo > 1:
            i = int(np.argmax(after[:-1]))  # the first instant at the highest count
            if after[i] > peak:
                peak, peak_at = int(after[i]), times[i]
        out[name] = [int(after[-1]), peak, peak_at, times[-1]]
    return out


def _by_channel_time(ch: np.ndarray, t: np.ndarray, d: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ch``, ``t``, ``d`` sorted by channel code then time: one ``np.sort`` of the three
    packed into an int64 when they fit (a lexsort when not)."""
    base = int(t.min())
    span, width = int(t.max()) - base, max(int(ch.max()), 1).bit_length()
    bits = max(span, 1).bit_length()
    if bits + width + 1 > 62:
        order = np.lexsort((t, ch))
        return ch[order], t[order], d[order]
    packed = np.sort((((ch << bits) | (t - base)) << 1) | (d > 0))
    return packed >> (bits + 1), ((packed >> 1) & ((1 << bits) - 1)) + base, \
        np.where(packed & 1, 1, -1)


def peaks(state: SessionState) -> pa.Table:
    """Per channel with viewers ever: ``channel_id``, ``peak_viewers`` and ``peak_at`` (ns),
    the first instant the count was highest (as the peak of
    :func:`~mezon_nb.analytics.summary.summary`).

    >>> peaks(SessionState(levels={"6": [2, 1, 5, 9]})).to_pylist()
    [{'channel_id': 6, 'peak_viewers': 2, 'peak_at': 9}]
    """
    out = []
    for channel, (level, peak, peak_at, last) in state.levels.items():
        if last is not None and level > peak:
            peak, peak_at = level, last
        if peak > 0:
            out.append((channel, peak, peak_at))
    cols = list(zip(*out)) if out else [(), (), ()]
    return pa.table({"channel_id": id_lut(list(cols[0]), "channel_id"),
                     "peak_viewers": pa.array(cols[1], pa.int64()),
                     "peak_at": pa.array(cols[2], pa.int64())})


def _codes(table: list[str], carried: tuple, codes: np.ndarray, values: np.ndarray
           ) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """The ids of ``table`` plus the carried ones it lacks, the codes of the carried rows then
    the roll's rows into them, and the int64 value of each id (``values``: the table's)."""
    index = pd.Index(table, dtype=object)
    found = index.get_indexer(list(carried))
    if (found < 0).any():
        more = list(dict.fromkeys(c for c, f in zip(carried, found.tolist()) if f < 0))
        index = index.append(pd.Index(more, dtype=object))
        values = np.concatenate([values, id_lut(more, "id")])
        found = index.get_indexer(list(carried))
    return index, np.concatenate([found, codes]).astype(np.int64), values


def _newest(known: dict[str, int], channels: pd.Index, ch: np.ndarray, t: np.ndarray
            ) -> dict[str, int] | None:
    """Each channel's newest join/leave time after the roll's rows (``ch`` codes sorted, ``t``
    their times); ``None`` when a row is older than its channel's newest already rolled."""
    out = dict(known)
    if not len(ch):
        return out
    cut = np.flatnonzero(np.r_[True, ch[1:] != ch[:-1]])
    for c, lo, hi in zip(ch[cut].tolist(), np.minimum.reduceat(t, cut).tolist(),
                         np.maximum.reduceat(t, cut).tolist()):
        name = channels[c]
        if lo < out.get(name, lo):
            return None
        out[name] = max(hi, out.get(name, hi))
    return out


def empty() -> pa.Table:
    """A session table with no rows.

    >>> empty().num_rows
    0
    """
    return SESSION_SCHEMA.empty_table()


def open_table(state: SessionState) -> pa.Table:
    """The state's open sessions as rows of :data:`SESSION_SCHEMA` (``left_at`` null).

    >>> open_table(SessionState(open=[["6", "5", None, "ann", 1, 0, False]])).num_rows
    1
    """
    cols = list(zip(*state.open)) if state.open else [()] * 7
    return pa.table({
        "channel_id": id_lut(list(cols[0]), "channel_id"),
        "user_id": id_lut(list(cols[1]), "user_id"),
        "clan_id": pa.array([None if c is None else int(c) for c in cols[2]], pa.int64()),
        "participant": pa.array(list(cols[3]), pa.string()),
        "ref_t": pa.array(list(cols[4]), pa.int64()),
        "left_at": pa.nulls(len(cols[0]), pa.int64()),
        "start_unknown": pa.array([False] * len(cols[0]), pa.bool_()),
        "ref_seq": pa.array(list(cols[5]), pa.int64()),
        "reconciled": pa.array(list(cols[6]), pa.bool_())}, schema=SESSION_SCHEMA)


__all__ = ["SESSION_SCHEMA", "SessionState", "advance", "empty", "open_table", "peaks"]
