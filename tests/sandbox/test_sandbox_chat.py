"""Sandbox chat against the spec's Appendix A and the wire vectors.

Covers: the golden ``channel_message_send`` answered with a ``channel_message_ack`` of the same
cid (and error 3 before a join); the ``post_message`` control reaching the sockets that joined
the chat only; crowd chat deterministic per seed, only from viewers who are watching, with
compact ``{"t":…}`` content. Not covered: the client side (tests/client/test_chat.py).
"""

from __future__ import annotations

import itertools

import pytest

from mezon_nb.protocol import codec, realtime_pb2
from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.crowd import Crowd, CrowdStep, crowd_schedule
from mezon_nb.sandbox.directory import seed_directory
from mezon_nb.sandbox.hub import Connection
from mezon_nb.sandbox.realtime import answer
from mezon_nb.sandbox.world import World


def test_the_golden_send_is_refused_then_acked_after_the_golden_join(wire_vectors) -> None:
    world = World(SandboxConfig(seed=0))
    conn = Connection(user_id=world.bot_user_id, abort=lambda: None)
    world.hub.register(conn)
    listener = Connection(user_id=7, abort=lambda: None)
    world.hub.register(listener)
    send = bytes.fromhex(wire_vectors["env_channel_message_send"]["hex"])
    join = codec.decode_envelope(bytes.fromhex(wire_vectors["env_channel_join"]["hex"]))
    # The vectors use their own ids; point the join and the send at a sandbox stream.
    channel = world.directory.stream_channel_id
    clan = world.channel(channel).clan_id
    refused = answer(world, conn, send)
    assert (refused.cid, refused.error.code, refused.error.message) == (10, 3, codec.MUST_JOIN)
    join.channel_join.channel_id, join.channel_join.clan_id = channel, clan
    for who in (conn, listener):
        reply = answer(world, who, codec.encode_envelope(join))
        assert (reply.cid, reply.WhichOneof("message")) == (8, "channel")
    envelope = codec.decode_envelope(send)
    envelope.channel_message_send.channel_id = channel
    ack = answer(world, conn, codec.encode_envelope(envelope))
    assert ack.cid == 10 and ack.WhichOneof("message") == "channel_message_ack"
    assert ack.channel_message_ack.channel_id == channel
    assert ack.channel_message_ack.username == world.user(world.bot_user_id).username
    pushed = realtime_pb2.Envelope.FromString(listener.outbox.get_nowait())
    assert pushed.cid == 0
    assert pushed.channel_message.content == '{"t":"Welcome alice to the stream!"}'
    assert pushed.channel_message.message_id == ack.channel_message_ack.message_id
    assert conn.outbox.empty(), "the sender gets no copy"


def test_post_message_reaches_the_sockets_in_the_chat_only(sandbox, open_socket) -> None:
    inside, outside = open_socket(), open_socket()
    join = realtime_pb2.ChannelJoin(clan_id=int(sandbox.clan_id),
                                    channel_id=int(sandbox.stream_channel_id),
                                    channel_type=6, is_public=True)
    assert inside.request(channel_join=join).WhichOneof("message") == "channel"
    said = sandbox.control("post_message", text="héllo 👋", name="Ann")
    message = inside.event("channel_message").channel_message
    while str(message.message_id) != said["message_id"]:  # crowd chat may interleave
        message = inside.event("channel_message").channel_message
    assert str(message.sender_id) == said["user_id"]
    assert message.display_name == "Ann" and message.channel_label == "main-stage"
    assert message.content == '{"t":"héllo 👋"}' and message.mode == 2
    assert outside.request(ping=realtime_pb2.Ping()).WhichOneof("message") == "pong"
    assert [e for e in outside.events if e.WhichOneof("message") == "channel_message"] == []
    with pytest.raises(RuntimeError, match="400"):
        sandbox.control("post_message", text=5)
    with pytest.raises(RuntimeError, match="400"):
        sandbox.control("post_message")


def _chat(seed: int, count: int = 3000) -> list[tuple[float, int, int, str]]:
    steps = itertools.islice(crowd_schedule(seed_directory(seed), 120.0, seed), count)
    return [(s.at, s.user_id, s.channel_id, s.text) for s in steps if s.kind == "chat"]


def test_crowd_chat_is_deterministic_and_light() -> None:
    assert _chat(2) == _chat(2) and _chat(2) != _chat(3)
    joins = sum(1 for s in itertools.islice(
        crowd_schedule(seed_directory(2), 120.0, 2), 3000) if s.kind == "join")
    assert 0.05 * joins < len(_chat(2)) < 0.3 * joins  # "a little": about 15 % of visits
    assert all(text for *_, text in _chat(2))


def test_crowd_chat_is_posted_as_compact_json() -> None:
    world = World(SandboxConfig(seed=0))
    listener = Connection(user_id=1, abort=lambda: None)
    listener.channels.add(world.directory.stream_channel_id)
    world.hub.register(listener)
    crowd = Crowd(world, rate_per_minute=40.0, time_scale=1.0)
    viewer = world.directory.viewers[0].user_id
    channel = world.directory.stream_channel_id
    crowd._apply(CrowdStep(0.0, "chat", viewer, channel, "nice stream"))  # not watching: silent
    assert listener.outbox.empty()
    crowd._apply(CrowdStep(0.0, "join", viewer, channel))
    crowd._apply(CrowdStep(1.0, "chat", viewer, channel, "nice stream"))
    frames = [realtime_pb2.Envelope.FromString(listener.outbox.get_nowait())
              for _ in range(listener.outbox.qsize())]
    [message] = [f.channel_message for f in frames if f.WhichOneof("message") == "channel_message"]
    assert message.content == '{"t":"nice stream"}' and message.sender_id == viewer
