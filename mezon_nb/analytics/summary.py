"""Per-channel and per-user summaries of the session table.

A *returning viewer* of a channel is a user with more than one session on it. ``blind_time``
is how long the log could not see events (:func:`~mezon_nb.analytics.gaps.blind_time` of the
``gaps``; 0 without them): one socket carries every channel, so every row has the same value,
and sessions may be missing or mistimed within it. ``messages``
counts the chat rows of ``events`` (pass the event table; without it the counts are 0): per
channel, and per viewer (someone who chatted but never watched has no row in :func:`users`).
Watch times sum
the sessions' ``duration`` (open sessions measured to ``until``, unknown starts skipped). The
peak is the exact maximum of :func:`~mezon_nb.analytics.concurrency.concurrency` and the first
instant it was reached.

>>> from mezon_nb.analytics import demo_events
>>> from mezon_nb.analytics.sessions import sessions
>>> summary(sessions(demo_events()))[["channel_id", "sessions", "returning_viewers"]].values.tolist()
[['6', 3, 1], ['8', 1, 0]]
"""

from __future__ import annotations

import pandas as pd

from mezon_nb.analytics import schema
from mezon_nb.analytics.chat import message_counts
from mezon_nb.analytics.concurrency import concurrency
from mezon_nb.analytics.gaps import blind_time


def summary(sessions: pd.DataFrame, events: pd.DataFrame | None = None,
            gaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per channel, in order of first appearance: :data:`schema.SUMMARY_COLUMNS`.

    >>> from mezon_nb.analytics.sessions import sessions
    >>> from mezon_nb.analytics.demo import demo_chat_events
    >>> events = demo_chat_events()
    >>> summary(sessions(events), events)[["total_watch", "messages"]].values.tolist()
    [[Timedelta('0 days 01:40:00'), 3], [Timedelta('0 days 00:00:00'), 0]]
    """
    by = sessions.groupby("channel_id", observed=True, sort=True)
    per_user = sessions.groupby(["channel_id", "user_id"], observed=True).size()
    returning = (per_user > 1).groupby(level="channel_id", observed=True).sum()
    out = by.agg(clan_id=("clan_id", "first"), channel_label=("channel_label", "first"),
                 unique_viewers=("user_id", "nunique"), sessions=("user_id", "size"),
                 total_watch=("duration", "sum"))
    # NaT (unknown start) dropped first: pandas < 3 counts it in a grouped median (GH 57926)
    known = sessions[sessions["duration"].notna()]
    out["median_watch"] = (known.groupby("channel_id", observed=True)["duration"].median()
                           .reindex(out.index))
    steps = concurrency(sessions, freq=None)
    peaks = steps.loc[steps.groupby("channel_id", observed=True)["viewers"].idxmax()]
    peaks = peaks.set_index("channel_id")
    out["peak_viewers"] = peaks["viewers"].reindex(out.index).fillna(0).astype("int64")
    out["peak_at"] = peaks["time"].reindex(out.index)
    out["returning_viewers"] = returning.reindex(out.index).fillna(0).astype("int64")
    out["messages"] = _messages(events, "channel_id", out.index)
    out["blind_time"] = pd.Series(blind_time(gaps) if gaps is not None else pd.Timedelta(0),
                                  index=out.index, dtype="timedelta64[ns]")
    out = out.reset_index()
    out["peak_at"] = out["peak_at"].astype(schema.TIME)
    return _like(out, sessions, schema.SUMMARY_COLUMNS)


def users(sessions: pd.DataFrame, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per user who watched: :data:`~mezon_nb.analytics.schema.USER_COLUMNS`.

    Rows are ordered by ``first_seen``. ``participant`` is the last name seen;
    ``first_seen``/``last_seen`` the first and last join or leave of any of their sessions;
    ``channels`` how many channels they watched; ``messages`` how many chat lines they sent.

    >>> from mezon_nb.analytics.sessions import sessions
    >>> from mezon_nb.analytics.demo import demo_chat_events
    >>> events = demo_chat_events()
    >>> users(sessions(events), events)[["user_id", "sessions", "channels", "messages"]
    ...                                 ].values.tolist()
    [['5', 3, 2, 2], ['7', 1, 1, 1]]
    """
    s = sessions.assign(
        first=sessions["joined_at"].fillna(sessions["left_at"]),
        last=pd.concat([sessions["joined_at"], sessions["left_at"]], axis=1).max(axis=1))
    out = s.groupby("user_id", observed=True, sort=True).agg(
        participant=("participant", "last"), sessions=("channel_id", "size"),
        total_watch=("duration", "sum"), first_seen=("first", "min"), last_seen=("last", "max"),
        channels=("channel_id", "nunique"))
    out["messages"] = _messages(events, "user_id", out.index)
    out = out.reset_index().sort_values(["first_seen", "user_id"], kind="stable")
    return _like(out, sessions, schema.USER_COLUMNS)


def _messages(events: pd.DataFrame | None, by: str, index: pd.Index) -> pd.Series:
    """Chat messages per ``by`` id, aligned to ``index`` (0 where none, or without events)."""
    if events is None:
        return pd.Series(0, index=index, dtype="int64")
    counts = message_counts(events, by)
    return counts.reindex(index.astype(str)).fillna(0).astype("int64").set_axis(index)


def _like(out: pd.DataFrame, sessions: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Restore the sessions' categorical id dtypes and the declared column order."""
    for c in schema.ID_COLUMNS:
        if c in out:
            out[c] = out[c].astype(sessions[c].dtype)
    return out[list(columns)].reset_index(drop=True)


__all__ = ["summary", "users"]
