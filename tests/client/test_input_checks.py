"""Bad input to the client is refused before anything is sent, with a typed exception.

Covers: ids made of non-ASCII digits, ``join_stream``/``publish`` with a non-id, a server
``ws_url`` that does not parse, empty and oversized chat messages (against a real sandbox:
nothing reaches the server and the socket is not lost). Not covered: the server side of bad
input (tests/fuzz/).
"""

from __future__ import annotations

import pytest
from client_helpers import control, logged_in

from mezon_nb.client.models import Session
from mezon_nb.client.realtime import socket_url
from mezon_nb.errors import ProtocolError
from mezon_nb.protocol import codec

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("text", ["٣", "²", "1٣", "１２", "-", "--5", "+5", "1_000", ""])
def test_ids_are_ascii_decimal_digits_only(text):
    with pytest.raises(ValueError, match="must be decimal digits"):
        codec.parse_id(text)


@pytest.mark.parametrize("ws_url", ["ws://h:99999", "ws://[::1", "ws://h:port", "ftp://h:1",
                                    "wss://", "ws://:80"])
def test_a_ws_url_that_does_not_parse_is_a_protocol_error(ws_url):
    session = Session(token="a.b.c", user_id="1", api_url="http://127.0.0.1:1", ws_url=ws_url,
                      expires_at=None)
    with pytest.raises(ProtocolError, match="ws_url") as info:
        socket_url(session)
    assert "a.b.c" not in str(info.value)


@pytest.mark.parametrize("bad", [None, 1.5, b"6", ["6"]])
async def test_join_stream_and_publish_with_a_non_id_raise_type_error(sandbox, bad):
    async with logged_in(sandbox) as client:
        with pytest.raises(TypeError, match="Mezon id"):
            await client.join_stream(bad, timeout=1)
        with pytest.raises(TypeError, match="Mezon id"):
            await client.publish_file(bad, "clip.webm", timeout=1)
        with pytest.raises(TypeError, match="Mezon id"):
            await client.publish(bad, "pattern", timeout=1)


async def test_empty_and_oversized_messages_are_refused_before_sending(sandbox):
    async with logged_in(sandbox) as client:
        before = await control(sandbox, "state")
        for empty in ("", "   ", "\n\t"):
            with pytest.raises(ValueError, match="cannot be empty"):
                await client.send_message(sandbox.stream_channel_id, empty)
        with pytest.raises(ValueError, match=f"at most {codec.MAX_CONTENT_BYTES} bytes"):
            await client.send_message(sandbox.stream_channel_id, "x" * 20_000_000)
        with pytest.raises(ValueError, match="surrogate"):
            await client.send_message(sandbox.stream_channel_id, "half \ud800 a pair")
        assert client._socket.connections == 1 and client.state == "connected"
        assert client._chat.joined == []  # refused before the chat was even joined
        ack = await client.send_message(sandbox.stream_channel_id, "x" * 100_000)
        assert ack.channel_id == sandbox.stream_channel_id
        assert client._socket.connections == 1
        assert (await control(sandbox, "state"))["sockets"] == before["sockets"]
