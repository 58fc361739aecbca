"""Protobuf RPCs under ``/mezon.api.Mezon/`` (spec §2.1, §6.2), including 400/401/404 paths.

Not covered: pagination (``limit``/``cursor`` are ignored by the sandbox, except ``limit`` on
``ListStreamingChannelUsers``).
"""

from __future__ import annotations

import time

import httpx
import pytest

from mezon_nb.protocol import api_pb2
from mezon_nb.sandbox import Sandbox

STREAMING = 6


@pytest.fixture(scope="module")
def clans(sandbox: Sandbox, session: api_pb2.Session, rpc) -> list[api_pb2.ClanDesc]:
    reply = rpc(sandbox, session.token, "ListClanDescs", api_pb2.ListClanDescRequest(limit=100))
    assert reply.status_code == 200
    return list(api_pb2.ClanDescList.FromString(reply.content).clandesc)


def channels_of(sandbox, session, rpc, clan_id: int) -> list[api_pb2.ChannelDescription]:
    request = api_pb2.ListChannelDescsRequest(clan_id=clan_id, channel_type=1, limit=100)
    reply = rpc(sandbox, session.token, "ListChannelDescs", request)
    assert reply.status_code == 200
    return list(api_pb2.ChannelDescList.FromString(reply.content).channeldesc)


def test_list_clans(sandbox: Sandbox, clans) -> None:
    assert len(clans) == 2
    assert str(clans[0].clan_id) == sandbox.clan_id
    assert all(clan.clan_id > 2**53 and clan.clan_name for clan in clans)


def test_list_channels_returns_every_type(sandbox, session, rpc, clans) -> None:
    first = channels_of(sandbox, session, rpc, clans[0].clan_id)
    second = channels_of(sandbox, session, rpc, clans[1].clan_id)
    assert {c.type for c in first} >= {1, STREAMING}
    assert sum(c.type == STREAMING for c in first) >= 2
    assert sum(c.type == STREAMING for c in second) >= 1
    assert sandbox.stream_channel_id in {str(c.channel_id) for c in first}
    assert all(c.channel_label and c.clan_id == clans[0].clan_id for c in first)
    assert all(c.channel_id > 2**53 for c in first + second)


def test_list_channels_of_dm_clan_is_empty(sandbox, session, rpc) -> None:
    reply = rpc(sandbox, session.token, "ListChannelDescs", api_pb2.ListChannelDescsRequest())
    assert reply.status_code == 200
    assert not api_pb2.ChannelDescList.FromString(reply.content).channeldesc


def test_channel_detail(sandbox, session, rpc) -> None:
    request = api_pb2.ListChannelDetailRequest(channel_id=int(sandbox.stream_channel_id))
    reply = rpc(sandbox, session.token, "ListChannelDetail", request)
    detail = api_pb2.ChannelDescription.FromString(reply.content)
    assert (str(detail.channel_id), detail.type) == (sandbox.stream_channel_id, STREAMING)
    assert str(detail.clan_id) == sandbox.clan_id


def test_streaming_users_by_channel_and_clan(sandbox, session, rpc) -> None:
    added = sandbox.control("add_viewer", name="Rpc Tester")
    request = api_pb2.ListChannelUsersRequest(
        clan_id=int(sandbox.clan_id), channel_id=int(sandbox.stream_channel_id), channel_type=6)
    users = api_pb2.StreamingChannelUserList.FromString(
        rpc(sandbox, session.token, "ListStreamingChannelUsers", request).content
    ).streaming_channel_users
    mine = [u for u in users if str(u.user_id) == added["user_id"]]
    assert len(mine) == 1 and mine[0].participant == "Rpc Tester"
    assert str(mine[0].id) == added["event_id"]
    assert all(str(u.channel_id) == sandbox.stream_channel_id for u in users)
    whole = api_pb2.ListChannelUsersRequest(clan_id=int(sandbox.clan_id), channel_type=6)
    clan_users = api_pb2.StreamingChannelUserList.FromString(
        rpc(sandbox, session.token, "ListStreamingChannelUsers", whole).content
    ).streaming_channel_users
    assert added["user_id"] in {str(u.user_id) for u in clan_users}
    sandbox.control("remove_viewer", user_id=added["user_id"])


