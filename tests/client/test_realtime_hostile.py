"""The realtime socket against a tiny hostile server of our own (``websockets`` on 127.0.0.1:0).

The server answers requests the way Mezon does, but also pushes members this library does not
define, garbage bytes, text frames, ``error`` replies, can stay silent on ``ping``, and can cut
the TCP connection when a request arrives. The socket must skip or log each of these, keep
delivering events, fail a request whose socket died at once, and retry at once after a loss.

Not covered here: login and RPCs (``test_client_sandbox.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import datetime, timedelta, timezone

import pytest
from client_helpers import wait_until
from websockets.asyncio.server import serve

from mezon_nb.client.models import Session
from mezon_nb.client.realtime import FIRST_RETRY_JITTER, RealtimeSocket
from mezon_nb.errors import ClientClosedError, ConnectionClosedError, ServerError
from mezon_nb.protocol import codec, realtime_pb2

pytestmark = pytest.mark.anyio

JOINED = bytes.fromhex("aa030b08012203626f6228023803")  # streaming_joined_event, cid 0
UNKNOWN_MEMBER = bytes.fromhex("e206020801")  # field 108, cid 0
GARBAGE = b"\xff\xfe\x00garbage"
UNSOLICITED_ERROR = codec.encode_envelope(
    realtime_pb2.Envelope(error=realtime_pb2.Error(code=0, message="server hiccup")))


class FakeKeeper:
    """Stands in for SessionKeeper: a fixed session pointing at the hostile server."""

    def __init__(self, port: int) -> None:
        self.current = Session(token="hdr.payload.sig", user_id="1",
                               api_url=f"http://127.0.0.1:{port}",
                               ws_url=f"127.0.0.1:{port}", expires_at=None)
        self.logins = 0

    async def session(self) -> Session:
        return self.current

    async def login(self, *, stale: Session | None = None) -> Session:
        self.logins += 1
        return self.current


class Hostile:
    """Replies by cid; ``mute_pings`` drops pings; ``script`` frames go out after each connect."""

    def __init__(self, script: list[bytes | str] = (), *, mute_pings: bool = False,
                 cut_on_clan: int | None = None) -> None:
        self.script = list(script)
        self.mute_pings = mute_pings
        self.cut_on_clan = cut_on_clan  # a clan_join for it cuts the TCP connection, no reply
        self.connections = 0
        self.received: list[realtime_pb2.Envelope] = []

    async def handler(self, ws) -> None:
        self.connections += 1
        for frame in self.script:
            await ws.send(frame)
        async for data in ws:
            env = codec.decode_envelope(data)
            self.received.append(env)
            member = env.WhichOneof("message")
            if member == "ping":
                if not self.mute_pings:
                    await ws.send(codec.encode_envelope(
                        realtime_pb2.Envelope(cid=env.cid, pong=realtime_pb2.Pong())))
            elif member == "clan_join" and env.clan_join.clan_id == self.cut_on_clan:
                ws.transport.abort()
                return
            elif member == "clan_join" and env.clan_join.clan_id == 666:
                await ws.send(codec.encode_envelope(realtime_pb2.Envelope(
                    cid=env.cid, error=realtime_pb2.Error(code=3, message="no such clan"))))
            else:
                await ws.send(data)  # echo, as the server does for clan_join


@contextlib.asynccontextmanager
async def hostile_socket(server: Hostile, **options):
    events: list[realtime_pb2.Envelope] = []
    async with serve(server.handler, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        sock = RealtimeSocket(FakeKeeper(port), events.append, **options)
        try:
            await sock.start()
            yield sock, events
        finally:
            await sock.close()


async def test_unknown_members_and_garbage_are_skipped_and_events_still_arrive(caplog):
    caplog.set_level(logging.DEBUG, logger="mezon_nb.client.realtime")
    server = Hostile([UNKNOWN_MEMBER, GARBAGE, "a text frame", UNSOLICITED_ERROR, JOINED])
    async with hostile_socket(server) as (sock, events):
        await wait_until(lambda: events)
        assert [e.WhichOneof("message") for e in events] == ["streaming_joined_event"]
        assert sock.state == "connected"
        assert await sock.ping() < 5
    records = {(r.levelname, r.getMessage().split(";")[0]) for r in caplog.records}
    assert ("DEBUG", "skipped envelope with unknown member(s) [108]") in records
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("not a realtime Envelope (10 bytes)" in w for w in warnings)
    assert any("text frame" in w for w in warnings)
    assert any("server hiccup" in w for w in warnings)


async def test_error_reply_fails_only_that_request():
    async with hostile_socket(Hostile()) as (sock, _):
        bad = realtime_pb2.Envelope(clan_join=realtime_pb2.ClanJoin(clan_id=666))
        with pytest.raises(ServerError) as info:
            await sock.request(bad)
        assert info.value.code == 3 and info.value.cid == bad.cid and bad.cid > 0
        assert "no such clan" in str(info.value)
        assert await sock.ping() < 5  # the socket lives on


async def test_hundred_concurrent_requests_correlate_by_cid():
    server = Hostile()
    async with hostile_socket(server) as (sock, _):
        requests = [realtime_pb2.Envelope(clan_join=realtime_pb2.ClanJoin(clan_id=1000 + n))
                    for n in range(100)]
        replies = await asyncio.gather(*(sock.request(r) for r in requests))
    assert len({r.cid for r in requests}) == 100
    for request, reply in zip(requests, replies):
        assert reply.cid == request.cid
        assert reply.clan_join.clan_id == request.clan_join.clan_id


async def test_late_pong_reconnects_and_runs_on_connect_again(caplog):
    server = Hostile(mute_pings=True)
    setups = []

    async def on_connect():
        setups.append(server.connections)

    async with hostile_socket(server, on_connect=on_connect, ping_interval=0.1,
                              ping_timeout=0.2, reconnect_delay=(0.05, 0.1)) as (sock, _):
        await wait_until(lambda: len(setups) >= 2)
        assert sock.connections >= 2
        since, reason = sock.end_blind()  # blind from the unanswered ping on
        assert reason == "no pong within 0.2 s"
        assert since <= datetime.now(timezone.utc) - timedelta(seconds=0.2)
    assert any("no pong within" in r.getMessage() for r in caplog.records)


async def test_close_is_prompt_during_backoff():
    server = Hostile(mute_pings=True)
    async with hostile_socket(server, ping_interval=0.05, ping_timeout=0.05,
                              reconnect_delay=(30.0, 60.0)) as (sock, _):
        await wait_until(lambda: sock.state == "reconnecting")
        await asyncio.wait_for(sock.close(), 15)      # well before the 30 s backoff ends
        assert sock.state == "closed"
        with pytest.raises(ClientClosedError):
            await sock.ping()


async def test_a_socket_lost_during_the_set_up_fails_its_request_at_once():
    """The set-up's clan_join is pending when the server cuts the connection: it must fail with
    ConnectionClosedError right away, not after its 30 s timeout (waited for at most 15 s)."""
    server = Hostile(cut_on_clan=777)
    async with serve(server.handler, "127.0.0.1", 0) as srv:
        sock = RealtimeSocket(FakeKeeper(srv.sockets[0].getsockname()[1]), print,
                              request_timeout=30.0)
        sock._on_connect = lambda: sock.request(
            realtime_pb2.Envelope(clan_join=realtime_pb2.ClanJoin(clan_id=777)))
        try:
            with pytest.raises(ConnectionClosedError, match="code 1006"):
                await asyncio.wait_for(sock.start(), 15)
        finally:
            await sock.close()
    assert sock.end_blind() is None  # nothing was seen yet, so nothing was missed


async def test_the_first_retry_is_immediate_and_the_next_backs_off(caplog):
    """Connections that die during their set-up: the first retry waits a few ms, the next ones
    the backoff; the delays are read from the socket's own log lines (no clock involved)."""
    caplog.set_level(logging.INFO, logger="mezon_nb.client.realtime")
    server = Hostile(cut_on_clan=777)
    setups = []

    async def on_connect():
        setups.append(server.connections)
        if len(setups) > 1:  # the first set-up succeeds; each later one dies in its clan_join
            await sock.request(realtime_pb2.Envelope(clan_join=realtime_pb2.ClanJoin(
                clan_id=777)))

    async with hostile_socket(server, on_connect=on_connect, request_timeout=30.0,
                              reconnect_delay=(0.2, 0.4)) as (sock, _):
        with pytest.raises(ConnectionClosedError):  # the server cuts the set-up connection
            await sock.request(realtime_pb2.Envelope(clan_join=realtime_pb2.ClanJoin(
                clan_id=777)))
        await wait_until(lambda: len(setups) >= 4, timeout=15, what="three reconnects")
        since, reason = sock.end_blind()
    delays = [float(m) for r in caplog.records
              for m in re.findall(r"reconnecting in ([0-9.]+) s", r.getMessage())]
    assert delays[0] <= FIRST_RETRY_JITTER
    assert 0.1 <= delays[1] <= 0.2 and 0.2 <= delays[2] <= 0.4
    assert reason == "socket lost (code 1006)" and since.tzinfo is not None
