"""The Mezon protocol client: login, RPCs, the realtime socket, streaming events and chat.

This is the transport layer: it moves bytes (httpx for RPCs, websockets for the socket) and
hands events to callbacks and streams. The notebook API built on it (``AsyncClient``,
``Client``, ``connect``) is :mod:`mezon_nb.facade`; the events and models it returns live in
:mod:`mezon_nb.core`.

Modules, one concern each:

- :mod:`.auth`: the session, re-login before expiry and on a 401;
- :mod:`.http`: login and protobuf RPCs over ``POST``;
- :mod:`.realtime`: the Envelope socket (cid correlation, ping, reconnect with backoff);
- :mod:`.dispatch`: events to callbacks, bounded streams and sinks (the participant log);
- :mod:`.chat`: joining a channel's chat and sending to it; :mod:`.greeter`: the welcome bot;
- :mod:`.transport_errors`: the one httpx/websockets → ``mezon_nb.errors`` boundary.

>>> from mezon_nb.client import Dispatcher, EventStream
>>> Dispatcher().stream(maxsize=5).maxsize
5
"""

from mezon_nb.client.dispatch import Dispatcher, EventStream, Handle
from mezon_nb.client.greeter import Greeter

__all__ = ["Dispatcher", "EventStream", "Greeter", "Handle"]
