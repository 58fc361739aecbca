"""Error paths end in a state and a typed exception, quickly, without leaked tasks: a channel
that is not live, a bad token, a publisher that stops mid-stream, a second publisher.

"Quickly" is checked against the call's own timeout (it did not wait it out, or it gave up when
it ran out), never against a fixed number of seconds a busy machine might not meet.

Not covered: real STN's exact error texts (unknown, see the streaming spec §6).
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace

import pytest

from mezon_nb.errors import AuthenticationError, StreamEndedError, StreamError, StreamNotLiveError
from mezon_nb.media import join_stream
from mezon_nb.media.signaling import StnSignaling

pytestmark = pytest.mark.media


def test_not_live_fails_at_once_without_waiting(client, idle_channels, loop_tasks):
    before, timeout = loop_tasks(), 600
    started = time.monotonic()
    with pytest.raises(StreamNotLiveError, match="is not live") as info:
        client.join_stream(idle_channels[0], wait_live=False, timeout=timeout)
    assert "did not start within" not in str(info.value)      # not the timeout's error
    assert time.monotonic() - started < timeout / 2           # nor did it wait for it
    assert loop_tasks() <= before


def test_not_live_times_out_while_waiting(client, idle_channels):
    started = time.monotonic()
    with pytest.raises(StreamNotLiveError, match="did not start within 2"):
        client.join_stream(idle_channels[0], timeout=2)
    waited = time.monotonic() - started
    assert 2 <= waited < 60            # it waited the 2 s it was given, then gave up (no hang)


def test_bad_token_is_refused_before_the_upgrade(client, sandbox):
    real = client.session()
    fake = SimpleNamespace(
        stream_url=sandbox.stream_url,
        session=lambda: _done(SimpleNamespace(token="not-a-session", user_id=real.user_id)),
        channel=lambda cid: _done(SimpleNamespace(clan_id=sandbox.clan_id, is_streaming=True)))
    with pytest.raises(AuthenticationError, match="HTTP 401") as info:
        asyncio.run(join_stream(fake, sandbox.stream_channel_id, timeout=5))
    assert "not-a-session" not in str(info.value)


def test_signaling_repr_and_errors_hide_the_token():
    sig = StnSignaling("ws://127.0.0.1:9/stn", "very-secret")
    with pytest.raises(Exception) as info:
        asyncio.run(sig.connect(timeout=2))
    assert "very-secret" not in repr(sig) + str(info.value)


def test_publisher_stopping_mid_stream_ends_the_viewer(client, idle_channels, clip):
    publisher = client.publish_file(idle_channels[0], str(clip))
    session = client.join_stream(idle_channels[0], timeout=10)
    states = []
    session.on_state(states.append)
    assert session.latest_frame(timeout=10) is not None        # playing
    publisher.stop()
    deadline = time.monotonic() + 30
    while session.state == "live" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.state == "ended" and states == ["ended"]
    assert isinstance(session.error, StreamEndedError)
    assert publisher.state == "closed"
    assert list(session.frames()) == []  # iterators end at once
    session.leave()


def test_second_publisher_is_refused(client, sandbox, clip):
    with pytest.raises(StreamError, match="already in use"):
        client.publish_file(sandbox.stream_channel_id, str(clip))


def test_publishing_a_missing_file_is_refused(client, idle_channels, tmp_path):
    with pytest.raises(StreamError, match="stream publish failed"):
        client.publish_file(idle_channels[1], str(tmp_path / "missing.webm"))


async def _done(value):
    return value


def test_token_stays_out_of_debug_logs(client, sandbox, caplog):
    token = client.session().token
    caplog.set_level(logging.DEBUG)
    session = client.join_stream(sandbox.stream_channel_id, timeout=15)
    session.leave()
    assert "token=<hidden>" in caplog.text  # websockets' request line, redacted
    assert token not in caplog.text and token not in repr(session)
