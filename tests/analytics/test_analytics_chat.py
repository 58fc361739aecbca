"""Chat in the participant log: ``message`` rows, messages per channel and viewer, activity bins.

Covers: a ChannelMessage becomes one ``message`` row (sender id, display name or username);
messages open and close no session; ``summary()``/``users()`` count messages; ``chat_activity``
bins (epoch-aligned, empty bins kept, ``until``, one channel, empty log); SQLite and Parquet
keep message rows. Not covered: the client receiving chat (tests/client/test_chat.py).
"""

from __future__ import annotations

import pandas as pd
from analytics_helpers import BIG_CHANNEL, BIG_USER, at, join, leave, mins, rows, ts

from mezon_nb.analytics import ParticipantLog, schema
from mezon_nb.core.events import ChannelMessage
from mezon_nb.protocol.codec import text_content


def said(minute, user, channel="6", name="", username="", text="hi") -> ChannelMessage:
    return ChannelMessage(clan_id="1", channel_id=channel, message_id=f"{minute}", sender_id=user,
                          username=username, display_name=name, text=text,
                          content=text_content(text), code=0, channel_label="",
                          create_time=None, received_at=at(minute))


def chat_log() -> ParticipantLog:
    log = ParticipantLog()
    log.extend([join(0, "5", name="ann"), said(1, "5", name="Ann"), said(2, "5", username="ann5"),
                join(3, "7", name="bob"), said(4, "7"), leave(10, "5"),
                said(12, "9", channel="8", name="Cy")])  # Cy chats in 8 but never watched
    return log


def test_a_message_is_one_row_with_the_sender():
    log = chat_log()
    assert rows(log.events[log.events["kind"] == "message"], "time", "user_id", "participant",
                "channel_id", "source") == [
        (ts(1), "5", "Ann", "6", "live"), (ts(2), "5", "ann5", "6", "live"),
        (ts(4), "7", "bob", "6", "live"),  # no name in the message: the last name seen
        (ts(12), "9", "Cy", "8", "live")]


def test_messages_open_and_close_no_session():
    log = chat_log()
    assert rows(log.sessions(), "user_id", "joined_at", "left_at") == [
        ("5", ts(0), ts(10)), ("7", ts(3), None)]
    assert log.concurrency(freq=None)["viewers"].tolist() == [1, 2, 1]


def test_summary_and_users_count_messages():
    log = chat_log()
    assert rows(log.summary(), "channel_id", "sessions", "messages") == [("6", 2, 3)]
    assert rows(log.users(), "user_id", "sessions", "messages") == [("5", 1, 2), ("7", 1, 1)]
    assert tuple(log.summary().columns) == schema.SUMMARY_COLUMNS
    assert tuple(log.users().columns) == schema.USER_COLUMNS
    assert log.users()["messages"].dtype == "int64"
    quiet = ParticipantLog()
    quiet.extend([join(0, "5")])
    assert quiet.summary()["messages"].tolist() == [0] and quiet.users()["messages"].tolist() == [0]


def test_chat_activity_bins_per_channel():
    log = chat_log()
    activity = log.chat_activity("5min")
    assert tuple(activity.columns) == schema.CHAT_COLUMNS
    # to the bin of the log's last event (12 min) by default, empty bins kept
    assert rows(activity, "channel_id", "time", "messages") == [
        ("6", ts(0), 3), ("6", ts(5), 0), ("6", ts(10), 0), ("8", ts(10), 1)]
    one = log.chat_activity("1h", channel_id="6", until=ts(0) + pd.Timedelta(hours=2))
    assert one["messages"].tolist() == [3, 0, 0]
    assert str(one["time"].dtype) == "datetime64[ns, UTC]"
    assert int(log.chat_activity("1s")["messages"].sum()) == 4


def test_empty_chat_activity_is_typed():
    activity = ParticipantLog().chat_activity()
    assert tuple(activity.columns) == schema.CHAT_COLUMNS and len(activity) == 0
    assert str(activity["time"].dtype) == "datetime64[ns, UTC]"
    log = ParticipantLog()
    log.extend([join(0, "5")])
    assert len(log.chat_activity()) == 0


def test_big_ids_stay_exact():
    log = ParticipantLog()
    log.extend([said(0, BIG_USER, channel=BIG_CHANNEL, name="z")])
    assert rows(log.events, "user_id", "channel_id") == [(BIG_USER, BIG_CHANNEL)]
    assert log.chat_activity()["channel_id"].tolist() == [BIG_CHANNEL]


def test_files_keep_message_rows(tmp_path):
    path = tmp_path / "log.sqlite"
    with ParticipantLog(path) as log:
        for event in [join(0, "5", name="ann"), said(1, "5", name="Ann")]:
            log.record(event)
    with ParticipantLog(path) as again:
        assert rows(again.events, "kind", "participant") == [("joined", "ann"), ("message", "Ann")]
        again.to_parquet(tmp_path / "e.parquet")
    back = ParticipantLog.read_parquet(tmp_path / "e.parquet")
    assert back.users()["messages"].tolist() == [1]
    assert back.chat_activity("1min", until=at(0) + mins(2))["messages"].tolist() == [1, 0]
