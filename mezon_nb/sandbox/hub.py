"""Who is connected to the realtime socket, what each joined, and fan-out of pushed envelopes.

Each :class:`Connection` has an outbox the socket's writer task drains, so pushing never
blocks: world methods called from any coroutine just queue bytes.

>>> import asyncio
>>> from mezon_nb.protocol import realtime_pb2
>>> hub = Hub()
>>> conn = Connection(user_id=1, abort=lambda: None)
>>> hub.register(conn)
>>> conn.clans.add(10)
>>> hub.to_clan(10, realtime_pb2.Envelope(ping=realtime_pb2.Ping()))
1
>>> conn.outbox.get_nowait()
b'\\xb2\\x01\\x00'
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable

from mezon_nb.protocol import realtime_pb2
from mezon_nb.protocol.codec import encode_envelope

logger = logging.getLogger(__name__)

#: Frames a connection may have queued before it counts as stuck and is dropped (room for a
#: full 100 000-event control burst).
OUTBOX_LIMIT = 250_000

_presence_numbers = itertools.count(1)


class Connection:
    """One realtime socket: its user, joined clans and channels, and outgoing frames.

    ``abort`` closes the socket abruptly (no close frame), used for fault injection and for
    a client that stops reading; :meth:`abort` also marks the connection ``closed``, so nothing
    more is queued or written to it. ``session_number`` is the int32 ``UserPresence.session_id``.

    >>> Connection(user_id=3, abort=lambda: None).channels
    set()
    """

    def __init__(self, user_id: int, abort: Callable[[], None]) -> None:
        self.user_id = user_id
        self.session_number = next(_presence_numbers) % 2**31
        self.clans: set[int] = set()
        self.channels: set[int] = set()
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue(OUTBOX_LIMIT)
        self.closed = False
        self._abort = abort

    def abort(self) -> None:
        """Cut the socket (no close frame) and stop queueing to it; idempotent.

        >>> conn = Connection(user_id=3, abort=lambda: None); conn.abort(); conn.push(b"x")
        False
        """
        if not self.closed:
            self.closed = True
            self._abort()

    def push(self, frame: bytes) -> bool:
        """Queue one encoded frame; False if the connection is closed, or its outbox was full
        (which aborts it).

        >>> Connection(user_id=3, abort=lambda: None).push(b"x")
        True
        """
        if self.closed:
            return False
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            logger.warning("realtime client %s stopped reading; dropping it", self.user_id)
            self.abort()
            return False
        return True


class Hub:
    """The set of live connections and the three ways to reach them.

    >>> Hub().connection_count
    0
    """

    def __init__(self) -> None:
        self._connections: set[Connection] = set()

    @property
    def connection_count(self) -> int:
        """How many realtime sockets are open.

        >>> Hub().connection_count
        0
        """
        return len(self._connections)

    def register(self, connection: Connection) -> None:
        """Start delivering to ``connection`` (called once its socket is accepted).

        >>> hub = Hub(); hub.register(Connection(1, lambda: None)); hub.connection_count
        1
        """
        self._connections.add(connection)

    def unregister(self, connection: Connection) -> None:
        """Stop delivering to ``connection`` (its socket closed); unknown ones are ignored.

        >>> Hub().unregister(Connection(1, lambda: None))
        """
        self._connections.discard(connection)

    def in_channel(self, channel_id: int) -> list[Connection]:
        """Sockets that joined ``channel_id``'s chat.

        >>> Hub().in_channel(1)
        []
        """
        return [conn for conn in self._connections if channel_id in conn.channels]

    def to_clan(self, clan_id: int, envelope: realtime_pb2.Envelope) -> int:
        """Push to every socket that sent ``clan_join`` for ``clan_id``; returns how many.

        >>> Hub().to_clan(1, realtime_pb2.Envelope())
        0
        """
        return self._fan_out(envelope, lambda conn: clan_id in conn.clans)

    def to_channel(
        self,
        channel_id: int,
        envelope: realtime_pb2.Envelope,
        exclude: Connection | None = None,
    ) -> int:
        """Push to every socket that joined ``channel_id``'s chat, except ``exclude``.

        >>> Hub().to_channel(1, realtime_pb2.Envelope())
        0
        """
        return self._fan_out(
            envelope, lambda conn: conn is not exclude and channel_id in conn.channels
        )

    def abort_all(self) -> int:
        """Close every socket abruptly (fault injection); returns how many were open.

        >>> Hub().abort_all()
        0
        """
        connections = list(self._connections)
        for connection in connections:
            connection.abort()
        return len(connections)

    def _fan_out(
        self, envelope: realtime_pb2.Envelope, wanted: Callable[[Connection], bool]
    ) -> int:
        frame = encode_envelope(envelope)
        targets = [conn for conn in self._connections if wanted(conn)]
        return sum(conn.push(frame) for conn in targets)
