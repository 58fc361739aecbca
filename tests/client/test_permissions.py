"""The client against the sandbox's clan membership: a typed error naming the clan.

Covers: every RPC about a clan the bot is not in (or a channel of it) raises
``PermissionDeniedError`` with ``clan_id`` set and the clan in the message; joining and sending
to its chat too, whether the clan is looked up (RPC) or given (refused on the socket); the
socket stays connected. Streams: tests/media/test_stream_access_client.py.
"""

from __future__ import annotations

import pytest
from client_helpers import control, logged_in

from mezon_nb.errors import PermissionDeniedError, ServerError

pytestmark = pytest.mark.anyio


async def _other(sandbox) -> dict:
    (clan,) = (await control(sandbox, "state"))["other_clans"]
    clan["stream"] = next(c for c in clan["channels"] if c["type"] == 6)["channel_id"]
    clan["text"] = next(c for c in clan["channels"] if c["type"] == 1)["channel_id"]
    return clan


def _names_the_clan(error: PermissionDeniedError, clan: dict) -> None:
    assert isinstance(error, ServerError)
    assert error.clan_id == clan["clan_id"]
    assert clan["clan_id"] in str(error)


async def test_rpcs_in_a_clan_the_bot_is_not_in(sandbox):
    other = await _other(sandbox)
    async with logged_in(sandbox, realtime=False) as client:
        assert other["clan_id"] not in [c.clan_id for c in await client.clans()]
        calls = [
            client.channels(other["clan_id"]),
            client.channel(other["stream"]),
            client.streaming_channel_users(other["clan_id"]),
            client.register_streaming_channel(other["clan_id"], other["stream"]),
        ]
        for call in calls:
            with pytest.raises(PermissionDeniedError) as caught:
                await call
            _names_the_clan(caught.value, other)
        assert len(await client.clans()) == 2  # the session is fine: no re-login, no harm


async def test_chat_in_a_clan_the_bot_is_not_in(sandbox):
    other = await _other(sandbox)
    async with logged_in(sandbox) as client:
        attempts = [
            client.join_chat(other["text"], clan_id=other["clan_id"]),  # refused on the socket
            client.send_message(other["text"], "hi", clan_id=other["clan_id"]),
            client.send_message(other["text"], "hi"),                    # refused by the lookup
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDeniedError) as caught:
                await attempt
            _names_the_clan(caught.value, other)
        assert client.state == "connected"
        assert await client.ping() >= 0
