"""Fixtures: one real sandbox child process for the session, raw HTTP and WebSocket clients.

The clients here are deliberately raw (httpx, ``websockets.sync``) so these tests check the
wire protocol itself, not ``mezon_nb.client``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.protobuf.message import Message
from websockets.sync.client import ClientConnection, connect

from mezon_nb.protocol import api_pb2, realtime_pb2
from mezon_nb.sandbox import Sandbox

LOGIN = "/v2/apps/authenticate/token"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """A lively sandbox (crowd on, no video publisher) shared by the whole session."""
    with Sandbox.start(seed=0, stream=False, crowd_rate=120.0) as running:
        yield running


@pytest.fixture(scope="session")
def session(sandbox: Sandbox) -> api_pb2.Session:
    """One bot login, shared."""
    return _login(sandbox)


@pytest.fixture(scope="session")
def login() -> Any:
    """``login(sandbox)``: a fresh bot session."""
    return _login


@pytest.fixture(scope="session")
def rpc() -> Any:
    """``rpc(sandbox, token, name, request)``: one raw protobuf RPC."""
    return _rpc


def _login(sandbox: Sandbox, **headers: str) -> api_pb2.Session:
    """Log the bot in the way the Gen B SDKs do (JSON body, protobuf content type)."""
    reply = httpx.post(
        sandbox.api_url + LOGIN,
        json={"account": {"appid": sandbox.bot_id, "token": sandbox.bot_token}},
        headers={"Content-Type": "application/proto", "Accept": "application/x-protobuf",
                 **headers},
    )
    assert reply.status_code == 200, reply.text
    return api_pb2.Session.FromString(reply.content)


def _rpc(sandbox: Sandbox, token: str | None, name: str, request: Message) -> httpx.Response:
    """POST one protobuf RPC."""
    headers = {"Content-Type": "application/proto", "Accept": "application/proto"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{sandbox.api_url}/mezon.api.Mezon/{name}",
                      content=request.SerializeToString(), headers=headers)


class RawSocket:
    """A bare realtime socket: send envelopes, read replies by cid, keep events aside."""

    def __init__(self, url: str) -> None:
        self._context = connect(url, subprotocols=["protobuf"], open_timeout=5)
        self.ws: ClientConnection = self._context.__enter__()
        self.events: list[realtime_pb2.Envelope] = []
        self._cid = 0

    def send(self, data: bytes) -> None:
        self.ws.send(data)

    def read(self, timeout: float = 5.0) -> realtime_pb2.Envelope:
        return realtime_pb2.Envelope.FromString(self.ws.recv(timeout=timeout))

    def request(self, **member: Any) -> realtime_pb2.Envelope:
        """Send one request with a fresh cid; return the reply with that cid."""
        self._cid += 1
        self.send(realtime_pb2.Envelope(cid=self._cid, **member).SerializeToString())
        return self.reply(self._cid)

    def reply(self, cid: int, timeout: float = 5.0) -> realtime_pb2.Envelope:
        deadline = time.monotonic() + timeout
        while True:
            envelope = self.read(max(0.01, deadline - time.monotonic()))
            if envelope.cid == cid:
                return envelope
            assert envelope.cid == 0, f"reply to an unknown cid {envelope.cid}"
            self.events.append(envelope)

    def event(self, member: str, timeout: float = 5.0) -> realtime_pb2.Envelope:
        """The next pushed event with ``member`` set (events kept aside are searched first)."""
        for index, envelope in enumerate(self.events):
            if envelope.WhichOneof("message") == member:
                return self.events.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            envelope = self.read(max(0.01, deadline - time.monotonic()))
            assert envelope.cid == 0
            if envelope.WhichOneof("message") == member:
                return envelope
            self.events.append(envelope)

    def close(self) -> None:
        self._context.__exit__(None, None, None)


def _socket_url(session: api_pb2.Session, token: str | None = None) -> str:
    token = session.token if token is None else token
    scheme = "wss" if session.api_url.startswith("https://") else "ws"  # as the TS SDK does
    return (f"{scheme}://{session.ws_url}/ws?lang=en&status=true&token={token}"
            "&format=protobuf&extra=1")


@pytest.fixture(scope="session")
def socket_url() -> Any:
    """``socket_url(session, token=None)``: the realtime URL as the SDKs build it."""
    return _socket_url


@pytest.fixture
def open_socket(session: api_pb2.Session) -> Iterator[Any]:
    """Factory for realtime sockets, all closed at the end of the test."""
    sockets: list[RawSocket] = []

    def factory(token: str | None = None) -> RawSocket:
        sockets.append(RawSocket(_socket_url(session, token)))
        return sockets[-1]

    yield factory
    for raw in sockets:
        raw.close()
