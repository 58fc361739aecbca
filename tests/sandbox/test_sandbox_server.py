"""The sandbox's listening socket: accepted connections get ``TCP_NODELAY``.

Without it every reply uvicorn writes in two parts (head, body) waits ~40 ms on Nagle and the
peer's delayed ACK (the figure is in benchmarks/realtime.py; this checks the option itself).
"""

from __future__ import annotations

import asyncio
import socket

import httpx

from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.server import SandboxServer


def _accepted_nodelay(server: SandboxServer) -> list[int]:
    """TCP_NODELAY of every connection the server has accepted and still holds."""
    return [protocol.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP,
                                                                    socket.TCP_NODELAY)
            for protocol in server._server.server_state.connections]


def test_accepted_http_connections_have_tcp_nodelay() -> None:
    async def scenario() -> list[int]:
        server = SandboxServer(SandboxConfig(crowd=False, stream=False))
        ready = asyncio.Event()
        serving = asyncio.create_task(server.serve(lambda credentials: ready.set()))
        try:
            await asyncio.wait_for(ready.wait(), 30)
            async with httpx.AsyncClient() as http:  # keeps the connection open
                reply = await http.get(f"{server.credentials.api_url}/healthz")
                assert reply.text == "ok"
                return _accepted_nodelay(server)
        finally:
            server.request_exit()
            await asyncio.wait_for(serving, 30)

    flags = asyncio.run(scenario())
    assert flags and all(flags), flags
