"""The client's side of the stream rules: it says at once what the server would refuse.

Covers: ``join_stream``, ``publish_file`` and ``publish`` on a text or voice channel raise
``NotStreamingChannelError`` (a ``StreamNotLiveError``) naming the channel type, without
waiting for the timeout; in a clan the bot is not in they raise ``PermissionDeniedError``
naming the clan; another session's ``stop_publisher`` is refused with ``PermissionDeniedError``
and the publication stays live.
"""

from __future__ import annotations

import pytest

import mezon_nb
from mezon_nb.client.runner import LoopThread
from mezon_nb.errors import NotStreamingChannelError, PermissionDeniedError, StreamNotLiveError
from mezon_nb.media.signaling import StnSignaling, error_for
from mezon_nb.protocol import stn

pytestmark = pytest.mark.media


def _channel(client, sandbox, kind: str):
    return next(c for c in client.channels(sandbox.clan_id)
                if {"text": 1, "voice": 10}[kind] == int(c.type))


@pytest.mark.parametrize("kind", ["text", "voice"])
def test_no_stream_in_a_text_or_voice_channel(client, sandbox, clip, kind):
    channel = _channel(client, sandbox, kind)
    attempts = [lambda: client.join_stream(channel.channel_id, timeout=60),
                lambda: client.publish_file(channel.channel_id, clip, timeout=60),
                lambda: client.publish(channel.channel_id, "pattern", timeout=60)]
    for attempt in attempts:
        with pytest.raises(NotStreamingChannelError) as caught:
            attempt()
        assert isinstance(caught.value, StreamNotLiveError)
        assert f"a {kind} channel, not a streaming channel" in str(caught.value)
        assert caught.value.channel_type == int(channel.type)


def test_no_stream_in_a_clan_the_bot_is_not_in(client, sandbox, clip):
    (other,) = sandbox.control("state")["other_clans"]
    stream = next(c for c in other["channels"] if c["type"] == 6)["channel_id"]
    for attempt in (lambda: client.join_stream(stream, timeout=60),
                    lambda: client.publish_file(stream, clip, timeout=60)):
        with pytest.raises(PermissionDeniedError) as caught:
            attempt()
        assert caught.value.clan_id == other["clan_id"]


def test_another_session_cannot_stop_my_publication(client, sandbox, clip, idle_channels):
    cid = idle_channels[1]
    publisher = client.publish_file(cid, clip, timeout=30)
    try:
        with mezon_nb.connect(sandbox=sandbox) as other:  # a second login: another session
            token = other.session().token
            assert token != client.session().token

            async def stop_as_other():
                sig = StnSignaling(sandbox.stream_url, token, channel_id=cid)
                await sig.connect()
                try:
                    await sig.send("stop_publisher", {"ChannelId": cid, "FileUrl": ""})
                    while True:
                        msg = await sig.receive()
                        if msg.key == "error":
                            return error_for(stn.error_text(msg.value))
                finally:
                    await sig.close()

            error = LoopThread.shared().run(stop_as_other(), timeout=30)
        assert isinstance(error, PermissionDeniedError)
        assert "only the session that published" in str(error)
        assert publisher.state == "live" and cid in sandbox.control("state")["live"]
    finally:
        publisher.stop()
    assert cid not in sandbox.control("state")["live"]  # its own session stops it
