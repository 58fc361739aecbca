"""The realtime socket ``/ws`` (spec §3, §6.3, Appendix A) with raw protobuf envelopes.

Not covered: JSON text sockets (no ``format``), which the sandbox answers with an error only,
and Gen C ``api_request_event`` tunnelling, which it does not speak.
"""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from mezon_nb.protocol import realtime_pb2
from mezon_nb.sandbox import Sandbox


def test_ping_pong_keeps_cid(open_socket) -> None:
    raw = open_socket()
    assert raw.ws.subprotocol == "protobuf"
    raw.send(bytes.fromhex("0803b20100"))  # cid 3 + ping
    reply = raw.reply(3)
    assert reply.WhichOneof("message") == "pong"
    raw.send(realtime_pb2.Envelope(cid=2**31 - 1, ping=realtime_pb2.Ping()).SerializeToString())
    assert raw.reply(2**31 - 1).WhichOneof("message") == "pong"


def test_session_id_is_accepted_as_token(open_socket, session) -> None:
    raw = open_socket(session.session_id)
    assert raw.request(ping=realtime_pb2.Ping()).WhichOneof("message") == "pong"


def test_no_subprotocol_is_fine_too(session, socket_url) -> None:
    with connect(socket_url(session), open_timeout=5) as ws:
        assert ws.subprotocol is None
        ws.send(bytes.fromhex("0801b20100"))
        assert realtime_pb2.Envelope.FromString(ws.recv(timeout=5)).cid == 1


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_bad_token_refuses_the_upgrade(session, socket_url, token) -> None:
    with pytest.raises(InvalidStatus) as caught:
        connect(socket_url(session, token), open_timeout=5)
    assert caught.value.response.status_code in (401, 403)


def test_clan_join_is_echoed_and_unlocks_events(sandbox: Sandbox, open_socket) -> None:
    outsider, member = open_socket(), open_socket()
    reply = member.request(clan_join=realtime_pb2.ClanJoin(clan_id=int(sandbox.clan_id)))
    assert reply.WhichOneof("message") == "clan_join"
    assert str(reply.clan_join.clan_id) == sandbox.clan_id
    added = sandbox.control("add_viewer", name="Event Tester")
    joined = member.event("streaming_joined_event").streaming_joined_event
    while str(joined.user_id) != added["user_id"]:  # the crowd may come first
        joined = member.event("streaming_joined_event").streaming_joined_event
    assert joined.participant == "Event Tester"
    assert str(joined.streaming_channel_id) == sandbox.stream_channel_id
    assert str(joined.clan_id) == sandbox.clan_id and joined.clan_name
    assert str(joined.id) == added["event_id"]
    sandbox.control("remove_viewer", user_id=added["user_id"])
    left = member.event("streaming_leaved_event").streaming_leaved_event
    while left.streaming_user_id != added["user_id"]:
        left = member.event("streaming_leaved_event").streaming_leaved_event
    assert left.streaming_channel_id == sandbox.stream_channel_id  # a string on the wire
    # The socket that never joined the clan got nothing at all.
    assert outsider.request(ping=realtime_pb2.Ping()).WhichOneof("message") == "pong"
    assert outsider.events == []


def test_started_and_ended_events(sandbox: Sandbox, open_socket) -> None:
    raw = open_socket()
    raw.request(clan_join=realtime_pb2.ClanJoin(clan_id=int(sandbox.clan_id)))
    state = sandbox.control("state")
    channel_id = next(c["channel_id"] for c in state["channels"]
                      if c["type"] == 6 and c["channel_id"] != sandbox.stream_channel_id
                      and c["clan_id"] == sandbox.clan_id)
    assert sandbox.control("set_live", channel_id=channel_id, live=True)["live"] is True
    started = raw.event("streaming_started_event").streaming_started_event
    assert (str(started.channel_id), started.is_streaming) == (channel_id, True)
    assert sandbox.control("set_live", channel_id=channel_id, live=False)["live"] is False
    assert str(raw.event("streaming_ended_event").streaming_ended_event.channel_id) == channel_id


