"""The sandbox child process: ``python -m mezon_nb.sandbox.child``, driven by :class:`Sandbox`.

Protocol over its pipes: the parent writes one JSON line of :class:`SandboxConfig` options to
stdin; the child answers one JSON line of :class:`Credentials` on stdout once it serves, then
writes nothing more there. The child exits when stdin reaches end-of-file (the parent closed
it, or died), when its parent process changes, on SIGTERM or on SIGINT; if a graceful
shutdown hangs it exits hard after :data:`HARD_EXIT_AFTER` seconds.

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
from mezon_nb.sandbox.stn.server import offer_loopback_only

HARD_EXIT_AFTER = 5.0
PARENT_POLL_INTERVAL = 1.0


def _watch_parent(stdin: BinaryIO, server: SandboxServer) -> None:
    """Stop ``server`` when ``stdin`` closes or this process is re-parented (parent gone).

    The pipe is the main signal; the parent-pid poll covers a pipe kept open by a forked
    sibling of the parent.
    """
    parent_pid = os.getppid()

    def leave() -> None:
        server.request_exit()
        time.sleep(HARD_EXIT_AFTER)
        os._exit(0)

    def read_until_eof() -> None:
        while stdin.read(4096):
            pass
        leave()

    def poll_parent() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_INTERVAL)
        leave()

    for watch in (read_until_eof, poll_parent):
        threading.Thread(target=watch, name=f"sandbox-{watch.__name__}", daemon=True).start()


def main() -> None:
    """Read the options, serve, report readiness; see the module docstring.

    >>> callable(main)
    True
    """
    offer_loopback_only()
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