def test_register_streaming_channel(sandbox, session, rpc, clans) -> None:
    request = api_pb2.RegisterStreamingChannelRequest(
        clan_id=int(sandbox.clan_id), channel_id=int(sandbox.stream_channel_id))
    reply = api_pb2.RegisterStreamingChannelResponse.FromString(
        rpc(sandbox, session.token, "RegisterStreamingChannel", request).content)
    assert reply.streaming_url.startswith("rtmp://127.0.0.1/live/")
    assert str(reply.channel_id) == sandbox.stream_channel_id
    text = next(c for c in channels_of(sandbox, session, rpc, clans[0].clan_id) if c.type == 1)
    request = api_pb2.RegisterStreamingChannelRequest(channel_id=text.channel_id)
    assert rpc(sandbox, session.token, "RegisterStreamingChannel", request).status_code == 400


def test_session_id_works_as_bearer(sandbox, session, rpc) -> None:
    reply = rpc(sandbox, session.session_id, "ListClanDescs", api_pb2.ListClanDescRequest())
    assert reply.status_code == 200


@pytest.mark.parametrize("token", [None, "garbage", "a.b.c"])
def test_missing_or_bad_bearer_is_401(sandbox, rpc, token) -> None:
    reply = rpc(sandbox, token, "ListClanDescs", api_pb2.ListClanDescRequest())
    assert reply.status_code == 401
    assert reply.json()["code"] == 16


def test_refresh_token_is_not_a_session(sandbox, session, rpc) -> None:
    reply = rpc(sandbox, session.refresh_token, "ListClanDescs", api_pb2.ListClanDescRequest())
    assert reply.status_code == 401


def test_expired_session_is_401(login, rpc) -> None:
    with Sandbox.start(crowd=False, stream=False, session_ttl=1.0) as short:
        session = login(short)

        def status(token: str) -> int:  # keeps tokens out of assertion messages
            return rpc(short, token, "ListClanDescs", api_pb2.ListClanDescRequest()).status_code

        assert status(session.token) == 200
        deadline = time.monotonic() + 5
        while status(session.token) == 200:
            assert time.monotonic() < deadline, "session never expired"
            time.sleep(0.2)
        session_id_status = status(session.session_id)
        assert session_id_status == 401
        fresh_status = status(login(short).token)
        assert fresh_status == 200


@pytest.mark.parametrize("name, request_message", [
    ("ListChannelDescs", api_pb2.ListChannelDescsRequest(clan_id=12345)),
    ("ListChannelDetail", api_pb2.ListChannelDetailRequest(channel_id=12345)),
    ("ListStreamingChannelUsers", api_pb2.ListChannelUsersRequest(clan_id=12345)),
    ("ListStreamingChannelUsers", api_pb2.ListChannelUsersRequest(channel_id=12345)),
    ("RegisterStreamingChannel", api_pb2.RegisterStreamingChannelRequest(channel_id=12345)),
])
def test_unknown_clan_or_channel_is_404(sandbox, session, rpc, name, request_message) -> None:
    reply = rpc(sandbox, session.token, name, request_message)
    assert reply.status_code == 404
    assert reply.json() == {"code": 5, "message": reply.json()["message"]}


def test_unknown_rpc_is_404(sandbox, session, rpc) -> None:
    reply = rpc(sandbox, session.token, "NoSuchRpc", api_pb2.ListClanDescRequest())
    assert reply.status_code == 404


def test_unparsable_body_is_400(sandbox, session) -> None:
    reply = httpx.post(f"{sandbox.api_url}/mezon.api.Mezon/ListChannelDetail",
                       content=b"\xff\xff\xff",
                       headers={"Authorization": f"Bearer {session.token}"})
    assert reply.status_code == 400
    assert reply.json()["code"] == 3
