"""The sandbox's Starlette app: login, RPCs, realtime socket, controls, stream server, crowd.

=================================  ===========================================
path                               module
=================================  ===========================================
``POST /v2/apps/authenticate/token``  :mod:`.login`
``POST /mezon.api.Mezon/{rpc}``    :mod:`.rpc`
``GET /ws`` (WebSocket)            :mod:`.realtime`
``/sandbox/{action}``              :mod:`.control` (``X-Sandbox-Key``)
``/stn/...``                       :mod:`.stn` (the stream server)
``GET /healthz``                   ``ok``
=================================  ===========================================

>>> from mezon_nb.sandbox.config import SandboxConfig
>>> app = build_app(World(SandboxConfig()), SandboxConfig())
>>> sorted(route.path for route in app.routes)[:2]
['/healthz', '/mezon.api.Mezon/{rpc}']
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.control import Controls, control_routes
from mezon_nb.sandbox.crowd import Crowd
from mezon_nb.sandbox.login import login_routes
from mezon_nb.sandbox.realtime import TransportCapture, realtime_routes
from mezon_nb.sandbox.rpc import rpc_routes
from mezon_nb.sandbox.stn import StreamServer
from mezon_nb.sandbox.world import World


async def _healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def build_app(world: World, config: SandboxConfig, admin_key: str | None = None) -> Starlette:
    """The whole sandbox as one ASGI app; the crowd and stream server run in its lifespan.

    ``admin_key`` guards ``/sandbox/*`` (a random one when omitted, in ``app.state.admin_key``).

    >>> from mezon_nb.sandbox.config import SandboxConfig
    >>> build_app(World(SandboxConfig()), SandboxConfig(crowd=False)).state.crowd is None
    True
    """
    crowd = (
        Crowd(world, config.crowd_rate, config.time_scale, chat=config.crowd_chat)
        if config.crowd else None
    )
    stream_server = StreamServer(world)
    admin_key = admin_key or secrets.token_urlsafe(18)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await stream_server.start()
        if crowd is not None:
            await crowd.start()
        try:
            yield
        finally:
            if crowd is not None:
                await crowd.stop()
            world.hub.abort_all()
            await stream_server.stop()

    app = Starlette(
        routes=[
            *login_routes(world),
            *rpc_routes(world),
            *realtime_routes(world),
            *control_routes(Controls(world, crowd, stream_server), admin_key),
            Route("/healthz", _healthz),
            Mount("/stn", routes=stream_server.routes),
        ],
        middleware=[Middleware(TransportCapture)],
        lifespan=lifespan,
    )
    app.state.world = world
    app.state.crowd = crowd
    app.state.admin_key = admin_key
    return app
