"""The Mezon protocol client: login, RPCs, the realtime socket, and streaming events.

``AsyncClient`` is the asyncio client; ``Client`` (made by :func:`connect`) is its blocking twin
for notebooks, running on the library's background loop. Both return the dataclasses of
:mod:`.models` and deliver the events of :mod:`.events`.

>>> from mezon_nb.client import AsyncClient, Client, connect
>>> [name for name in dir(Client) if name in ("clans", "events", "on")]
['clans', 'events', 'on']
"""

from mezon_nb.client.async_client import AsyncClient
from mezon_nb.client.dispatch import EventStream, Handle
from mezon_nb.client.events import (
    EVENT_NAMES,
    StreamingEnded,
    StreamingEvent,
    StreamingJoined,
    StreamingLeaved,
    StreamingStarted,
)
from mezon_nb.client.models import ChannelInfo, Clan, Session, StreamingUser
from mezon_nb.client.sync import Client, connect

__all__ = [
    "EVENT_NAMES",
    "AsyncClient",
    "ChannelInfo",
    "Clan",
    "Client",
    "EventStream",
    "Handle",
    "Session",
    "StreamingEnded",
    "StreamingEvent",
    "StreamingJoined",
    "StreamingLeaved",
    "StreamingStarted",
    "StreamingUser",
    "connect",
]
