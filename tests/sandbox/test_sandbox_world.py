"""The presence API the stream server calls (``World``), in-process, without sockets."""

from __future__ import annotations

import asyncio

import pytest

from mezon_nb.protocol import decode_envelope, envelope_member
from mezon_nb.sandbox import SandboxConfig, World
from mezon_nb.sandbox.hub import Connection


@pytest.fixture
def world() -> World:
    return World(SandboxConfig(seed=2))


def _listener(world: World, clan_id: int) -> Connection:
    conn = Connection(user_id=1, abort=lambda: None)
    conn.clans.add(clan_id)
    world.hub.register(conn)
    return conn


def _pushed(conn: Connection) -> list:
    frames = []
    while not conn.outbox.empty():
        envelope = decode_envelope(conn.outbox.get_nowait())
        assert envelope.cid == 0
        frames.append(getattr(envelope, envelope_member(envelope)))
    return frames


def test_the_stream_server_contract(world: World) -> None:
    main = world.channel(world.directory.stream_channel_id)
    assert main is not None and main.type == 6 and main.clan_name and main.label
    assert world.channel(12345) is None
    assert world.bot_user_id == world.directory.bot.user_id
    assert world.user_name(world.bot_user_id) == "Sandbox Bot"
    assert world.config["stream_size"] == (1280, 720) and world.config["stream"] is True
    grant = world.login(str(world.bot_user_id), world.directory.bot_token)
    assert grant is not None
    assert world.authenticate_session(grant.token) == world.bot_user_id
    assert world.authenticate_session(grant.session_id) == world.bot_user_id
    assert world.authenticate_session("nope") is None


def test_one_stream_per_user(world: World) -> None:
    first, second = world.directory.streaming_channels(world.directory.clans[0].clan_id)
    listener = _listener(world, first.clan_id)
    user = world.directory.viewers[0].user_id
    world.stream_join(first.channel_id, user, "Ann")
    assert world.stream_join(first.channel_id, user, "Ann") is None  # already there
    world.stream_join(second.channel_id, user, "Ann")
    joined, left, joined_again = _pushed(listener)
    assert (joined.streaming_channel_id, joined.participant) == (first.channel_id, "Ann")
    assert (left.streaming_channel_id, left.streaming_user_id) == (
        str(first.channel_id), str(user))
    assert joined_again.streaming_channel_id == second.channel_id
    assert [(p.user_id, p.channel_id) for p in world.presence()] == [(user, second.channel_id)]
    assert world.stream_leave(first.channel_id, user) is None  # not there any more
    assert world.stream_leave(second.channel_id, user) is not None
    assert world.presence() == []


def test_events_reach_only_the_channels_clan(world: World) -> None:
    clan_one, clan_two = world.directory.clans
    one, two = _listener(world, clan_one.clan_id), _listener(world, clan_two.clan_id)
    world.stream_join(world.directory.stream_channel_id, 77, "x")
    assert len(_pushed(one)) == 1 and _pushed(two) == []


def test_live_state_and_events(world: World) -> None:
    channel_id = world.directory.stream_channel_id
    listener = _listener(world, world.channel(channel_id).clan_id)
    world.stream_started(channel_id)
    world.stream_started(channel_id)  # idempotent
    assert world.is_live(channel_id) and world.live_channels() == [channel_id]
    world.stream_ended(channel_id)
    world.stream_ended(channel_id)
    assert not world.is_live(channel_id)
    started, ended = _pushed(listener)
    assert started.is_streaming and started.streaming_url.startswith("rtmp://")
    assert ended.channel_id == channel_id
    assert [e.kind for e in world.emits] == ["started", "ended"]


def test_presence_calls_from_a_coroutine(world: World) -> None:
    async def stream_server() -> list[int]:
        channel_id = world.directory.stream_channel_id
        world.stream_join(channel_id, world.bot_user_id, world.user_name(world.bot_user_id))
        await asyncio.sleep(0)
        world.stream_leave(channel_id, world.bot_user_id)
        return [record.user_id for record in world.emits]

    assert asyncio.run(stream_server()) == [world.bot_user_id] * 2


def test_non_streaming_channels_are_refused(world: World) -> None:
    text = next(c for c in world.directory.channels if c.type == 1)
    with pytest.raises(ValueError, match="not a streaming channel"):
        world.stream_join(text.channel_id, 5, "x")
