"""Every reply the sandbox builds, pinned field by field against the spec (mezon-protocol.md
§2.1, §3.3, §3.4, Appendix A): which fields are set, and which stay empty because the sandbox
has nothing true to put there (logos, avatars, ``parent_id`` of top-level channels). The login
reply is pinned in test_sandbox_login.py.
"""

from __future__ import annotations

from mezon_nb.protocol import api_pb2, realtime_pb2


def _set(message) -> set[str]:
    return {field.name for field, _ in message.ListFields()}


def test_clan_and_channel_descriptions(sandbox, session, rpc) -> None:
    clans = api_pb2.ClanDescList.FromString(
        rpc(sandbox, session.token, "ListClanDescs", api_pb2.ListClanDescRequest()).content)
    for clan in clans.clandesc:
        assert _set(clan) == {"creator_id", "clan_name", "clan_id", "welcome_channel_id"}
    channels = api_pb2.ChannelDescList.FromString(rpc(
        sandbox, session.token, "ListChannelDescs",
        api_pb2.ListChannelDescsRequest(clan_id=int(sandbox.clan_id), channel_type=1)).content)
    for channel in channels.channeldesc:
        assert _set(channel) == {"clan_id", "channel_id", "category_id", "category_name", "type",
                                 "creator_id", "channel_label", "clan_name"}, channel
        assert channel.type in (1, 6, 10)
    detail = api_pb2.ChannelDescription.FromString(rpc(
        sandbox, session.token, "ListChannelDetail",
        api_pb2.ListChannelDetailRequest(channel_id=int(sandbox.stream_channel_id))).content)
    assert detail in channels.channeldesc  # the same description both ways


def test_register_reply(sandbox, session, rpc) -> None:
    reply = api_pb2.RegisterStreamingChannelResponse.FromString(rpc(
        sandbox, session.token, "RegisterStreamingChannel",
        api_pb2.RegisterStreamingChannelRequest(clan_id=int(sandbox.clan_id),
                                                channel_id=int(sandbox.stream_channel_id))
    ).content)
    assert _set(reply) == {"clan_id", "channel_id", "streaming_url"}


def test_channel_join_and_message_ack(sandbox, open_socket, session) -> None:
    raw = open_socket()
    reply = raw.request(channel_join=realtime_pb2.ChannelJoin(
        clan_id=int(sandbox.clan_id), channel_id=int(sandbox.stream_channel_id),
        channel_type=6, is_public=True))
    assert _set(reply) == {"cid", "channel"}
    assert _set(reply.channel) - {"presences"} == {"id", "self", "chanel_label", "category_name"}
    assert _set(reply.channel.self) == {"user_id", "session_id", "username", "user_status"}
    ack = raw.request(channel_message_send=realtime_pb2.ChannelMessageSend(
        clan_id=int(sandbox.clan_id), channel_id=int(sandbox.stream_channel_id),
        content='{"t":"pin"}', mode=2, is_public=True))
    assert _set(ack) == {"cid", "channel_message_ack"}
    assert _set(ack.channel_message_ack) == {"channel_id", "message_id", "username",
                                             "create_time_seconds", "category_name"}


def test_streaming_events(sandbox, open_socket) -> None:
    raw = open_socket()
    raw.request(clan_join=realtime_pb2.ClanJoin(clan_id=int(sandbox.clan_id)))
    added = sandbox.control("add_viewer", name="Pin Tester")
    joined = raw.event("streaming_joined_event").streaming_joined_event
    while str(joined.user_id) != added["user_id"]:
        joined = raw.event("streaming_joined_event").streaming_joined_event
    assert _set(joined) == {"clan_id", "clan_name", "id", "participant", "user_id",
                            "streaming_channel_label", "streaming_channel_id"}
    sandbox.control("remove_viewer", user_id=added["user_id"])
    left = raw.event("streaming_leaved_event").streaming_leaved_event
    while left.streaming_user_id != added["user_id"]:
        left = raw.event("streaming_leaved_event").streaming_leaved_event
    assert _set(left) == {"id", "clan_id", "streaming_channel_id", "streaming_user_id"}
    assert isinstance(left.streaming_channel_id, str)  # fields 3 and 4 are strings (§3.3)
