"""The realtime socket URL from a session: ``ws_url`` with and without a scheme (spec §3.1).

The spec says ``ws_url`` is ``host[:port]`` and the scheme follows ``api_url``; some servers
(and the sandbox before issue 15) sent ``ws://host:port``. The client dials the same socket for
both, and really connects with what the sandbox sends.
"""

from __future__ import annotations

import pytest
from client_helpers import logged_in

from mezon_nb.client.models import Session
from mezon_nb.client.realtime import socket_url


def _session(api_url: str, ws_url: str) -> Session:
    return Session(token="a.b.c", user_id="1", api_url=api_url, ws_url=ws_url, expires_at=None)


@pytest.mark.parametrize(("api_url", "ws_url", "base"), [
    ("http://127.0.0.1:7350", "127.0.0.1:7350", "ws://127.0.0.1:7350/ws?"),
    ("http://127.0.0.1:7350", "ws://127.0.0.1:7350", "ws://127.0.0.1:7350/ws?"),
    ("https://gw.mezon.ai", "sock.mezon.ai", "wss://sock.mezon.ai/ws?"),
    ("https://gw.mezon.ai", "wss://sock.mezon.ai/", "wss://sock.mezon.ai/ws?"),
    ("https://gw.mezon.ai", "https://sock.mezon.ai", "wss://sock.mezon.ai/ws?"),
    ("https://gw.mezon.ai:8443", "", "wss://gw.mezon.ai:8443/ws?"),
])
def test_both_forms_give_the_same_socket(api_url: str, ws_url: str, base: str) -> None:
    url = socket_url(_session(api_url, ws_url))
    assert url.startswith(base)
    assert url.endswith("&token=a.b.c&format=protobuf")


@pytest.mark.anyio
async def test_client_connects_with_the_sandbox_ws_url(sandbox) -> None:
    async with logged_in(sandbox) as client:
        session = await client.session()
        assert "://" not in session.ws_url
        assert socket_url(session).startswith(f"ws://127.0.0.1:{sandbox.port}/ws?")
        assert client.state == "connected"
        assert await client.ping() >= 0
