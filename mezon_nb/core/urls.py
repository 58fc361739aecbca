"""The one http -> ws URL rule, for the realtime socket and the STN signalling socket.

>>> websocket_url("https://stn.mezon.ai/"), websocket_url("http://127.0.0.1:9/stn")
('wss://stn.mezon.ai/', 'ws://127.0.0.1:9/stn')
"""

from __future__ import annotations

_SCHEMES = (("https://", "wss://"), ("http://", "ws://"))


def websocket_url(url: str) -> str:
    """``url`` with ``http(s)://`` turned into ``ws(s)://``; other schemes are left as they are.

    >>> websocket_url("wss://sock.mezon.ai")
    'wss://sock.mezon.ai'
    """
    for old, new in _SCHEMES:
        if url.startswith(old):
            return new + url[len(old):]
    return url


__all__ = ["websocket_url"]