def test_channel_join_reply(sandbox: Sandbox, open_socket, session) -> None:
    raw = open_socket()
    join = realtime_pb2.ChannelJoin(clan_id=int(sandbox.clan_id),
                                    channel_id=int(sandbox.stream_channel_id), channel_type=6)
    reply = raw.request(channel_join=join)
    assert reply.WhichOneof("message") == "channel"
    assert str(reply.channel.id) == sandbox.stream_channel_id
    assert reply.channel.chanel_label == "main-stage"
    assert reply.channel.self.user_id == session.user_id
    leave = realtime_pb2.ChannelLeave(channel_id=int(sandbox.stream_channel_id))
    assert raw.request(channel_leave=leave).WhichOneof("message") == "channel_leave"


def test_message_needs_join_then_acks_and_fans_out(sandbox: Sandbox, open_socket) -> None:
    sender, listener, elsewhere = open_socket(), open_socket(), open_socket()
    channel_id = int(sandbox.stream_channel_id)
    send = realtime_pb2.ChannelMessageSend(
        clan_id=int(sandbox.clan_id), channel_id=channel_id,
        content=json.dumps({"t": "hello viewers"}), mode=2, is_public=True)
    refused = sender.request(channel_message_send=send)
    assert refused.error.code == 3
    assert refused.error.message == "Must join channel before sending messages"
    join = realtime_pb2.ChannelJoin(clan_id=int(sandbox.clan_id), channel_id=channel_id,
                                    channel_type=6, is_public=True)
    for raw in (sender, listener):
        assert raw.request(channel_join=join).WhichOneof("message") == "channel"
    ack = sender.request(channel_message_send=send)
    assert ack.WhichOneof("message") == "channel_message_ack"
    assert ack.channel_message_ack.channel_id == channel_id
    assert ack.channel_message_ack.message_id > 2**53
    assert ack.channel_message_ack.username and ack.channel_message_ack.create_time_seconds
    message = listener.event("channel_message").channel_message
    while message.message_id != ack.channel_message_ack.message_id:  # crowd chat may interleave
        message = listener.event("channel_message").channel_message
    assert json.loads(message.content) == {"t": "hello viewers"}
    assert message.channel_id == channel_id and message.sender_id > 2**53
    # The sender gets no copy of its own message; a socket outside the channel gets nothing.
    for raw in (sender, elsewhere):
        assert raw.request(ping=realtime_pb2.Ping()).WhichOneof("message") == "pong"
        assert all(e.channel_message.message_id != message.message_id for e in raw.events)


@pytest.mark.parametrize("frame, code", [
    (b"\xff\x00garbage", 1),
    (bytes.fromhex("0809"), 2),  # cid 9, no member
    (bytes.fromhex("0809e206020801"), 1),  # cid 9, member 108 we do not know
    (realtime_pb2.Envelope(cid=9, pong=realtime_pb2.Pong()).SerializeToString(), 1),
])
def test_bad_frames_get_an_error_and_the_socket_stays_open(open_socket, frame, code) -> None:
    raw = open_socket()
    raw.send(frame)
    reply = raw.reply(9) if frame.startswith(b"\x08\x09") else raw.reply(0)
    assert reply.error.code == code
    assert raw.request(ping=realtime_pb2.Ping()).WhichOneof("message") == "pong"


def test_text_frame_gets_an_error(open_socket) -> None:
    raw = open_socket()
    raw.ws.send('{"cid": 1, "ping": {}}')
    assert raw.reply(0).error.code == 1
    assert raw.request(ping=realtime_pb2.Ping()).WhichOneof("message") == "pong"


def test_unknown_channel_join_is_an_error(open_socket) -> None:
    raw = open_socket()
    reply = raw.request(channel_join=realtime_pb2.ChannelJoin(channel_id=123))
    assert reply.error.code == 3


def test_drop_sockets_cuts_every_connection(sandbox: Sandbox, open_socket) -> None:
    sockets = [open_socket(), open_socket()]
    for raw in sockets:
        raw.request(ping=realtime_pb2.Ping())
    assert sandbox.control("drop_sockets")["dropped"] >= 2
    for raw in sockets:
        with pytest.raises(ConnectionClosed) as caught:
            for _ in range(1000):
                raw.read(timeout=5)
        assert caught.value.rcvd is None  # no close frame: an abrupt cut
    again = open_socket()
    assert again.request(ping=realtime_pb2.Ping()).WhichOneof("message") == "pong"
