"""AsyncClient against a real sandbox child process over loopback HTTP and WebSocket.

Covers: login (good and bad token), every RPC, events to streams, callbacks and the participant
log, 100 concurrent socket requests, ping/pong, reconnect + clan re-join + reconcile after the
server drops every socket, re-login before expiry and after a 401, and tokens never showing in
exceptions or reprs. Not covered: the media and widget seats (their own packages' tests).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import datetime, timezone

import pytest
from client_helpers import control, logged_in, wait_until

from mezon_nb.client import AsyncClient, StreamingJoined, StreamingLeaved
from mezon_nb.errors import AuthenticationError, ClientClosedError, NotFoundError
from mezon_nb.protocol.enums import ChannelType
from mezon_nb.sandbox import Sandbox

pytestmark = pytest.mark.anyio


async def test_login_gives_a_session_and_hides_the_token(sandbox, caplog):
    caplog.set_level(logging.DEBUG)  # websockets logs its handshake URL at DEBUG
    async with logged_in(sandbox) as client:
        session = await client.session()
        assert session.user_id == sandbox.bot_id == client.user_id
        assert session.api_url == sandbox.api_url
        assert session.expires_at > datetime.now(timezone.utc)
        assert session.token.count(".") == 2
        for text in (repr(session), repr(client), str(session)):
            assert session.token not in text and sandbox.bot_token not in text
        assert client.stream_url == sandbox.stream_url
        assert await client.ping() < 5
    assert "token=***" in caplog.text
    assert session.token not in caplog.text and sandbox.bot_token not in caplog.text


async def test_bad_token_raises_authentication_error_without_the_token(sandbox):
    secret = "not-the-token-" + "S3CR3T" * 4
    client = AsyncClient(sandbox.bot_id, secret, base_url=sandbox.api_url)
    try:
        with pytest.raises(AuthenticationError) as info:
            await client.login()
    finally:
        await client.close()
    shown = "".join(traceback.format_exception(info.value)) + repr(info.value) + repr(client)
    assert secret not in shown
    assert "401" in str(info.value)


async def test_every_rpc_returns_plain_dataclasses_with_str_ids(sandbox):
    async with logged_in(sandbox, realtime=False) as client:
        clans = await client.clans()
        assert sandbox.clan_id in [c.clan_id for c in clans]
        channels = await client.channels(int(sandbox.clan_id))  # ints are accepted too
        stream = next(ch for ch in channels if ch.channel_id == sandbox.stream_channel_id)
        assert stream.type == ChannelType.STREAMING and stream.clan_id == sandbox.clan_id
        assert {ChannelType.CHANNEL, ChannelType.STREAMING} <= {ch.type for ch in channels}
        everywhere = await client.streaming_channels()
        assert {c.clan_id for c in everywhere} == {c.clan_id for c in clans}
        assert all(ch.is_streaming for ch in everywhere)
        assert [ch.channel_id for ch in await client.streaming_channels(sandbox.clan_id)] == [
            ch.channel_id for ch in channels if ch.is_streaming]
        detail = await client.channel(sandbox.stream_channel_id)
        assert (detail.label, detail.clan_name) == (stream.label, stream.clan_name)
        with pytest.raises(NotFoundError):
            await client.channel("12345")
        url = await client.register_streaming_channel(sandbox.clan_id, sandbox.stream_channel_id)
        assert isinstance(url, str) and url
        joined = await control(sandbox, "add_viewer", name="Rpc Tester")
        try:
            users = await client.streaming_channel_users(sandbox.clan_id)
            row = next(u for u in users if u.user_id == joined["user_id"])
            assert (row.channel_id, row.participant) == (sandbox.stream_channel_id, "Rpc Tester")
            only = await client.streaming_channel_users(sandbox.clan_id, sandbox.stream_channel_id)
            assert joined["user_id"] in [u.user_id for u in only]
        finally:
            await control(sandbox, "remove_viewer", user_id=joined["user_id"])
    with pytest.raises(ClientClosedError):
        await client.clans()


async def test_events_reach_streams_callbacks_and_the_participant_log(sandbox, caplog):
    async with logged_in(sandbox) as client:
        stream = client.events()
        seen_sync, seen_async = [], []

        async def async_callback(event):
            seen_async.append(event)

        def broken_callback(event):
            raise RuntimeError("a bug in user code")

        client.on("streaming_joined", seen_sync.append)
        client.on("streaming_leaved_event", async_callback)
        broken = client.on("streaming_joined", broken_callback)
        added = await control(sandbox, "add_viewer", name="Event Tester")
        await control(sandbox, "remove_viewer", user_id=added["user_id"])
        events = []

        async def until_left() -> None:
            async for event in stream:
                events.append(event)
                if isinstance(event, StreamingLeaved):
                    break

        await asyncio.wait_for(until_left(), 10)   # (asyncio.timeout needs Python 3.11)
        joined, left = events[-2], events[-1]
        assert isinstance(joined, StreamingJoined)
        assert (joined.user_id, joined.participant) == (added["user_id"], "Event Tester")
        assert joined.id == added["event_id"] and joined.streaming_channel_id == added["channel_id"]
        assert left.streaming_user_id == added["user_id"]
        await wait_until(lambda: seen_async, what="the async callback")
        assert seen_sync[-1] == joined and seen_async[-1] == left
        assert any("callback" in r.getMessage() and r.levelno == logging.ERROR
                   for r in caplog.records)
        broken.cancel()
        assert client.state == "connected" and await client.ping() < 5
        rows = client.participants.events
        mine = rows[rows["user_id"] == added["user_id"]]
        assert list(mine["kind"]) == ["joined", "left"]
        assert set(mine["channel_label"]) == {"main-stage"}
        stream.close()


async def test_hundred_concurrent_pings_correlate(sandbox):
    async with logged_in(sandbox) as client:
        rtts = await asyncio.gather(*(client.ping() for _ in range(100)))
        assert len(rtts) == 100 and min(rtts) >= 0   # each answered (by its cid), in any order


async def test_heartbeat_pings_while_idle(sandbox, caplog):
    caplog.set_level(logging.DEBUG, logger="mezon_nb.client.realtime")
    async with logged_in(sandbox, ping_interval=0.05) as client:
        sock, answered = client._socket, []
        request = sock.request

        async def counted(envelope, timeout=None):   # the real request, counting pongs
            reply = await request(envelope, timeout=timeout)
            if envelope.WhichOneof("message") == "ping":
                answered.append(reply.cid)
            return reply

        sock.request = counted
        # progress, not a sleep: five heartbeats answered, however long they take
        await wait_until(lambda: len(answered) >= 5, timeout=30, what="five pongs")
        assert client.state == "connected" and sock.connections == 1
        assert not [r for r in caplog.records if "no pong" in r.getMessage()]


async def test_reconnects_rejoins_clans_and_reconciles_after_a_drop(sandbox):
    async with logged_in(sandbox) as client:
        missed = {}
        clans = client.clans

        async def clans_while_blind():
            """The re-sync's first step: a viewer joins now, before the clans are joined again,
            so no live event can tell; only the snapshot can."""
            if not missed:
                missed.update(await control(sandbox, "add_viewer", name="Missed While Away"))
            return await clans()

        client.clans = clans_while_blind
        dropped = await control(sandbox, "drop_sockets")
        assert dropped["dropped"] >= 1
        await wait_until(lambda: client._socket.connections == 2 and client.state == "connected",
                         what="the reconnect")
        rows = client.participants.events
        mine = rows[rows["user_id"] == missed["user_id"]]
        assert list(zip(mine["kind"], mine["source"])) == [("joined", "reconciled")]
        stream = client.events()
        live = await control(sandbox, "add_viewer", name="After Rejoin")
        event = await asyncio.wait_for(anext(aiter(stream)), 10)  # clans were joined again
        assert event.user_id == live["user_id"]
        for added in (missed, live):
            await control(sandbox, "remove_viewer", user_id=added["user_id"])


async def test_logs_in_again_before_expiry_and_after_a_401(caplog):
    caplog.set_level(logging.INFO, logger="httpx")
    with Sandbox.start(seed=1, crowd=False, session_ttl=2.0) as short:
        async with logged_in(short) as client:
            first = await client.session()
            await wait_until(lambda: client._keeper.current is not first, timeout=5,
                             what="the proactive re-login")
            assert client.state == "connected"
            assert await client.clans()
        async with logged_in(short, realtime=False) as client:  # only an RPC can re-login now
            # Let the server expire a session the client still trusts: one 401, one retry.
            client._keeper.close()
            trusted = client._keeper.current
            client._keeper._refresh_at = None
            await asyncio.sleep((trusted.expires_at - datetime.now(timezone.utc))
                                .total_seconds() + 0.5)
            assert await client.clans()
            assert client._keeper.current is not trusted
            assert "ListClanDescs \"HTTP/1.1 401" in caplog.text


async def test_unknown_event_name_is_a_clear_error(sandbox):
    async with logged_in(sandbox, realtime=False) as client:
        with pytest.raises(ValueError, match="streaming_joined, streaming_leaved"):
            client.on("joined", print)


async def test_a_reconnect_snapshot_cut_at_the_row_limit_records_no_false_leaves(sandbox,
                                                                                 caplog):
    """More viewers than one ListStreamingChannelUsers page (100 rows): after a reconnect the
    snapshot is cut, and the viewers it leaves out must not be recorded as gone."""
    async with logged_in(sandbox, reconnect_delay=(0.5, 1.0)) as client:
        added = [(await control(sandbox, "add_viewer", name=f"Viewer {i}"))["user_id"]
                 for i in range(110)]
        await wait_until(lambda: set(added) <= set(client.participants.events["user_id"]),
                         what="the joins to arrive")
        await control(sandbox, "drop_sockets")
        await wait_until(lambda: client._socket.connections == 2 and client.state == "connected",
                         what="the reconnect")
        await wait_until(lambda: any("row limit" in r.getMessage() for r in caplog.records),
                         what="the reconcile to say its snapshot was cut")
        rows = client.participants.events
        mine = rows[rows["user_id"].isin(added)]
        assert set(mine["kind"]) == {"joined"}, mine[mine["kind"] != "joined"]
        for user_id in added:
            await control(sandbox, "remove_viewer", user_id=user_id)
