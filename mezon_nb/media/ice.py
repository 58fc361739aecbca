"""ICE host candidates on 127.0.0.1 only, for WebRTC peers on this machine.

aioice (1.x, under aiortc) offers every interface address of the host *except* loopback, so a
viewer of the sandbox would send its media through the machine's LAN address, and a host with
loopback only (a container with ``--network none``, some CI runners) could not connect at all.
Inside ``with host_candidates(loopback=True):`` the peer connections that gather candidates
(``setLocalDescription``) offer 127.0.0.1 alone. The viewer and the publisher do that when the
stream server's URL is a loopback address; the sandbox's stream server always does (it binds
127.0.0.1). Importing this module wraps ``aioice.ice.get_host_addresses``, which aioice looks up
at each gathering; outside the block it answers exactly as before.

>>> is_loopback("ws://127.0.0.1:8765/stn"), is_loopback("wss://stn.mezon.ai")
(True, False)
>>> with host_candidates(loopback=True):
...     aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True)
['127.0.0.1']
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
from collections.abc import Iterator
from urllib.parse import urlsplit

import aioice.ice

_LOOPBACK = contextvars.ContextVar("mezon_nb_loopback_ice", default=False)
_all_host_addresses = aioice.ice.get_host_addresses


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if _LOOPBACK.get():
        return ["127.0.0.1"] if use_ipv4 else []
    return _all_host_addresses(use_ipv4, use_ipv6)


aioice.ice.get_host_addresses = _host_addresses


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine's loopback (127.0.0.0/8, ::1 or localhost).

    >>> is_loopback("http://localhost:8000"), is_loopback("http://[::1]:80"), is_loopback("x")
    (True, True, False)
    """
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def host_candidates(*, loopback: bool) -> Iterator[None]:
    """Within the block (and tasks started in it), ICE gathering offers 127.0.0.1 alone if
    ``loopback``, else every address as aioice chooses.

    >>> with host_candidates(loopback=False):
    ...     "127.0.0.1" in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    False
    """
    token = _LOOPBACK.set(loopback)
    try:
        yield
    finally:
        _LOOPBACK.reset(token)


__all__ = ["host_candidates", "is_loopback"]
