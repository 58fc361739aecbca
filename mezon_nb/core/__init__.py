"""The core shared by every layer above the wire: events, models, the loop thread, the test
pattern. It imports only :mod:`mezon_nb.protocol` and :mod:`mezon_nb.errors` (and numpy), never
httpx, websockets, aiortc or pandas.

- :mod:`.events`: the streaming and chat events, frozen dataclasses made from envelopes;
- :mod:`.models`: the REST replies (``Session``, ``Clan``, ``ChannelInfo``, ...);
- :mod:`.loop`: ``LoopThread``, the library's background event loop;
- :mod:`.pattern`: ``TestPattern``, the stamped test picture the sandbox streams and
  ``publish("pattern")`` sends.

>>> from mezon_nb.core import LoopThread, StreamingJoined
>>> LoopThread.shared() is LoopThread.shared()
True
"""

from mezon_nb.core.events import (
    EVENT_NAMES,
    ChannelMessage,
    StreamingEnded,
    StreamingEvent,
    StreamingJoined,
    StreamingLeaved,
    StreamingStarted,
)
from mezon_nb.core.loop import LoopThread
from mezon_nb.core.models import ChannelInfo, Clan, MessageAck, Session, StreamingUser

__all__ = [
    "EVENT_NAMES",
    "ChannelInfo",
    "ChannelMessage",
    "Clan",
    "LoopThread",
    "MessageAck",
    "Session",
    "StreamingEnded",
    "StreamingEvent",
    "StreamingJoined",
    "StreamingLeaved",
    "StreamingStarted",
    "StreamingUser",
]
