"""The HTTP layer and the one exception boundary, without a sandbox.

Covers: every httpx and websockets exception class maps to a mezon_nb error, HTTP statuses map
to the tree, a JSON ``Session`` is accepted, garbage replies are a ``ProtocolError``, and an
unreachable server is a ``TransportError``. Not covered: real replies (test_client_sandbox.py).
"""

from __future__ import annotations

import inspect

import httpx
import pytest
import websockets.exceptions as ws_exc

from mezon_nb import AsyncClient
from mezon_nb.client.http import _parse
from mezon_nb.client.transport_errors import error_for_status, map_transport_errors
from mezon_nb.errors import (
    AuthenticationError,
    MezonError,
    MezonTimeoutError,
    NotFoundError,
    ProtocolError,
    ServerError,
    TransportError,
)
from mezon_nb.protocol import api_pb2

pytestmark = pytest.mark.anyio


def _instances(module, base):
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if issubclass(cls, base) and cls.__module__.startswith(module.__name__.split(".")[0]):
            try:
                yield cls("boom")
            except TypeError:
                yield cls.__new__(cls)


@pytest.mark.parametrize("exc", list(_instances(httpx, httpx.HTTPError)),
                         ids=lambda e: type(e).__name__)
def test_every_httpx_exception_is_mapped(exc):
    with pytest.raises(MezonError) as info, map_transport_errors("op"):
        raise exc
    if isinstance(exc, httpx.TimeoutException):
        assert isinstance(info.value, MezonTimeoutError)
    assert str(info.value).startswith("op: ")


WS_EXCEPTIONS = [c for c in vars(ws_exc).values()  # vars(): skips the deprecated lazy aliases
                 if inspect.isclass(c) and issubclass(c, ws_exc.WebSocketException)]


@pytest.mark.parametrize("cls", WS_EXCEPTIONS,
                         ids=lambda c: c.__name__)
def test_every_websockets_exception_is_mapped(cls):
    exc = cls.__new__(cls)  # the message never matters: we never show the library's text
    if cls is ws_exc.InvalidStatus or issubclass(cls, ws_exc.InvalidStatus):
        exc.response = type("R", (), {"status_code": 403})()
    if issubclass(cls, ws_exc.ConnectionClosed):
        exc.rcvd = None
    with pytest.raises(MezonError), map_transport_errors("realtime socket"):
        raise exc


@pytest.mark.parametrize(("status", "kind"), [(401, AuthenticationError),
                                              (403, AuthenticationError),
                                              (404, NotFoundError), (500, ServerError),
                                              (429, ServerError)])
def test_statuses_map_to_the_tree(status, kind):
    error = error_for_status(status, "ListClanDescs")
    assert type(error) is kind
    if kind is ServerError:
        assert error.code == status


def test_a_json_session_is_accepted():
    response = httpx.Response(200, json={"token": "a.b.c", "user_id": "1840666462012837889",
                                         "api_url": "http://127.0.0.1:1", "extra": 1})
    session = _parse(response, api_pb2.Session, "bot login")
    assert (session.user_id, session.api_url) == (1840666462012837889, "http://127.0.0.1:1")


def test_a_garbage_reply_is_a_protocol_error():
    response = httpx.Response(200, content=b"\xff\xff\xff",
                              headers={"content-type": "application/x-protobuf"})
    with pytest.raises(ProtocolError, match="not a Session"):
        _parse(response, api_pb2.Session, "bot login")


async def test_an_unreachable_server_is_a_transport_error():
    client = AsyncClient("1", "secret-token", base_url="http://127.0.0.1:9")
    try:
        with pytest.raises(TransportError, match="bot login: cannot reach the server"):
            await client.login()
    finally:
        await client.close()
