"""Run the sandbox app with uvicorn on 127.0.0.1 in the current process.

The listening socket is bound before the app starts, so port 0 works and the credentials
(:class:`Credentials`) are known before the first request.

>>> server = SandboxServer(SandboxConfig(seed=0, crowd=False, stream=False))
>>> server.credentials.api_url == f"http://127.0.0.1:{server.port}"
True
>>> server.close()
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import socket
from collections.abc import Callable
from typing import Any

import uvicorn

from mezon_nb.sandbox.app import build_app
from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.tls import ThrowawayTLS
from mezon_nb.sandbox.world import World

HOST = "127.0.0.1"


@dataclasses.dataclass(frozen=True, repr=False)
class Credentials:
    """Where the sandbox listens and how to log in; ids are exact decimal strings.

    The repr hides ``bot_token`` and ``admin_key``.

    ``ca_path`` is the PEM file of the throwaway CA to trust when the sandbox serves TLS
    (``""`` without TLS).

    >>> Credentials(7350, "http://127.0.0.1:7350", "ws://127.0.0.1:7350",
    ...             "ws://127.0.0.1:7350/stn", "1", "secret", "2", "3", "key")
    Credentials(api_url='http://127.0.0.1:7350', bot_id='1')
    """

    port: int
    api_url: str
    ws_url: str
    stream_url: str
    bot_id: str
    bot_token: str
    clan_id: str
    stream_channel_id: str
    admin_key: str
    ca_path: str = ""

    def __repr__(self) -> str:
        return f"Credentials(api_url={self.api_url!r}, bot_id={self.bot_id!r})"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the parent process (sent over a pipe, never logged).

        >>> sorted(Credentials(1, "a", "w", "s", "b", "t", "c", "d", "k").to_dict())[:3]
        ['admin_key', 'api_url', 'bot_id']
        """
        return dataclasses.asdict(self)


def bind_loopback(port: int) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:``port`` (0 = any free port), ready for uvicorn.

    Made with protocol ``IPPROTO_TCP``, not 0: asyncio sets ``TCP_NODELAY`` only on accepted
    sockets whose protocol says TCP, and without it a reply sent in two writes (uvicorn's head
    and body) waits ~40 ms on Nagle and the peer's delayed ACK.

    >>> sock = bind_loopback(0); sock.getsockname()[0], sock.proto == socket.IPPROTO_TCP
    ('127.0.0.1', True)
    >>> sock.close()
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    return sock


class SandboxServer:
    """One sandbox: its world, app, bound socket and uvicorn server.

    :meth:`serve` runs until :meth:`request_exit` (thread-safe), SIGINT or SIGTERM. With
    ``config.tls`` it serves https and wss (a throwaway CA, :mod:`.tls`) on the same port.

    >>> server = SandboxServer(SandboxConfig(crowd=False, stream=False, tls=True))
    >>> server.credentials.stream_url.startswith("wss://127.0.0.1:")
    True
    >>> server.close()
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.world = World(config)
        self._socket = bind_loopback(config.port)
        self.port: int = self._socket.getsockname()[1]
        admin_key = secrets.token_urlsafe(18)
        directory = self.world.directory
        self.tls = ThrowawayTLS() if config.tls else None
        secure = "s" if self.tls else ""
        self.credentials = Credentials(
            port=self.port,
            api_url=f"http{secure}://{HOST}:{self.port}",
            ws_url=f"ws{secure}://{HOST}:{self.port}",
            stream_url=f"ws{secure}://{HOST}:{self.port}/stn",
            bot_id=str(directory.bot.user_id),
            bot_token=directory.bot_token,
            clan_id=str(directory.clans[0].clan_id),
            stream_channel_id=str(directory.stream_channel_id),
            admin_key=admin_key,
            ca_path=self.tls.ca_path if self.tls else "",
        )
        tls_files = ({"ssl_certfile": self.tls.cert_path, "ssl_keyfile": self.tls.key_path}
                     if self.tls else {})
        app = build_app(self.world, config, admin_key)
        self._server = uvicorn.Server(uvicorn.Config(
            # No access log: socket URLs carry the session token in their query string.
            app, log_level="warning", access_log=False, lifespan="on",
            timeout_graceful_shutdown=2, **tls_files,
        ))

    async def serve(self, on_ready: Callable[[Credentials], None]) -> None:
        """Serve until asked to exit; ``on_ready`` runs once the socket accepts connections.

        >>> async def demo():
        ...     server = SandboxServer(SandboxConfig(crowd=False, stream=False))
        ...     await server.serve(lambda credentials: server.request_exit())
        >>> asyncio.run(demo())
        """
        task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started and not task.done():
            await asyncio.sleep(0.01)
        if self._server.started:
            on_ready(self.credentials)
        await task
        self.close()

    def request_exit(self) -> None:
        """Ask :meth:`serve` to shut down (safe from any thread).

        >>> server = SandboxServer(SandboxConfig(crowd=False, stream=False))
        >>> server.request_exit(); server.close()
        """
        self._server.should_exit = True

    def close(self) -> None:
        """Release the listening socket and delete the TLS files (:meth:`serve` does this when
        it ends).

        >>> SandboxServer(SandboxConfig(crowd=False, stream=False)).close()
        """
        self._socket.close()
        if self.tls is not None:
            self.tls.close()
