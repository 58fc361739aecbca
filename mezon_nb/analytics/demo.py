"""A tiny, fixed participant log for examples and doctests.

Clan ``1``; channels ``6`` ("Live") and ``8`` ("Q&A"); ann (user ``5``) and bob (user ``7``):

====== ======================================================================
10:00  ann joins Live (the stream started at 09:55)
10:10  bob joins Live
10:30  ann leaves Live (the leave carries no name; the log fills it in)
10:40  ann joins Live again
11:00  ann joins Q&A, which implies she left Live (one stream per user)
====== ======================================================================

:func:`demo_chat_events` adds three chat messages in Live: ann at 10:05 and 10:08, bob at 10:25.

>>> demo_events()["kind"].value_counts()["joined"]
np.int64(4)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from mezon_nb.analytics.log import ParticipantLog
from mezon_nb.core.events import (
    ChannelMessage,
    StreamingJoined,
    StreamingLeaved,
    StreamingStarted,
)
from mezon_nb.protocol.codec import text_content

_T0 = datetime(2026, 1, 1, 10, tzinfo=timezone.utc)


def demo_events(as_events: bool = False) -> pd.DataFrame | list:
    """The demo log's event table, or (``as_events=True``) the client events that make it.

    >>> len(demo_events(as_events=True)), len(demo_events())
    (6, 7)
    """
    def at(minutes: int) -> datetime:
        return _T0 + timedelta(minutes=minutes)

    def join(minute: int, user: str, name: str, channel: str, label: str) -> StreamingJoined:
        return StreamingJoined(clan_id="1", clan_name="Demo", id="0", participant=name,
                               user_id=user, streaming_channel_label=label,
                               streaming_channel_id=channel, received_at=at(minute))

    events = [
        StreamingStarted(clan_id="1", channel_id="6", streaming_url="", is_streaming=True,
                         received_at=at(-5)),
        join(0, "5", "ann", "6", "Live"),
        join(10, "7", "bob", "6", "Live"),
        StreamingLeaved(id="0", clan_id="1", streaming_channel_id="6", streaming_user_id="5",
                        received_at=at(30)),
        join(40, "5", "ann", "6", "Live"),
        join(60, "5", "ann", "8", "Q&A"),
    ]
    return events if as_events else _table(events)


def demo_chat_events(as_events: bool = False) -> pd.DataFrame | list:
    """The demo log with three chat messages, as a table or (``as_events=True``) events.

    >>> demo_chat_events()["kind"].value_counts()["message"]
    np.int64(3)
    """
    def say(minute: int, user: str, name: str, text: str) -> ChannelMessage:
        return ChannelMessage(clan_id="1", channel_id="6", message_id=str(minute),
                              sender_id=user, username=name, display_name=name, text=text,
                              content=text_content(text), code=0, channel_label="Live",
                              create_time=None, received_at=_T0 + timedelta(minutes=minute))

    chat = [say(5, "5", "ann", "hi!"), say(8, "5", "ann", "nice"), say(25, "7", "bob", "brb")]
    events = sorted(demo_events(as_events=True) + chat, key=lambda ev: ev.received_at)
    return events if as_events else _table(events)


def _table(events: list) -> pd.DataFrame:
    log = ParticipantLog()
    log.extend(events)
    return log.events


__all__ = ["demo_chat_events", "demo_events"]
