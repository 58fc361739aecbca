"""``Sandbox``: the loopback Mezon server in a child process, for notebooks and tests.

The child (:mod:`.child`) binds 127.0.0.1 only, reports its credentials over a pipe, and
exits when :meth:`Sandbox.stop` asks, when the ``with`` block ends, or when this process dies
(its stdin pipe closes). The examples start small sandboxes (no crowd, no stream server), which
take about half a second each.

>>> START_TIMEOUT, STOP_TIMEOUT
(30.0, 5.0)
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import weakref
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.control import ADMIN_HEADER

if TYPE_CHECKING:
    from typing_extensions import Self

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


def _terminate(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """Close the child's stdin, SIGTERM it, SIGKILL it if still there after ``timeout`` s."""
    if process.stdin is not None:
        try:
            process.stdin.close()
        except OSError:
            pass
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def _read_line(stream: IO[bytes], timeout: float) -> bytes | None:
    """One line, ``b""`` at end-of-file, ``None`` when nothing came within ``timeout``."""
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return None


class Sandbox:
    """A running loopback Mezon server (login, RPCs, realtime socket, stream server, crowd).

    Start one with :meth:`start`; use it as a context manager or call :meth:`stop`. Ids are
    exact decimal strings. The bot token is available as ``bot_token`` but never shown in the
    repr.

    Attributes: ``api_url`` (``http://127.0.0.1:PORT``), ``ws_url`` (``ws://127.0.0.1:PORT``),
    ``stream_url`` (``ws://127.0.0.1:PORT/stn``, the stream server's signalling base),
    ``bot_id``, ``bot_token``, ``clan_id`` (the first clan), ``stream_channel_id`` (its main
    streaming channel), ``admin_key`` (for ``/sandbox/*``), ``port``, ``pid``, ``config``.

    >>> with Sandbox.start(seed=1, crowd=False, stream=False) as sandbox:
    ...     state = sandbox.control("state")
    ...     print(sandbox.running, len(state["clans"]), sandbox.bot_token in repr(sandbox))
    True 2 False
    >>> sandbox.running
    False
    """

    def __init__(self, process: subprocess.Popen[bytes], credentials: dict[str, Any],
                 config: SandboxConfig) -> None:
        self._process = process
        self.config = config
        self.port: int = credentials["port"]
        self.api_url: str = credentials["api_url"]
        self.ws_url: str = credentials["ws_url"]
        self.stream_url: str = credentials["stream_url"]
        self.bot_id: str = credentials["bot_id"]
        self.bot_token: str = credentials["bot_token"]
        self.clan_id: str = credentials["clan_id"]
        self.stream_channel_id: str = credentials["stream_channel_id"]
        self.admin_key: str = credentials["admin_key"]
        self._finalizer = weakref.finalize(self, _terminate, process)

    @classmethod
    def start(
        cls,
        port: int = 0,
        seed: int = 0,
        crowd: bool = True,
        *,
        timeout: float = START_TIMEOUT,
        **options: Any,
    ) -> Sandbox:
        """Start a sandbox in a child process on 127.0.0.1 and return once it serves.

        ``options`` are the other :class:`~mezon_nb.sandbox.config.SandboxConfig` fields:
        ``crowd_rate`` (joins/min per streaming channel), ``time_scale``, ``session_ttl`` (s),
        ``crowd_chat``, ``stream``, ``stream_size``, ``stream_fps``, ``stream_codec`` (``"vp8"``
        or ``"h264"``). Raises ``TypeError`` for an unknown option, ``ValueError`` for a bad
        value and ``RuntimeError`` if the child does not come up within ``timeout``.

        >>> Sandbox.start(colour="red")
        Traceback (most recent call last):
        ...
        TypeError: unknown sandbox option(s): colour
        """
        config = SandboxConfig.from_dict(dict(options, port=port, seed=seed, crowd=crowd))
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [sys.executable, "-m", "mezon_nb.sandbox.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(config.to_dict()).encode() + b"\n")
            process.stdin.flush()
        except OSError:
            pass  # the child already died; reported below
        line = _read_line(process.stdout, timeout)
        process.stdout.close()
        if not line:
            _terminate(process)
            reason = (f"did not start within {timeout:g} s" if line is None
                      else f"exited with code {process.returncode}")
            raise RuntimeError(f"the sandbox child process {reason}; its stderr says why")
        return cls(process, json.loads(line), config)

    @property
    def pid(self) -> int:
        """The child process id.

        >>> with Sandbox.start(crowd=False, stream=False) as sandbox:
        ...     os.kill(sandbox.pid, 0)              # signal 0: raises if there is no such process
        """
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the child process is still alive.

        >>> sandbox = Sandbox.start(crowd=False, stream=False)
        >>> sandbox.running
        True
        >>> sandbox.stop(); sandbox.running
        False
        """
        return self._process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the child: SIGTERM, then SIGKILL after ``timeout`` s. Safe to call twice.

        >>> sandbox = Sandbox.start(crowd=False, stream=False)
        >>> sandbox.stop()
        >>> sandbox.stop()                                         # already stopped: no-op
        >>> sandbox
        <Sandbox http://127.0.0.1:... bot_id=... stopped>
        """
        _terminate(self._process, timeout)
        self._finalizer.detach()

    def control(self, action: str, **params: Any) -> Any:
        """Call a control endpoint ``/sandbox/<action>`` (see :mod:`mezon_nb.sandbox.control`).

        Returns the decoded JSON reply; raises ``RuntimeError`` with the server's message on an
        error status.

        >>> with Sandbox.start(crowd=False, stream=False) as sandbox:
        ...     events = sandbox.control("burst", count=100)["events"]
        ...     print(len(events), events[0]["kind"], sandbox.control("drop_sockets"))
        ...     try:
        ...         sandbox.control("dance")
        ...     except RuntimeError as error:
        ...         print(error)
        100 joined {'dropped': 0}
        sandbox control 'dance' failed (404): unknown sandbox action 'dance'
        """
        request = urllib.request.Request(
            f"{self.api_url}/sandbox/{action}",
            data=json.dumps(params).encode(),
            headers={ADMIN_HEADER: self.admin_key, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("message", exc.reason)
            message = f"sandbox control {action!r} failed ({exc.code}): {detail}"
            raise RuntimeError(message) from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Sandbox {self.api_url} bot_id={self.bot_id} {state}>"
