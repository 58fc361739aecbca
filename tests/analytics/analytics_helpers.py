"""Event factories for the participant-log tests: times are minutes after 2026-01-01 00:00 UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pandas as pd

from mezon_nb.core.events import (
    StreamingEnded,
    StreamingJoined,
    StreamingLeaved,
    StreamingStarted,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: Snowflake-sized ids: above 2**53, so a float round trip would change them.
BIG_USER = "1840651530236071936"
BIG_CHANNEL = "1840651530236071999"


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def ts(minute: float) -> pd.Timestamp:
    return pd.Timestamp(at(minute))


def mins(n: float) -> pd.Timedelta:
    return pd.Timedelta(minutes=n)


def join(minute, user, channel="6", name=None, clan="1", label=""):
    return StreamingJoined(clan_id=clan, clan_name="c", id="0", participant=name or f"u{user}",
                           user_id=user, streaming_channel_label=label,
                           streaming_channel_id=channel, received_at=at(minute))


def leave(minute, user, channel="6", clan="1"):
    return StreamingLeaved(id="0", clan_id=clan, streaming_channel_id=channel,
                           streaming_user_id=user, received_at=at(minute))


def started(minute, channel="6", clan="1"):
    return StreamingStarted(clan_id=clan, channel_id=channel, streaming_url="",
                            is_streaming=True, received_at=at(minute))


def ended(minute, channel="6", clan="1"):
    return StreamingEnded(clan_id=clan, channel_id=channel, received_at=at(minute))


def snapshot(*rows):
    """Snapshot rows from ``(channel_id, user_id, participant)`` triples."""
    return [SimpleNamespace(channel_id=c, user_id=u, participant=p) for c, u, p in rows]


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    """A frame's columns as plain Python tuples (NaN/NaT as None) for exact comparisons."""
    part = frame[list(columns)].astype(object)
    return [tuple(None if pd.isna(v) else v for v in r) for r in part.itertuples(index=False)]


def workload(n: int, users: int = 50, channels: int = 4) -> list:
    """A deterministic mix of joins and leaves (some to other channels, some without a join)."""
    out = []
    for i in range(n):
        user, channel = str(10**18 + i * 7 % users), str(100 + (i // 3) % channels)
        if i % 3 == 2:
            out.append(leave(i / 60, user, channel=channel))
        else:
            out.append(join(i / 60, user, channel=channel, name=f"n{i % users}"))
    return out


def same_after_reopen(got: pd.DataFrame, expected: pd.DataFrame, before: int) -> None:
    """A log reopened after ``before`` rows holds the rows of one that never stopped.

    One label differs by design: after a reload, a clan's first snapshot is "reconciled" (the
    process was down: it catches up on a gap), where the uninterrupted log, whose clan had only
    live rows so far, calls it its baseline "snapshot". Nothing else may differ.
    """
    for c in got.columns:
        if c != "source":
            assert got[c].astype(object).tolist() == expected[c].astype(object).tolist(), c
    for i, pair in enumerate(zip(got["source"], expected["source"])):
        assert pair[0] == pair[1] or (i >= before and pair == ("reconciled", "snapshot")), i
