"""The stream server's access rules on the wire (raw WebSocket, no WebRTC needed).

Covers: publishing into a text or voice channel, or into a clan the user is not a member of,
is refused (``error`` then close); so is subscribing in such a clan; only the session that
published may stop a publication (another login is refused and the channel stays live; the
same login's other token, its session id, may). Not covered: the client side
(``test_access_client.py``).
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect

from mezon_nb.protocol import api_pb2

pytestmark = pytest.mark.media


def _login(sandbox) -> api_pb2.Session:
    reply = httpx.post(f"{sandbox.api_url}/v2/apps/authenticate/token",
                       json={"account": {"appid": sandbox.bot_id, "token": sandbox.bot_token}})
    assert reply.status_code == 200
    return api_pb2.Session.FromString(reply.content)


def _other_clan(sandbox) -> dict:
    (other,) = sandbox.control("state")["other_clans"]
    return other


async def _next(ws, key: str) -> dict:
    """The next message with ``key`` (others skipped), within 10 s."""
    async def find():
        while True:
            msg = json.loads(await ws.recv())
            if msg["Key"] in (key, "error"):
                return msg
    return await asyncio.wait_for(find(), 10)


def _refusal(sandbox, message: dict) -> str:
    async def main():
        token = _login(sandbox).token
        async with connect(f"{sandbox.stream_url}/ws?token={token}") as ws:
            await ws.send(json.dumps(message))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await asyncio.wait_for(ws.wait_closed(), 10)  # babelcast: error, then close
        assert reply["Key"] == "error", reply
        return reply["Value"]

    return asyncio.run(main())


def _channel(sandbox, label: str) -> str:
    return next(c["channel_id"] for c in sandbox.control("state")["channels"]
                if c["label"] == label and c["clan_id"] == sandbox.clan_id)


@pytest.mark.parametrize(("label", "kind"), [("general", "text"), ("lounge", "voice")])
def test_no_publisher_into_a_text_or_voice_channel(sandbox, clip, label, kind):
    cid = _channel(sandbox, label)
    text = _refusal(sandbox, {"Key": "connect_publisher",
                              "Value": {"ChannelId": cid, "Password": "", "FileUrl": str(clip)}})
    assert text == f'channel "{cid}" is not a streaming channel ({kind})'
    assert cid not in sandbox.control("state")["live"]


def test_no_publisher_or_subscriber_in_a_clan_the_bot_is_not_in(sandbox, clip):
    other = _other_clan(sandbox)
    stream = next(c for c in other["channels"] if c["type"] == 6)["channel_id"]
    expected = f'channel "{stream}": not a member of clan {other["clan_id"]} ({other["clan_name"]})'
    assert _refusal(sandbox, {"Key": "connect_publisher", "ClanId": other["clan_id"],
                              "Value": {"ChannelId": stream, "FileUrl": str(clip)}}) == expected
    assert _refusal(sandbox, {"Key": "connect_subscriber",
                              "Value": {"ChannelId": stream}}) == expected


def test_only_the_publishing_session_may_stop(sandbox, clip, idle_channels):
    cid = idle_channels[0]
    mine, other = _login(sandbox), _login(sandbox)
    stop = json.dumps({"Key": "stop_publisher",
                       "Value": {"ChannelId": cid, "Password": "", "FileUrl": ""}})

    async def main():
        url = f"{sandbox.stream_url}/ws?token="
        async with connect(url + mine.token) as publisher:
            await publisher.send(json.dumps({"Key": "connect_publisher", "Value": {
                "ChannelId": cid, "Password": "", "FileUrl": str(clip)}}))
            assert (await _next(publisher, "connect_publisher"))["Key"] == "connect_publisher"
            async with connect(url + other.token) as intruder:
                await intruder.send(stop)
                refused = await _next(intruder, "none")
            assert refused["Value"] == (
                f'only the session that published channel "{cid}" may stop it')
            assert cid in sandbox.control("state")["live"]
            async with connect(url + mine.session_id) as same_login:  # another socket, same login
                await same_login.send(stop)
                ended = await _next(publisher, "info")
            assert ended["Value"] == "stream_publisher_ended"
        assert cid not in sandbox.control("state")["live"]

    asyncio.run(main())


def test_the_built_in_pattern_is_the_servers_own(sandbox):
    cid = sandbox.stream_channel_id
    assert _refusal(sandbox, {"Key": "stop_publisher", "Value": {"ChannelId": cid}}) == (
        f'channel "{cid}" is published by the stream server itself')
    assert cid in sandbox.control("state")["live"]
