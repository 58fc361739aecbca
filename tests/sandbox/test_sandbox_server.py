"""The sandbox server in this process, to look at what the child hides: sockets and logs.

Covers: accepted connections get ``TCP_NODELAY`` (without it every reply uvicorn writes in two
parts waits ~40 ms on Nagle and the peer's delayed ACK; the figure is in
benchmarks/realtime.py), and ``drop_sockets`` during a burst leaves no asyncio
``socket.send() raised exception.`` lines (the writer stops at the cut).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

import httpx
from websockets.asyncio.client import connect

from mezon_nb.protocol import api_pb2, codec, realtime_pb2
from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.server import Credentials, SandboxServer


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[tuple[SandboxServer, Credentials, httpx.AsyncClient]]:
    """A small sandbox on this loop, and an HTTP client holding the admin key."""
    server = SandboxServer(SandboxConfig(crowd=False, stream=False))
    ready = asyncio.Event()
    task = asyncio.create_task(server.serve(lambda credentials: ready.set()))
    try:
        await asyncio.wait_for(ready.wait(), 30)
        credentials = server.credentials
        async with httpx.AsyncClient(base_url=credentials.api_url, timeout=30,
                                     headers={"X-Sandbox-Key": credentials.admin_key}) as http:
            yield server, credentials, http
    finally:
        server.request_exit()
        await asyncio.wait_for(task, 30)


def test_accepted_http_connections_have_tcp_nodelay() -> None:
    async def scenario() -> list[int]:
        async with serving() as (server, _, http):
            assert (await http.get("/healthz")).text == "ok"  # the connection stays open
            return [protocol.transport.get_extra_info("socket").getsockopt(
                        socket.IPPROTO_TCP, socket.TCP_NODELAY)
                    for protocol in server._server.server_state.connections]

    flags = asyncio.run(scenario())
    assert flags and all(flags), flags


def test_drop_sockets_during_a_burst_logs_no_send_errors(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="asyncio")

    async def scenario() -> None:
        async with serving() as (server, credentials, http):
            login = await http.post("/v2/apps/authenticate/token", json={"account": {
                "appid": credentials.bot_id, "token": credentials.bot_token}})
            token = api_pb2.Session.FromString(login.content).token
            async with connect(f"{credentials.ws_url}/ws?token={token}", close_timeout=1) as ws:
                await ws.send(codec.encode_envelope(realtime_pb2.Envelope(
                    cid=1, clan_join=realtime_pb2.ClanJoin(clan_id=int(credentials.clan_id)))))
                await ws.recv(decode=False)  # joined: the burst reaches this socket

                async def drop_soon() -> httpx.Response:
                    await asyncio.sleep(0.05)  # inside the burst, which yields every 500 events
                    return await http.post("/sandbox/drop_sockets", json={})

                burst, dropped = await asyncio.gather(
                    http.post("/sandbox/burst", json={"count": 50_000}), drop_soon())
                assert burst.status_code == 200 and dropped.json() == {"dropped": 1}
            await http.post("/sandbox/burst", json={"count": 1_000})  # nobody left to send to
            for _ in range(100):  # let a writer that went on sending show itself
                await asyncio.sleep(0.01)
            assert server.world.hub.connection_count == 0

    asyncio.run(scenario())
    noise = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert noise == []
