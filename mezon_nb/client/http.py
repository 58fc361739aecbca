"""Mezon's HTTP side (Gen B): the bot login and protobuf RPCs over ``POST``.

* login: ``POST {base}/v2/apps/authenticate/token`` with a JSON body, Basic ``base64(token + ":")``,
  answered by a protobuf ``mezon.api.Session`` (JSON accepted too);
* RPC: ``POST {api_url}/mezon.api.Mezon/<Rpc>``, protobuf in and out, Bearer session token.

Non-2xx answers become :mod:`mezon_nb.errors` exceptions via :func:`error_for_status`.

>>> http = HttpTransport(timeout=1.0)
>>> http.rpc_url("http://127.0.0.1:7350/", "ListClanDescs")
'http://127.0.0.1:7350/mezon.api.Mezon/ListClanDescs'
"""

from __future__ import annotations

import base64
import json
import ssl
from typing import TypeVar

import httpx
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from mezon_nb.client.transport_errors import error_for_status, map_transport_errors
from mezon_nb.errors import ProtocolError
from mezon_nb.protocol import api_pb2
from mezon_nb.protocol.jsontext import parse_json

M = TypeVar("M", bound=Message)

_PROTO = "application/proto"


class HttpTransport:
    """One pooled ``httpx.AsyncClient`` for the login and every RPC.

    ``ssl_context`` is the trust for ``https`` (``None``: the default store; see
    :mod:`mezon_nb.client.tls`).

    >>> HttpTransport(timeout=3.0).timeout
    3.0
    """

    def __init__(self, *, timeout: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:  # created lazily, inside the event loop that uses it
            self._http = httpx.AsyncClient(timeout=self.timeout,
                                           verify=self.ssl_context or True)
        return self._http

    @staticmethod
    def rpc_url(api_url: str, rpc: str) -> str:
        """The URL of one RPC (example in the module docstring)."""
        return f"{api_url.rstrip('/')}/mezon.api.Mezon/{rpc}"

    async def authenticate(self, base_url: str, bot_id: str, token: str) -> api_pb2.Session:
        """Log a bot in; raise ``AuthenticationError`` on 401/403 (the token is never shown).

        >>> msg = run(HttpTransport().authenticate(sandbox.api_url, sandbox.bot_id,
        ...                                        sandbox.bot_token))
        >>> str(msg.user_id) == sandbox.bot_id
        True
        """
        basic = base64.b64encode(f"{token}:".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", "Content-Type": _PROTO,
                   "Accept": "application/x-protobuf"}
        body = json.dumps({"account": {"appid": bot_id, "token": token}}).encode()
        url = f"{base_url.rstrip('/')}/v2/apps/authenticate/token"
        with map_transport_errors("bot login"):
            response = await self._client().post(url, content=body, headers=headers)
        _raise_for_status(response, "bot login")
        return _parse(response, api_pb2.Session, "bot login")

    async def call(self, api_url: str, session_token: str, rpc: str, request: Message,
                   reply: type[M]) -> M:
        """Call one RPC and decode its reply as ``reply``.

        >>> http = HttpTransport()
        >>> msg = run(http.authenticate(sandbox.api_url, sandbox.bot_id, sandbox.bot_token))
        >>> clans = run(http.call(msg.api_url, msg.token, "ListClanDescs",
        ...                       api_pb2.ListClanDescRequest(), api_pb2.ClanDescList))
        >>> len(clans.clandesc) > 0
        True
        """
        headers = {"Authorization": f"Bearer {session_token}", "Content-Type": _PROTO,
                   "Accept": _PROTO}
        with map_transport_errors(rpc):
            response = await self._client().post(self.rpc_url(api_url, rpc),
                                                  content=request.SerializeToString(),
                                                  headers=headers)
        _raise_for_status(response, rpc, rpc=True)
        return _parse(response, reply, rpc)

    async def aclose(self) -> None:
        """Close the connection pool.

        >>> import asyncio
        >>> asyncio.run(HttpTransport().aclose())
        """
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _raise_for_status(response: httpx.Response, what: str, *, rpc: bool = False) -> None:
    if response.is_success:
        return
    detail = ""
    try:  # grpc-gateway style {"code", "message"}; the Gen B error body is unconfirmed
        detail = str(parse_json(response.content).get("message", ""))[:200]
    except (ValueError, AttributeError):
        pass
    raise error_for_status(response.status_code, what, detail, rpc=rpc)


def _parse(response: httpx.Response, reply: type[M], what: str) -> M:
    """Decode a reply: JSON when the server says so, protobuf otherwise."""
    message = reply()
    kind = response.headers.get("content-type", "")
    try:
        if "json" in kind:
            json_format.Parse(response.content, message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(response.content)
    except (DecodeError, json_format.ParseError, ValueError) as exc:  # ValueError: not UTF-8
        raise ProtocolError(f"{what}: reply is not a {reply.__name__} "
                            f"({len(response.content)} bytes)") from exc
    return message


__all__ = ["HttpTransport"]
