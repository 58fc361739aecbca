"""mezon_nb: Mezon streaming channels in Jupyter.

Log in as a Mezon bot, find a streaming channel, watch it live in a widget, get its frames as
numpy arrays, and collect every join and leave into pandas. With no account, the embedded
loopback sandbox speaks the same wire protocol:

>>> import mezon_nb
>>> issubclass(mezon_nb.AuthenticationError, mezon_nb.MezonError)
True

Heavy parts (WebRTC, widgets, the sandbox) are imported on first use.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from mezon_nb.client.events import (
    StreamingEnded,
    StreamingJoined,
    StreamingLeaved,
    StreamingStarted,
)
from mezon_nb.errors import (
    AuthenticationError,
    ClientClosedError,
    ConnectionClosedError,
    MediaError,
    MezonError,
    MezonTimeoutError,
    NotFoundError,
    NotStreamingChannelError,
    PermissionDeniedError,
    ProtocolError,
    ServerError,
    StreamEndedError,
    StreamError,
    StreamNotLiveError,
    TransportError,
)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# Public names that live in modules with heavy imports: name -> module.
_LAZY = {
    "AsyncClient": "mezon_nb.client",
    "Client": "mezon_nb.client",
    "connect": "mezon_nb.client",
    "ChannelMessage": "mezon_nb.client",
    "Greeter": "mezon_nb.client",
    "MessageAck": "mezon_nb.client",
    "Sandbox": "mezon_nb.sandbox",
    "ParticipantLog": "mezon_nb.analytics",
    "Frame": "mezon_nb.media",
    "Publisher": "mezon_nb.media",
    "StreamSession": "mezon_nb.media",
    "ParticipantsPanel": "mezon_nb.widgets",
    "StreamGrid": "mezon_nb.widgets",
    "StreamViewer": "mezon_nb.widgets",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mezon_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "ChannelMessage",
    "Client",
    "ClientClosedError",
    "ConnectionClosedError",
    "Frame",
    "Greeter",
    "MediaError",
    "MessageAck",
    "MezonError",
    "MezonTimeoutError",
    "NotFoundError",
    "NotStreamingChannelError",
    "ParticipantLog",
    "ParticipantsPanel",
    "PermissionDeniedError",
    "ProtocolError",
    "Publisher",
    "Sandbox",
    "ServerError",
    "StreamEndedError",
    "StreamError",
    "StreamGrid",
    "StreamNotLiveError",
    "StreamSession",
    "StreamViewer",
    "StreamingEnded",
    "StreamingJoined",
    "StreamingLeaved",
    "StreamingStarted",
    "TransportError",
    "connect",
]
