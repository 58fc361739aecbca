"""The sandbox child process: ``python -m mezon_nb.sandbox.child``, driven by :class:`Sandbox`.

Protocol over its pipes: the parent writes one JSON line of :class:`SandboxConfig` options to
stdin; the child answers one JSON line of :class:`Credentials` on stdout once it serves, then
writes nothing more there. The child exits when stdin reaches end-of-file (the parent closed
it, or died), on SIGTERM or on SIGINT; if a graceful shutdown hangs it exits hard after
:data:`HARD_EXIT_AFTER` seconds.

>>> HARD_EXIT_AFTER
5.0
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from typing import BinaryIO

from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.server import Credentials, SandboxServer

HARD_EXIT_AFTER = 5.0


def _watch_parent(stdin: BinaryIO, server: SandboxServer) -> threading.Thread:
    """Start a daemon thread that stops ``server`` when ``stdin`` closes (parent gone)."""

    def watch() -> None:
        while stdin.read(4096):
            pass
        server.request_exit()
        time.sleep(HARD_EXIT_AFTER)
        os._exit(0)

    thread = threading.Thread(target=watch, name="sandbox-parent-watch", daemon=True)
    thread.start()
    return thread


def main() -> None:
    """Read the options, serve, report readiness; see the module docstring.

    >>> callable(main)
    True
    """
    stdin = sys.stdin.buffer
    options = json.loads(stdin.readline() or b"{}")
    server = SandboxServer(SandboxConfig.from_dict(options))
    report = sys.stdout

    def on_ready(credentials: Credentials) -> None:
        report.write(json.dumps(credentials.to_dict()) + "\n")
        report.flush()
        sys.stdout = sys.stderr  # nothing else may reach the parent's pipe

    _watch_parent(stdin, server)
    asyncio.run(server.serve(on_ready))


if __name__ == "__main__":
    main()
