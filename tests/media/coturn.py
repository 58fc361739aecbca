"""A real TURN server for the tests: Debian's coturn (``turnserver``) on 127.0.0.1 free ports.

``scripts/install_test_services.sh`` (run by ``make test``) installs it. Long-term credentials
(``lt-cred-mech``, one user, one realm), loopback peers allowed (the sandbox's stream server
is on 127.0.0.1), no TLS, no CLI; UDP and TCP on the same port; relay ports in a small range.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

TURNSERVER = shutil.which("turnserver") or "/usr/sbin/turnserver"
REALM = "mezon_nb.test"
START_TIMEOUT = 15.0


def _free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free TCP+UDP port on 127.0.0.1")


class Coturn:
    """One turnserver process; :meth:`stop` ends it. ``allocations()`` counts relay
    allocations in its log (each candidate gathered through it makes one)."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        relay_low = 20000 + secrets.randbelow(35000)
        self.username, self.credential = "mezon-test", secrets.token_urlsafe(12)
        self.log_path = folder / "turnserver.log"
        self._process = subprocess.Popen([
            TURNSERVER, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            f"--listening-port={self.port}", f"--min-port={relay_low}",
            f"--max-port={relay_low + 400}", "--lt-cred-mech", f"--realm={REALM}",
            f"--user={self.username}:{self.credential}", "--allow-loopback-peers", "--no-cli",
            "--no-tls", "--no-dtls", "--no-multicast-peers", "--fingerprint",
            f"--pidfile={folder / 'turnserver.pid'}", f"--log-file={self.log_path}",
            "--simple-log", "--no-stdout-log", "--verbose",
        ], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"turnserver exited ({self._process.returncode}): "
                                   f"{self._process.stderr.read().decode()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"turnserver did not listen on {self.port} within {START_TIMEOUT} s")

    def url(self, transport: str = "udp") -> str:
        return f"turn:127.0.0.1:{self.port}?transport={transport}"

    def server(self, transport: str = "udp", credential: str | None = None) -> dict:
        return {"urls": self.url(transport), "username": self.username,
                "credential": self.credential if credential is None else credential}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        if self._process.stderr is not None:
            self._process.stderr.close()
