"""``POST /v2/apps/authenticate/token``: the bot login.

The body is JSON ``{"account": {"appid": "<bot id>", "token": "<bot token>"}}`` whatever the
``Content-Type`` says (SDKs send ``application/proto``); the Basic header is not needed. The
reply is a protobuf ``mezon.api.Session`` whose ``api_url`` (a full URL, ``http://`` or
``https://`` as the request came) and ``ws_url`` (``host:port``, no scheme: clients prepend
``ws://`` or ``wss://`` themselves) point back here; ``id_token`` and ``tcp_url`` stay empty.

>>> from mezon_nb.sandbox.config import SandboxConfig
>>> from mezon_nb.sandbox.world import World
>>> [route.path for route in login_routes(World(SandboxConfig()))]
['/v2/apps/authenticate/token']
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mezon_nb.protocol import api_pb2
from mezon_nb.protocol.jsontext import parse_json
from mezon_nb.sandbox.responses import json_error, protobuf_response
from mezon_nb.sandbox.world import World

LOGIN_PATH = "/v2/apps/authenticate/token"


def login_routes(world: World) -> list[Route]:
    """The login route, bound to ``world``.

    >>> len(login_routes(None))
    1
    """

    async def authenticate(request: Request) -> Response:
        try:
            body = parse_json(await request.body())
            account = body["account"]
            appid, token = str(account["appid"]), str(account["token"])
        except (ValueError, KeyError, TypeError):
            return json_error(400, 'expected a JSON body {"account": {"appid": ..., "token": ...}}')
        grant = world.login(appid, token)
        if grant is None:
            return json_error(401, "invalid bot id or token")
        host, port = request.scope["server"]
        session = api_pb2.Session(
            created=False,
            token=grant.token,
            refresh_token=grant.refresh_token,
            user_id=grant.user_id,
            api_url=f"{request.url.scheme}://{host}:{port}",
            ws_url=f"{host}:{port}",
            session_id=grant.session_id,
        )
        return protobuf_response(session)

    return [Route(LOGIN_PATH, authenticate, methods=["POST"])]
