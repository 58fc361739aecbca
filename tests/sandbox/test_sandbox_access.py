"""Clan membership, as the server enforces it: the bot is in some clans, not in others.

Covers: ``ListClanDescs`` lists only the bot's clans while the other clan exists (its channels
answer 403, not 404); every RPC about that clan or its channels is a 403 naming the clan;
``clan_join``, ``channel_join`` and ``channel_message_send`` there get a realtime ``error``
(code 5) naming the clan, and the socket stays usable. The stream server's rules are in
tests/media/test_stn_access.py.
"""

from __future__ import annotations

import pytest

from mezon_nb.protocol import api_pb2
from mezon_nb.protocol import realtime_pb2 as rt
from mezon_nb.protocol.enums import ErrorCode


@pytest.fixture(scope="module")
def other(sandbox) -> dict:
    (clan,) = sandbox.control("state")["other_clans"]
    clan["stream"] = next(c for c in clan["channels"] if c["type"] == 6)["channel_id"]
    clan["text"] = next(c for c in clan["channels"] if c["type"] == 1)["channel_id"]
    clan["refusal"] = f'not a member of clan {clan["clan_id"]} ({clan["clan_name"]})'
    return clan


def test_only_the_bots_clans_are_listed(sandbox, session, rpc, other) -> None:
    reply = rpc(sandbox, session.token, "ListClanDescs", api_pb2.ListClanDescRequest())
    listed = {str(c.clan_id) for c in api_pb2.ClanDescList.FromString(reply.content).clandesc}
    assert sandbox.clan_id in listed and other["clan_id"] not in listed
    unknown = rpc(sandbox, session.token, "ListChannelDescs",
                  api_pb2.ListChannelDescsRequest(clan_id=12345, channel_type=1))
    assert unknown.status_code == 404  # an unknown clan is not found; the other clan exists


@pytest.mark.parametrize("name", ["ListChannelDescs", "ListChannelDetail",
                                  "ListStreamingChannelUsers", "RegisterStreamingChannel"])
def test_rpcs_about_another_clan_are_403_naming_it(sandbox, session, rpc, other, name) -> None:
    clan, stream = int(other["clan_id"]), int(other["stream"])
    request = {
        "ListChannelDescs": api_pb2.ListChannelDescsRequest(clan_id=clan, channel_type=1),
        "ListChannelDetail": api_pb2.ListChannelDetailRequest(channel_id=stream),
        "ListStreamingChannelUsers": api_pb2.ListChannelUsersRequest(clan_id=clan,
                                                                     channel_type=6),
        "RegisterStreamingChannel": api_pb2.RegisterStreamingChannelRequest(clan_id=clan,
                                                                            channel_id=stream),
    }[name]
    reply = rpc(sandbox, session.token, name, request)
    assert reply.status_code == 403, reply.text
    assert reply.json() == {"code": 7, "message": other["refusal"]}


def test_channel_users_of_a_channel_in_another_clan_is_403(sandbox, session, rpc, other):
    reply = rpc(sandbox, session.token, "ListStreamingChannelUsers",
                api_pb2.ListChannelUsersRequest(channel_id=int(other["stream"])))
    assert reply.status_code == 403


def test_socket_joins_and_chat_in_another_clan_are_refused(open_socket, other) -> None:
    sock = open_socket()
    clan, text = int(other["clan_id"]), int(other["text"])
    for member in (
        {"clan_join": rt.ClanJoin(clan_id=clan)},
        {"channel_join": rt.ChannelJoin(clan_id=clan, channel_id=text, channel_type=1,
                                        is_public=True)},
        {"channel_message_send": rt.ChannelMessageSend(clan_id=clan, channel_id=text,
                                                       content='{"t":"hi"}', mode=2)},
    ):
        reply = sock.request(**member)
        assert reply.WhichOneof("message") == "error", member
        assert reply.error.code == ErrorCode.MATCH_JOIN_REJECTED
        assert reply.error.message == other["refusal"]
    assert sock.request(ping=rt.Ping()).WhichOneof("message") == "pong"  # still usable
