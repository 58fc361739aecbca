"""The audience (viewer badge, participants panel) counts every participant-log row once.

The audience follows a real ``ParticipantLog``: the rows so far, then each new row. A row that
is recorded while the audience subscribes must be counted once: the former audience subscribed
first, read the table second, and dropped rows seen twice through a 256-row window, so behind a
longer table such a row (here: a chat message) was counted twice.

Not covered: the panel's browser side (tests/widgets/test_panel.py, tests/browser).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mezon_nb.analytics import ParticipantLog
from mezon_nb.core.events import ChannelMessage, StreamingJoined
from mezon_nb.widgets.audience import Audience

_T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _joined(user: str, at: datetime) -> StreamingJoined:
    return StreamingJoined(clan_id="1", clan_name="c", id="0", participant=f"user{user}",
                           user_id=user, streaming_channel_label="Live",
                           streaming_channel_id="6", received_at=at)


def _said(user: str, at: datetime) -> ChannelMessage:
    return ChannelMessage(clan_id="1", channel_id="6", message_id=str(at.timestamp()),
                          sender_id=user, username="ann", display_name="ann", text="hi",
                          content="{}", code=0, channel_label="Live", create_time=None,
                          received_at=at)


class _RacingLog(ParticipantLog):
    """A real log in which the audience subscribes at the one moment a race allows: rows are
    in the table (stored under the lock) but their listeners are not yet told (that happens
    after the lock is released, on the recording thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.between_store_and_notify = None

    def _notify(self, *args, **kwargs):
        hook, self.between_store_and_notify = self.between_store_and_notify, None
        if hook is not None:
            hook()
        return super()._notify(*args, **kwargs)


def _long_log(log: ParticipantLog) -> ParticipantLog:
    log.record(_joined("5", _T0))
    log.extend(_said("5", _T0 + timedelta(seconds=i + 1)) for i in range(300))
    return log


def test_rows_stored_while_the_audience_subscribes_are_counted_once():
    log = _RacingLog()
    log.record(_joined("5", _T0))
    followed = []
    log.between_store_and_notify = lambda: followed.append(Audience.follow(log, "6"))
    log.extend(_said("5", _T0 + timedelta(seconds=i + 1)) for i in range(300))
    audience, = followed
    messages = int((log.events["kind"] == "message").sum())
    assert messages == 300
    assert audience.watchers("6")[0]["messages"] == messages
    audience.close()


def test_every_new_row_reaches_the_audience_once():
    log = _long_log(ParticipantLog())
    audience = Audience.follow(log, "6")
    log.extend(_said("5", _T0 + timedelta(minutes=30, seconds=i)) for i in range(400))
    assert audience.watchers("6")[0]["messages"] == 700
    assert audience.count("6") == 1
    audience.close()
    log.record(_said("5", _T0 + timedelta(hours=3)))    # closed: no longer followed
    assert audience.watchers("6")[0]["messages"] == 700
