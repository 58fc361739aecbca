"""STUN/TURN for the kernel's WebRTC leg: ``connect(ice_servers=, ice_transport_policy=)``.

From hubs, Binder and HPC clusters outbound UDP is often blocked; the viewer and the publisher
then need a TURN server, over TCP (``turn:host:port?transport=tcp``) or TLS (``turns:``).
:class:`IceSettings` is plain data (the media layer turns it into aiortc's
``RTCConfiguration``): a list of :class:`IceServer` and the policy, ``"all"`` (host, reflexive
and relay candidates) or ``"relay"`` (only relay candidates, every packet through TURN).
Without arguments the settings come from ``$MEZON_ICE_SERVERS`` (JSON, the browser's
``iceServers`` shape) and ``$MEZON_ICE_TRANSPORT_POLICY``; with neither, no STUN or TURN server
is contacted. Credentials never appear in a repr or an error message.

>>> ice = IceSettings.from_options(
...     [{"urls": "turn:turn.example.org:3478?transport=tcp", "username": "u",
...       "credential": "s3cret"}], "relay")
>>> ice
IceSettings(servers=[IceServer(urls=('turn:turn.example.org:3478?transport=tcp',), username=***)], policy='relay')
>>> ice.turn_urls
['turn:turn.example.org:3478?transport=tcp']
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any, Union

ENV_SERVERS = "MEZON_ICE_SERVERS"
ENV_POLICY = "MEZON_ICE_TRANSPORT_POLICY"
POLICIES = ("all", "relay")
_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")

#: What ``ice_servers=`` accepts per server: an :class:`IceServer`, a dict, or a bare URL.
IceServerLike = Union["IceServer", Mapping[str, Any], str]


@dataclasses.dataclass(frozen=True)
class IceServer:
    """One STUN or TURN server: its URLs and (for TURN) the long-term credentials.

    >>> IceServer(("stun:stun.example.org:3478",))
    IceServer(urls=('stun:stun.example.org:3478',))
    """

    urls: tuple[str, ...]
    username: str | None = dataclasses.field(default=None, repr=False)
    credential: str | None = dataclasses.field(default=None, repr=False)

    def __repr__(self) -> str:
        secret = ", username=***" if self.username or self.credential else ""
        return f"IceServer(urls={self.urls!r}{secret})"

    @classmethod
    def parse(cls, value: IceServerLike) -> IceServer:
        """Read one server from a dict ``{urls, username, credential}`` or a URL string.

        >>> IceServer.parse("turn:127.0.0.1:3478")
        Traceback (most recent call last):
        ...
        ValueError: ICE server turn:127.0.0.1:3478: a TURN server needs a username and a credential
        >>> IceServer.parse({"urls": ["http://x"]})
        Traceback (most recent call last):
        ...
        ValueError: ICE server URL 'http://x' must start with stun:, stuns:, turn: or turns:
        """
        if isinstance(value, IceServer):
            server = value
        elif isinstance(value, str):
            server = cls((value,))
        elif isinstance(value, Mapping):
            unknown = set(value) - {"urls", "username", "credential", "credentialType"}
            if unknown:
                raise ValueError(f"ICE server: unknown key(s) {', '.join(sorted(unknown))}")
            urls = value.get("urls")
            urls = (urls,) if isinstance(urls, str) else tuple(urls or ())
            server = cls(urls, _text(value.get("username")), _text(value.get("credential")))
        else:
            raise TypeError(f"an ICE server is a dict, a URL or an IceServer, "
                            f"not {type(value).__name__}")
        server._check()
        return server

    def _check(self) -> None:
        if not self.urls or not all(isinstance(url, str) for url in self.urls):
            raise ValueError("ICE server: 'urls' must be a URL or a list of URLs")
        for url in self.urls:
            if not url.startswith(_SCHEMES):
                raise ValueError(f"ICE server URL {url!r} must start with stun:, stuns:, "
                                 "turn: or turns:")
            if url.startswith("turn") and not (self.username and self.credential):
                raise ValueError(f"ICE server {url}: a TURN server needs a username and a "
                                 "credential")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclasses.dataclass(frozen=True)
class IceSettings:
    """The ICE servers and transport policy every peer connection of a client uses.

    >>> IceSettings().servers, IceSettings().policy
    ((), 'all')
    """

    servers: tuple[IceServer, ...] = ()
    policy: str = "all"

    def __repr__(self) -> str:
        return f"IceSettings(servers={list(self.servers)!r}, policy={self.policy!r})"

    @property
    def turn_urls(self) -> list[str]:
        """Every ``turn:``/``turns:`` URL, in order (no credentials in them).

        >>> IceSettings((IceServer(("stun:h:3478",)),)).turn_urls
        []
        """
        return [url for s in self.servers for url in s.urls if url.startswith("turn")]

    @classmethod
    def from_options(cls, servers: Iterable[IceServerLike] | str | None = None,
                     policy: str | None = None) -> IceSettings:
        """Settings from ``connect()``'s arguments, else from the environment.

        ``servers`` may also be a JSON string. ``"relay"`` without a TURN server is refused
        (nothing could connect).

        >>> IceSettings.from_options([], "relay")
        Traceback (most recent call last):
        ...
        ValueError: ice_transport_policy='relay' needs a TURN server in ice_servers (or $MEZON_ICE_SERVERS)
        >>> IceSettings.from_options('[{"urls": "stun:127.0.0.1:3478"}]').servers[0].urls
        ('stun:127.0.0.1:3478',)
        """
        if servers is None:
            servers = os.environ.get(ENV_SERVERS) or None
        if isinstance(servers, str):
            try:
                servers = json.loads(servers)
            except ValueError:
                raise ValueError(f"ice_servers / ${ENV_SERVERS} is not valid JSON") from None
            if isinstance(servers, (dict, str)):
                servers = [servers]
        if servers is not None and not isinstance(servers, Iterable):
            raise TypeError("ice_servers must be a list of servers")
        policy = policy or os.environ.get(ENV_POLICY) or "all"
        if policy not in POLICIES:
            raise ValueError(f"ice_transport_policy must be 'all' or 'relay', not {policy!r}")
        settings = cls(tuple(IceServer.parse(s) for s in (servers or ())), policy)
        if policy == "relay" and not settings.turn_urls:
            raise ValueError("ice_transport_policy='relay' needs a TURN server in ice_servers "
                             f"(or ${ENV_SERVERS})")
        return settings


__all__ = ["ENV_POLICY", "ENV_SERVERS", "IceServer", "IceServerLike", "IceSettings"]
