"""Fuzz tier, client side: a hostile server feeds the client's envelope decoding.

A ``websockets`` server on 127.0.0.1:0 pushes 3 000 seeded frames (envelopes of every member
with edge values, mutated envelopes, garbage, text frames, replies to cids nobody asked for)
into a :class:`RealtimeSocket` wired to a real :class:`AsyncClient`'s own envelope handler
(decode → events → dispatcher → event streams and participant log). Every 100th frame is a
known good ``streaming_joined_event``. Asserted: each good event reaches ``client.events()`` and
the participant log, nothing raised inside the handler (no ERROR record), the socket never
reconnected, and it still answers a ping. Counts scale with ``MEZON_FUZZ_SCALE``.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from fuzz_helpers import Fuzz, cases
from websockets.asyncio.server import serve

from mezon_nb.client.realtime import RealtimeSocket
from mezon_nb.core.models import Session
from mezon_nb.facade import AsyncClient
from mezon_nb.protocol import codec, realtime_pb2

GOOD_EVERY = 100


class StaticKeeper:
    """What RealtimeSocket asks of a session keeper, for a server that checks no token."""

    def __init__(self, port: int) -> None:
        self.session_value = Session(token="x.y.z", user_id="1",
                                     api_url=f"http://127.0.0.1:{port}",
                                     ws_url=f"ws://127.0.0.1:{port}", expires_at=None)

    async def session(self) -> Session:
        return self.session_value

    async def login(self, *, stale: Session | None = None) -> Session:
        return self.session_value


def good_event(number: int) -> bytes:
    return codec.encode_envelope(realtime_pb2.Envelope(
        streaming_joined_event=realtime_pb2.StreamingJoinedEvent(
            clan_id=1, clan_name="Fuzz", id=10_000 + number, participant=f"viewer {number}",
            user_id=20_000 + number, streaming_channel_label="Live",
            streaming_channel_id=6)))


async def test_hostile_frames_leave_the_event_stream_alive(caplog):
    caplog.set_level(logging.WARNING)
    fuzz, n = Fuzz(606), cases(3000)
    frames: list[bytes | str] = []
    for index in range(n):
        if index % GOOD_EVERY == GOOD_EVERY - 1:
            frames.append(good_event(index // GOOD_EVERY))
        elif fuzz.rng.random() < 0.03:
            frames.append(fuzz.text().encode("utf-8", "replace").decode() or "t")
        else:
            frames.append(fuzz.envelope_frame(cid=fuzz.rng.choice((0, 0, 0, 5, 2**31 - 1))))
    good = n // GOOD_EVERY

    async def handler(ws) -> None:
        for frame in frames:
            await ws.send(frame)
        async for data in ws:  # then behave: answer pings
            request = codec.decode_envelope(data)
            if request.WhichOneof("message") == "ping":
                await ws.send(codec.encode_envelope(realtime_pb2.Envelope(
                    cid=request.cid, pong=realtime_pb2.Pong())))

    client = AsyncClient("1", "not-a-real-token")
    stream = client.events(maxsize=10 * n)
    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        sock = RealtimeSocket(StaticKeeper(port), client._on_envelope, ping_interval=3600)
        try:
            await sock.start()
            seen: set[str] = set()

            async def until_all_good_seen() -> None:
                async for event in stream:
                    if getattr(event, "participant", "").startswith("viewer ") and \
                            event.clan_id == "1":
                        seen.add(event.id)
                    if len(seen) == good:
                        break

            await asyncio.wait_for(until_all_good_seen(), 60)  # (asyncio.timeout: 3.11+)
            assert await sock.ping() < 30
            assert sock.connections == 1 and sock.state == "connected"
        finally:
            await sock.close()
            await client.close()
    assert seen == {str(10_000 + i) for i in range(good)}
    rows = client.participants.events
    assert {str(20_000 + i) for i in range(good)} <= set(rows["user_id"].dropna().astype(str))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert any("frame ignored" in r.getMessage() for r in caplog.records)  # garbage was seen


pytestmark = pytest.mark.anyio
