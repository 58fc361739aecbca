"""ICE for the viewer and the publisher: loopback host candidates, STUN/TURN, and ICE failures.

The client's :class:`~mezon_nb.core.ice_servers.IceSettings` become aiortc's
``RTCConfiguration`` (:func:`rtc_configuration`). The ``"relay"`` policy is enforced here, not
left to aiortc (whose ``iceTransportPolicy`` only exists in releases for Python 3.11+): inside
``host_candidates(..., relay_only=True)`` gathering sees no host address, so neither host nor
server-reflexive candidates exist and the TURN allocation is the only candidate; newer aiortc
is told the policy too. :func:`selected_pair` tells which candidate pair ICE chose, and
:func:`ice_failure` explains a failure.

Host candidates on 127.0.0.1 only, for WebRTC peers on this machine:

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
import dataclasses
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

from mezon_nb.core.ice_servers import IceServer, IceSettings
from mezon_nb.errors import MediaError

logger = logging.getLogger(__name__)

try:  # aiortc 1.16 (Python >= 3.11) has it; older releases have no transport policy
    from aiortc.rtcconfiguration import (  # type: ignore[attr-defined, unused-ignore]
        RTCIceTransportPolicy,
    )
except ImportError:  # pragma: no cover - exercised on Python 3.10 installs
    RTCIceTransportPolicy = None  # type: ignore[misc,assignment]

#: Which host addresses gathering sees: "all" (aioice's choice), "loopback" or "none".
_HOSTS = contextvars.ContextVar("mezon_nb_ice_hosts", default="all")
_all_host_addresses = aioice.ice.get_host_addresses


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    hosts = _HOSTS.get()
    if hosts == "none":
        return []
    if hosts == "loopback":
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
def host_candidates(*, loopback: bool, relay_only: bool = False) -> Iterator[None]:
    """Within the block (and tasks started in it), ICE gathering offers 127.0.0.1 alone if
    ``loopback``, no host address at all if ``relay_only`` (TURN candidates only), else every
    address as aioice chooses.

    >>> with host_candidates(loopback=True, relay_only=True):
    ...     aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True)
    []

    >>> with host_candidates(loopback=False):
    ...     "127.0.0.1" in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    False
    """
    token = _HOSTS.set("none" if relay_only else "loopback" if loopback else "all")
    try:
        yield
    finally:
        _HOSTS.reset(token)


# -- STUN/TURN servers, the transport policy, and what ICE did ------------------------------


def rtc_configuration(ice: IceSettings | None) -> RTCConfiguration:
    """aiortc's configuration for the client's :class:`~mezon_nb.core.ice_servers.IceSettings`.

    No settings means no STUN or TURN server at all (aiortc would otherwise ask Google's STUN).
    aiortc uses the first STUN and the first TURN URL it is given, so :func:`gather_offer`
    passes the TURN URLs one at a time (:func:`turn_choices`).

    >>> from mezon_nb.core.ice_servers import IceSettings
    >>> config = rtc_configuration(IceSettings.from_options(
    ...     [{"urls": "turn:127.0.0.1:3478", "username": "u", "credential": "c"}], "relay"))
    >>> config.iceServers[0].urls
    ['turn:127.0.0.1:3478']
    """
    if ice is None:
        return RTCConfiguration(iceServers=[])
    servers = [RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
               for s in ice.servers]
    if RTCIceTransportPolicy is None:
        return RTCConfiguration(iceServers=servers)  # relay-only: see host_candidates()
    return RTCConfiguration(iceServers=servers,  # type: ignore[call-arg, unused-ignore]
                            iceTransportPolicy=RTCIceTransportPolicy(ice.policy))


def relay_only(ice: IceSettings | None) -> bool:
    """Whether the settings ask for relay candidates only.

    >>> relay_only(None)
    False
    """
    return ice is not None and ice.policy == "relay"


@dataclasses.dataclass(frozen=True)
class CandidatePair:
    """The candidate pair ICE selected: each side's type (``host``, ``srflx``, ``relay``) and
    the local transport (``udp``/``tcp``; a relay over TCP still says ``udp`` here, the
    protocol between the TURN server and the peer).

    >>> CandidatePair("relay", "host", "udp").local_type
    'relay'
    """

    local_type: str
    remote_type: str
    protocol: str


def _ice_transport(pc: RTCPeerConnection) -> Any:
    for transceiver in pc.getTransceivers():
        dtls = transceiver.sender.transport or transceiver.receiver.transport
        if dtls is not None:
            return dtls.transport
    return None


def selected_pair(pc: RTCPeerConnection | None) -> CandidatePair | None:
    """The pair ICE nominated on ``pc``'s (bundled) transport, or ``None`` before it connects.

    aiortc does not publish the selected pair (no ``getSelectedCandidatePair``), so this reads
    the aioice connection under it.

    >>> selected_pair(None) is None
    True
    """
    transport = _ice_transport(pc) if pc is not None else None
    nominated = getattr(getattr(transport, "_connection", None), "_nominated", {})
    pair = nominated.get(1) if nominated else None
    if pair is None:
        return None
    local = pair.protocol.local_candidate
    return CandidatePair(local.type, pair.remote_candidate.type, local.transport.lower())


def _kinds(candidates: list[Any]) -> str:
    kinds = sorted({f"{c.type}/{c.protocol.lower()}" for c in candidates})
    return ", ".join(kinds) or "none"


def ice_failure(pc: RTCPeerConnection | None, ice: IceSettings | None, what: str) -> MediaError:
    """A :class:`MediaError` for ICE that did not connect: which candidate types each side
    tried, and what to do (a TURN server, over TCP when UDP is blocked). No credentials.

    >>> print(ice_failure(None, None, "viewer"))  # doctest: +ELLIPSIS
    viewer: ICE failed (local candidates: none; remote: none; policy 'all'); no TURN server ...
    """
    transport = _ice_transport(pc) if pc is not None else None
    local = transport.iceGatherer.getLocalCandidates() if transport is not None else []
    remote = transport.getRemoteCandidates() if transport is not None else []
    policy = ice.policy if ice is not None else "all"
    turn = ", ".join(ice.turn_urls) if ice is not None else ""
    if not turn:
        advice = ("no TURN server is configured: if UDP is blocked here (hubs, Binder, HPC), "
                  "pass connect(ice_servers=[{'urls': 'turn:HOST:3478?transport=tcp', "
                  "'username': ..., 'credential': ...}]) or set $MEZON_ICE_SERVERS")
    elif not any(c.type == "relay" for c in local):
        advice = (f"no relay candidate from the TURN server ({turn}): check its username and "
                  "credential, and that it is reachable (try ?transport=tcp or turns:)")
    else:
        advice = (f"relaying through the TURN server ({turn}) did not reach the stream "
                  "server: the TURN server may not be allowed to reach it")
    return MediaError(f"{what}: ICE failed (local candidates: {_kinds(local)}; remote: "
                      f"{_kinds(remote)}; policy {policy!r}); {advice}")


def turn_choices(ice: IceSettings | None) -> list[IceSettings | None]:
    """The settings to gather with, in order: one per TURN URL (aiortc takes only one), each
    with the STUN servers; just ``[ice]`` with one TURN URL or none.

    >>> from mezon_nb.core.ice_servers import IceSettings
    >>> two = IceSettings.from_options([{"urls": ["turn:h:3478", "turn:h:443?transport=tcp"],
    ...                                  "username": "u", "credential": "c"}])
    >>> [choice.turn_urls for choice in turn_choices(two)]
    [['turn:h:3478'], ['turn:h:443?transport=tcp']]
    """
    if ice is None or len(ice.turn_urls) <= 1:
        return [ice]
    stun = tuple(IceServer(urls, s.username, s.credential) for s in ice.servers
                 if (urls := tuple(u for u in s.urls if not u.startswith("turn"))))
    return [IceSettings((*stun, IceServer((url,), s.username, s.credential)), ice.policy)
            for s in ice.servers for url in s.urls if url.startswith("turn")]


def _gathered_relay(pc: RTCPeerConnection) -> bool:
    transport = _ice_transport(pc)
    local = transport.iceGatherer.getLocalCandidates() if transport is not None else []
    return any(c.type == "relay" for c in local)


async def gather_offer(build: Callable[[IceSettings | None], Awaitable[RTCPeerConnection]],
                       ice: IceSettings | None, what: str
                       ) -> tuple[RTCPeerConnection, IceSettings | None]:
    """``build(settings)`` (a peer connection with its local offer) with each of
    :func:`turn_choices` in turn until a TURN URL gives a relay candidate (a refused login or
    an unreachable server gives none); returns the connection and the settings it used.

    With policy ``"relay"`` and no relay candidate from any TURN URL it raises
    :func:`ice_failure` at once (ICE could never connect); with ``"all"`` it goes on without.

    >>> import asyncio
    >>> async def once():
    ...     async def build(settings):
    ...         return RTCPeerConnection()
    ...     pc, used = await gather_offer(build, None, "viewer")   # no TURN: built once
    ...     await pc.close()
    ...     return used
    >>> asyncio.run(once()) is None
    True
    """
    choices = turn_choices(ice)
    for number, choice in enumerate(choices, 1):
        pc = await build(choice)
        if choice is None or not choice.turn_urls or _gathered_relay(pc):
            return pc, choice
        if number < len(choices):
            following = choices[number]
            logger.warning("%s: no relay candidate from %s; trying %s", what,
                           choice.turn_urls[0],
                           following.turn_urls[0] if following else "without TURN")
            await pc.close()
    if relay_only(ice):
        error = ice_failure(pc, ice, what)
        await pc.close()
        raise error
    logger.warning("%s: no relay candidate from the TURN server(s); going on without", what)
    return pc, choice


__all__ = ["CandidatePair", "gather_offer", "host_candidates", "ice_failure", "is_loopback",
           "relay_only", "rtc_configuration", "selected_pair", "turn_choices"]
