"""The one place where httpx and websockets exceptions become mezon_nb exceptions.

Messages are ours, never the dependency's text (a websockets URI error would echo the socket URL,
which carries the session token).

>>> import httpx
>>> with map_transport_errors("ListClanDescs"):
...     raise httpx.ConnectError("refused")
Traceback (most recent call last):
...
mezon_nb.errors.TransportError: ListClanDescs: cannot reach the server (ConnectError)
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator

import httpx
import websockets.exceptions as ws_exc

from mezon_nb.client.tls import certificate_problem, tls_failure_text
from mezon_nb.errors import (
    AuthenticationError,
    ConnectionClosedError,
    MezonError,
    MezonTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TransportError,
)

_CLAN = re.compile(r"\bclan (\d+)")


def error_for_status(status: int, what: str, detail: str = "", *,
                     rpc: bool = False) -> MezonError:
    """The exception for a non-2xx HTTP status (or WebSocket handshake status).

    An RPC's 403 (``rpc=True``) is a :class:`PermissionDeniedError` (the session is fine, the
    clan is not the bot's); elsewhere 401 and 403 mean the credentials were refused.

    >>> error_for_status(404, "ListChannelDetail", "channel not found")
    NotFoundError('ListChannelDetail: HTTP 404: channel not found')
    >>> error_for_status(503, "ListClanDescs").code
    503
    >>> type(error_for_status(403, "ListChannelDescs", "not a member", rpc=True)).__name__
    'PermissionDeniedError'
    """
    text = f"{what}: HTTP {status}" + (f": {detail}" if detail else "")
    if rpc and status == 403:
        named = _CLAN.search(detail)
        return PermissionDeniedError(text, code=status, clan_id=named[1] if named else None)
    if status in (401, 403):
        return AuthenticationError(text + " (check MEZON_BOT_ID / MEZON_BOT_TOKEN)")
    if status == 404:
        return NotFoundError(text)
    return ServerError(text, code=status)


@contextlib.contextmanager
def map_transport_errors(what: str) -> Iterator[None]:
    """Translate network exceptions raised inside the block; ``what`` names the operation.

    >>> with map_transport_errors("socket"):
    ...     raise TimeoutError()
    Traceback (most recent call last):
    ...
    mezon_nb.errors.MezonTimeoutError: socket: no answer in time
    """
    try:
        yield
    except MezonError:
        raise
    except (httpx.TimeoutException, asyncio.TimeoutError, TimeoutError) as exc:
        raise MezonTimeoutError(f"{what}: no answer in time") from exc
    except ws_exc.InvalidStatus as exc:
        raise error_for_status(exc.response.status_code, what) from None
    except ws_exc.InvalidURI:
        raise TransportError(f"{what}: the realtime socket URL is invalid") from None
    except ws_exc.ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else 1006
        raise ConnectionClosedError(f"{what}: realtime socket closed (code {code})") from exc
    except (httpx.HTTPError, ws_exc.WebSocketException, OSError) as exc:
        problem = certificate_problem(exc)
        if problem is not None:  # a wrong CA fails now, clearly; retrying would not help
            raise TransportError(tls_failure_text(what, problem)) from exc
        raise TransportError(f"{what}: cannot reach the server ({type(exc).__name__})") from exc


__all__ = ["error_for_status", "map_transport_errors"]
