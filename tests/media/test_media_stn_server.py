"""The sandbox's stream server on the wire, with a raw WebSocket (no WebRTC): babelcast-style
errors that close the socket, tolerance of unknown keys and fields, the channel list.

Not covered: media (the other files here), real STN (its source is not public).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

pytestmark = pytest.mark.media


def exchange(sandbox, token, messages, replies=1):
    """Send ``messages`` (dicts), return the decoded replies until ``replies`` or a close."""

    async def main():
        got = []
        async with connect(f"{sandbox.stream_url}/ws?token={token}") as ws:
            for message in messages:
                await ws.send(json.dumps(message))
            try:
                while len(got) < replies:
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
                closed = False
            except ConnectionClosed:
                closed = True
        return got, closed

    return asyncio.run(main())


def test_bad_token_gets_http_401(sandbox):
    with pytest.raises(InvalidStatus) as info:
        exchange(sandbox, "nope", [])
    assert info.value.response.status_code == 401


def test_unknown_keys_and_fields_are_ignored_and_channels_listed(client, sandbox):
    token = client.session().token
    replies, closed = exchange(sandbox, token, [
        {"Key": "ping"}, {"Key": "what_is_this", "Value": [1, 2]}, "not an envelope",
        {"Key": "get_channels", "ClanId": sandbox.clan_id, "Extra": {"x": 1}}])
    assert not closed
    assert replies == [{"Key": "channels", "Value": [sandbox.stream_channel_id]}]


@pytest.mark.parametrize(("message", "text"), [
    ({"Key": "connect_subscriber", "Value": {"ChannelId": "123"}},
     "webrtc session not established"),
    ({"Key": "connect_subscriber", "Value": {}}, "channel cannot be empty"),
    ({"Key": "connect_publisher", "Value": {"ChannelId": "999", "FileUrl": "file:///x.webm"}},
     'channel "999" not found'),
    ({"Key": "connect_publisher", "ChannelId": "IDLE",
      "Value": {"FileUrl": "https://example.com/a.ogg"}}, "only local files"),
    ({"Key": "connect_publisher", "Value": {"ChannelId": "STREAM", "FileUrl": "/x.webm"}},
     "is already in use"),
    ({"Key": "session_subscriber", "Value": {"type": "offer", "sdp": "garbage"}},
     "invalid offer"),
])
def test_errors_are_sent_then_the_socket_closes(client, sandbox, idle_channels, message, text):
    message = json.loads(json.dumps(message).replace("STREAM", sandbox.stream_channel_id)
                         .replace("IDLE", idle_channels[1]))
    replies, closed = exchange(sandbox, client.session().token, [message], replies=2)
    assert replies[0]["Key"] == "error" and text in replies[0]["Value"]
    assert closed and len(replies) == 1


def test_oldest_web_order_gets_audio(client, sandbox):
    """Generation A: audio-only offer, then get_channels, connect_subscriber after channels."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    async def main():
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("audio")  # sendrecv without a track, as the old web client did
        got = asyncio.get_running_loop().create_future()
        pc.on("track", lambda track: got.done() or got.set_result(track))
        await pc.setLocalDescription(await pc.createOffer())
        envelope = {"ClanId": sandbox.clan_id, "ChannelId": sandbox.stream_channel_id,
                    "UserId": client.session().user_id}
        uri = f"{sandbox.stream_url}/ws?username=bot&token={client.session().token}"
        async with connect(uri) as ws:
            await ws.send(json.dumps({"Key": "session_subscriber", **envelope, "Value": {
                "type": "offer", "sdp": pc.localDescription.sdp}}))
            await ws.send(json.dumps({"Key": "get_channels"}))
            keys = []
            while "sd_answer" not in keys:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
                keys.append(msg["Key"])
                if msg["Key"] == "channels":
                    await ws.send(json.dumps({"Key": "connect_subscriber", **envelope,
                                              "Value": {"ChannelId": sandbox.stream_channel_id}}))
                if msg["Key"] == "sd_answer":
                    await pc.setRemoteDescription(RTCSessionDescription(msg["Value"], "answer"))
            track = await asyncio.wait_for(got, 5)
            frame = await asyncio.wait_for(track.recv(), 5)
        await pc.close()
        return keys, track.kind, frame.sample_rate

    keys, kind, rate = asyncio.run(main())
    assert keys == ["session_received", "channels", "sd_answer"]
    assert (kind, rate) == ("audio", 48_000)
