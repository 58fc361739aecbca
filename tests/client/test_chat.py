"""Stream chat against a real sandbox: send/ack, incoming messages, join on demand, error paths.

Covers: ``send_message`` acks with exact str ids and the message reaching another socket in the
chat; ``client.on("channel_message")``, ``messages()`` and the participant log receiving chat;
the chat joined on first use, re-joined after a reconnect, and joined again (then retried) when
the server answers "must join" (code 3); unknown channels, bad text, a closed client; decoding
the wire vectors and malformed content without raising. Not covered: the greeter
(test_greeter.py) and the widgets' chat pane.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
from client_helpers import control, logged_in, wait_until

from mezon_nb.client import AsyncClient
from mezon_nb.client.events import ChannelMessage, event_from_envelope
from mezon_nb.errors import ClientClosedError, NotFoundError, ServerError
from mezon_nb.protocol import api_pb2, codec, realtime_pb2

pytestmark = pytest.mark.anyio


def envelope(wire_vectors: dict[str, dict], name: str) -> realtime_pb2.Envelope:
    return codec.decode_envelope(bytes.fromhex(wire_vectors[name]["hex"]))


def test_the_wire_vector_decodes_to_a_channel_message(wire_vectors):
    message = event_from_envelope(envelope(wire_vectors, "env_channel_message"))
    assert isinstance(message, ChannelMessage)
    assert message.event_name == "channel_message"
    assert (message.channel_id, message.message_id, message.sender_id) == (
        "1840666462012837894", "1840666462012837988", "1840666462012837895")
    assert (message.text, message.content) == ("hi from the stream", '{"t":"hi from the stream"}')
    assert (message.sender_name, message.channel_label) == ("Alice", "Live Gaming Session")
    assert message.create_time.timestamp() == 1763900001


def test_our_send_content_is_the_vector_content(wire_vectors):
    sent = envelope(wire_vectors, "env_channel_message_send").channel_message_send
    assert codec.text_content("Welcome alice to the stream!") == sent.content


@pytest.mark.parametrize("content", ["{not json", "", "[1, 2]", '{"t": 5}', '"t"', "null",
                                     '{"lk": [{"url": "x"}]}', "[" * 5000])
def test_malformed_content_keeps_the_raw_string_and_never_raises(content):
    envelope = realtime_pb2.Envelope(channel_message=api_pb2.ChannelMessage(content=content))
    message = event_from_envelope(envelope)
    assert (message.text, message.content) == ("", content)


async def test_send_acks_and_reaches_another_socket_in_the_chat(sandbox):
    async with logged_in(sandbox) as bot, logged_in(sandbox) as listener:
        await listener.join_chat(sandbox.stream_channel_id)
        heard = listener.messages()
        ack = await bot.send_message(int(sandbox.stream_channel_id), "Hello, viewers! 👋")
        assert ack.channel_id == sandbox.stream_channel_id
        assert ack.message_id.isdigit() and int(ack.message_id) > 2**53
        assert isinstance(ack.create_time, datetime) and ack.username
        message = await wait_for_message(heard, ack.message_id)
        assert message.text == "Hello, viewers! 👋"
        assert json.loads(message.content) == {"t": "Hello, viewers! 👋"}
        assert message.sender_id == bot.user_id
        assert message.channel_id == sandbox.stream_channel_id
        with pytest.raises(Exception):  # noqa: B017 - frozen
            message.text = "changed"  # type: ignore[misc]


async def test_incoming_chat_reaches_callbacks_streams_and_the_log(sandbox):
    async with logged_in(sandbox) as client:
        await client.join_chat(sandbox.stream_channel_id)
        called: list[ChannelMessage] = []
        handle = client.on("channel_message", called.append)
        stream = client.messages()
        events = client.events()
        said = await control(sandbox, "post_message", text="hi bot", name="Chatty")
        await wait_until(lambda: called, what="the callback")
        message = await wait_for_message(stream, said["message_id"])
        assert called == [message]
        assert (message.text, message.sender_name) == ("hi bot", "Chatty")
        assert message.sender_id == said["user_id"] and message.channel_label == "main-stage"
        # the marker: a streaming event after the chat message is the first thing events() gives
        added = await control(sandbox, "add_viewer", name="After The Chat")
        first = await asyncio.wait_for(anext(aiter(events)), 10)
        assert (first.event_name, first.user_id) == ("streaming_joined", added["user_id"]), \
            "client.events() yields streaming events only"
        rows = client.participants.events
        rows = rows[rows["kind"] == "message"]
        assert rows[["user_id", "participant", "channel_id", "source"]].values.tolist() == [
            [said["user_id"], "Chatty", sandbox.stream_channel_id, "live"]]
        handle.cancel()


async def test_the_chat_is_joined_on_first_send_and_again_after_a_reconnect(sandbox):
    async with logged_in(sandbox, reconnect_delay=(0.05, 0.2)) as client:
        assert client._chat.joined == []
        await client.send_message(sandbox.stream_channel_id, "first")
        assert client._chat.joined == [sandbox.stream_channel_id]
        before = client._socket.connections
        await control(sandbox, "drop_sockets")
        await wait_until(lambda: client._socket.connections > before and
                         client.state == "connected", what="the reconnect")
        stream = client.messages()
        said = await control(sandbox, "post_message", text="still there?")
        assert (await wait_for_message(stream, said["message_id"])).text == "still there?"


async def test_must_join_error_makes_the_client_join_and_retry(sandbox):
    async with logged_in(sandbox) as client:
        await client.join_chat(sandbox.stream_channel_id)
        # The server forgets the join behind the client's back: the next send gets error 3.
        await client._socket.request(realtime_pb2.Envelope(channel_leave=realtime_pb2.ChannelLeave(
            clan_id=int(sandbox.clan_id), channel_id=int(sandbox.stream_channel_id))))
        requests = []
        original = client._socket.request

        async def spy(envelope, timeout=None):
            requests.append(codec.envelope_member(envelope))
            return await original(envelope, timeout)

        client._socket.request = spy
        ack = await client.send_message(sandbox.stream_channel_id, "retried")
        assert ack.message_id.isdigit()
        assert requests == ["channel_message_send", "channel_join", "channel_message_send"]


async def test_error_paths(sandbox):
    async with logged_in(sandbox) as client:
        with pytest.raises(NotFoundError):
            await client.send_message("1234", "nobody here")  # clan lookup: no such channel
        with pytest.raises(ServerError) as info:
            await client.send_message("1234", "nobody here", clan_id=sandbox.clan_id)
        assert info.value.code == 3 and "not found" in str(info.value)
        with pytest.raises(TypeError):
            await client.send_message(sandbox.stream_channel_id, b"bytes")
        with pytest.raises(ValueError):
            await client.send_message("general", "hi")
        assert client._chat.joined == []
    closed = AsyncClient(sandbox.bot_id, sandbox.bot_token, base_url=sandbox.api_url)
    await closed.close()
    with pytest.raises(ClientClosedError):
        await closed.send_message(sandbox.stream_channel_id, "late")
    with pytest.raises(ClientClosedError):
        closed.messages()


async def wait_for_message(stream, message_id: str, timeout: float = 10.0) -> ChannelMessage:
    """The message with ``message_id`` from ``stream`` (others, e.g. crowd chat, are skipped)."""
    async def find() -> ChannelMessage:
        async for message in stream:
            if message.message_id == message_id:
                return message
        raise AssertionError("stream closed before the message arrived")

    return await asyncio.wait_for(find(), timeout)
