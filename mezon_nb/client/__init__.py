"""The Mezon protocol client: login, RPCs, the realtime socket, streaming events and chat.

``AsyncClient`` is the asyncio client; ``Client`` (made by :func:`connect`) is its blocking twin
for notebooks, running on the library's background loop. Both return the dataclasses of
:mod:`.models` and deliver the events of :mod:`.events`.

Modules, one concern each:

- :mod:`.async_client`: ``AsyncClient``, the facade over the layers below;
- :mod:`.sync`: ``Client`` (generated blocking twins) and ``connect()``;
- :mod:`.auth`: the session, re-login before expiry and on a 401;
- :mod:`.http`: login and protobuf RPCs over ``POST``;
- :mod:`.realtime`: the Envelope socket (cid correlation, ping, reconnect with backoff);
- :mod:`.dispatch`: events to callbacks, bounded streams and the participant log;
- :mod:`.chat`: joining a channel's chat and sending to it; :mod:`.greeter`: the welcome bot;
- :mod:`.transport_errors`: the one httpx/websockets → ``mezon_nb.errors`` boundary;
- :mod:`.models`, :mod:`.events`: frozen dataclasses; :mod:`.runner`: the loop thread.

>>> from mezon_nb.client import AsyncClient, Client, connect
>>> [name for name in dir(Client) if name in ("clans", "events", "messages", "on")]
['clans', 'events', 'messages', 'on']
"""

from mezon_nb.client.async_client import AsyncClient
from mezon_nb.client.dispatch import EventStream, Handle
from mezon_nb.client.events import (
    EVENT_NAMES,
    ChannelMessage,
    StreamingEnded,
    StreamingEvent,
    StreamingJoined,
    StreamingLeaved,
    StreamingStarted,
)
from mezon_nb.client.greeter import Greeter
from mezon_nb.client.models import ChannelInfo, Clan, MessageAck, Session, StreamingUser
from mezon_nb.client.sync import Client, connect

__all__ = [
    "EVENT_NAMES",
    "AsyncClient",
    "ChannelInfo",
    "ChannelMessage",
    "Clan",
    "Client",
    "EventStream",
    "Greeter",
    "Handle",
    "MessageAck",
    "Session",
    "StreamingEnded",
    "StreamingEvent",
    "StreamingJoined",
    "StreamingLeaved",
    "StreamingStarted",
    "StreamingUser",
    "connect",
]
