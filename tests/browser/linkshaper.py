"""A loopback link shaper: a TCP forwarder on 127.0.0.1 that behaves like a slow WAN link.

Chromium talks to the shaper's port instead of JupyterLab's; every byte (HTTP, WebSocket, it
does not matter) crosses two :class:`Bottleneck` s, one per direction, shared by every
connection as a real link is (six page loads and a kernel WebSocket divide one 1 Mbit/s): a
FIFO queue of at most ``queue_bytes`` in front of a token bucket of ``rate`` bytes/s, then
``delay`` seconds of one-way propagation. When the queue is full the shaper stops reading from
the senders, so their TCP windows close as they would in front of a real bottleneck; nothing
is dropped. A receiver that does not read holds back only its own connection's sender.

The shaper's own sockets keep the kernel's buffering near the queue (a small receive buffer)
and ask for a WAN's segments (``Link.mss``, 1460 bytes; loopback's own are 64 KiB). Both
matter: a receive buffer smaller than one segment leaves the sender waiting for its persist
timer whenever the queue fills, and a saturated 1.5 Mbit/s link then carried 0.7 Mbit/s
(``benchmarks/link_shaper.py`` measures it, with loopback's segments as the baseline).

The rules live in :class:`Bottleneck`, which takes the time as an argument (tests run it in
simulated time); :class:`LinkShaper` (asyncio) and :class:`ShapedLink` (its own loop thread,
for blocking code such as ``benchmarks/browser.py``) move the bytes. Not modelled: random loss,
delay of the TCP handshake itself (only bytes are delayed), jitter.

>>> link = Link.parse("2/1/80")
>>> (link.down_bps, link.up_bps, link.rtt_ms, link.label)
(2000000.0, 1000000.0, 80.0, '2/1 Mbit/s 80 ms')
>>> Link.parse("loopback") is None
True
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

SEGMENT = 1500  # the smallest departure (bytes): about one Ethernet packet
_BURST_SECONDS = 0.004  # a departure carries at most this long of the rate (fewer timers)
_READ_MAX = 65536


@dataclass(frozen=True)
class Link:
    """A link's shape: rates in bit/s (``None``: unlimited), round trip in ms, the
    bottleneck queue in ms of its rate (``queue_ms``; each direction has one), and the largest
    TCP segment its connections carry (``mss``, bytes; ``None``: loopback's own).

    >>> Link(10e6, 5e6, 40).one_way_delay
    0.02
    >>> Link(8e6, 1e6, 40, queue_ms=100).queue_bytes(8e6)
    100000
    """

    down_bps: float | None
    up_bps: float | None
    rtt_ms: float
    queue_ms: float = 100.0
    mss: int | None = SEGMENT - 40      # an Ethernet packet less the IPv4 and TCP headers

    @classmethod
    def parse(cls, text: str) -> Link | None:
        """``"DOWN/UP/RTT"`` (Mbit/s, Mbit/s, ms; optionally ``/QUEUE_MS``); ``"loopback"`` is
        ``None`` (no shaper at all).

        >>> Link.parse("1/0.5/100/50").queue_ms
        50.0
        >>> Link.parse("fast")
        Traceback (most recent call last):
        ...
        ValueError: link 'fast' is not DOWN/UP/RTT (Mbit/s, Mbit/s, ms), e.g. 10/5/40
        """
        if text.strip().lower() == "loopback":
            return None
        try:
            numbers = [float(part) for part in text.split("/")]
        except ValueError:
            numbers = []
        if len(numbers) not in (3, 4) or min(numbers) < 0 or 0 in numbers[:2]:
            raise ValueError(f"link {text!r} is not DOWN/UP/RTT (Mbit/s, Mbit/s, ms), "
                             f"e.g. 10/5/40")
        return cls(numbers[0] * 1e6, numbers[1] * 1e6, *numbers[2:])

    @property
    def label(self) -> str:
        """``"10/5 Mbit/s 40 ms"``."""
        def mbit(bps: float | None) -> str:
            return "∞" if bps is None else f"{bps / 1e6:g}"
        return f"{mbit(self.down_bps)}/{mbit(self.up_bps)} Mbit/s {self.rtt_ms:g} ms"

    @property
    def one_way_delay(self) -> float:
        """Half the round trip, in seconds."""
        return self.rtt_ms / 2000

    def queue_bytes(self, bps: float | None) -> int:
        """The queue of a direction of ``bps`` bit/s (at least 16 KiB; 1 MiB if unlimited)."""
        if bps is None:
            return 1 << 20
        return max(16384, int(bps / 8 * self.queue_ms / 1000))

    def bottleneck(self, bps: float | None, start: float = 0.0) -> Bottleneck:
        """One direction of this link, its clock starting at ``start``."""
        rate = None if bps is None else bps / 8
        return Bottleneck(rate, self.one_way_delay, self.queue_bytes(bps), start=start)


class Bottleneck:
    """One direction's rules, in the caller's time: a FIFO queue of at most ``queue_bytes``,
    drained by a token bucket of ``rate`` bytes/s and depth ``burst`` bytes (full at
    ``start``), each departure arriving ``delay`` seconds after it left.

    A departure leaves at the moment the bucket holds enough tokens for it, not at the moment
    the caller happens to ask, so a late caller loses no throughput.

    >>> link = Bottleneck(rate=1000, delay=0.05, queue_bytes=4000, burst=500)
    >>> link.enqueue(1200, now=0.0)
    >>> link.room
    2800
    >>> [link.depart(now=1.0)[:2] for _ in range(3)]  # a full bucket at once, then the rate
    [(500, 0.05), (500, 0.55), (200, 0.75)]
    >>> link.next_departure(now=1.0) is None
    True
    """

    def __init__(self, rate: float | None, delay: float, queue_bytes: int,
                 burst: int | None = None, start: float = 0.0) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be positive bytes/s or None, got {rate!r}")
        if delay < 0 or queue_bytes <= 0:
            raise ValueError("delay must be >= 0 and queue_bytes > 0")
        self.rate, self.delay, self.queue_bytes = rate, delay, queue_bytes
        self.burst = burst or (SEGMENT if rate is None else
                               max(SEGMENT, int(rate * _BURST_SECONDS)))
        self.queued = 0
        self._chunks: deque[list[Any]] = deque()  # [time enqueued, bytes left, owner]
        # the time the bucket is (or was) full; a departure of s bytes may leave at
        # full_at - (burst - s) / rate at the earliest
        self._full_at = start
        self._last = start

    @property
    def room(self) -> int:
        """Bytes the queue can still take."""
        return self.queue_bytes - self.queued

    def enqueue(self, size: int, now: float, owner: Any = None) -> None:
        """``size`` bytes of ``owner`` (e.g. a connection) joined the queue at ``now``; more
        than :attr:`room` is an error. A departure never mixes two owners' bytes.

        >>> Bottleneck(1000, 0.0, 100).enqueue(101, now=0.0)
        Traceback (most recent call last):
        ...
        ValueError: 101 bytes do not fit the queue (room for 100)
        """
        if size > self.room:
            raise ValueError(f"{size} bytes do not fit the queue (room for {self.room})")
        if size > 0:
            self._chunks.append([now, size, owner])
            self.queued += size

    def discard(self, owner: Any) -> int:
        """Drop every queued byte of ``owner`` (its connection is gone); returns how many.

        >>> link = Bottleneck(1000, 0.0, 100)
        >>> link.enqueue(30, 0.0, "a"); link.enqueue(20, 0.0, "b"); link.enqueue(5, 0.0, "a")
        >>> link.discard("a"), link.queued
        (35, 20)
        """
        dropped = sum(left for _, left, who in self._chunks if who is owner)
        self._chunks = deque(c for c in self._chunks if c[2] is not owner)
        self.queued -= dropped
        return dropped

    def _head(self) -> tuple[int, float] | None:
        if not self._chunks:
            return None
        enqueued, left, _ = self._chunks[0]
        size = int(min(left, self.burst))
        due = max(enqueued, self._last)
        if self.rate is not None:
            due = max(due, self._full_at - (self.burst - size) / self.rate)
        return size, due

    def next_departure(self, now: float) -> float | None:
        """When the head of the queue leaves (``None``: the queue is empty)."""
        head = self._head()
        return None if head is None else head[1]

    def depart(self, now: float) -> tuple[int, float, Any]:
        """Take the head departure (its due time must be ``<= now``):
        ``(bytes, arrival, owner)``.

        >>> Bottleneck(1000, 0.0, 100).depart(now=0.0)
        Traceback (most recent call last):
        ...
        LookupError: nothing is due at 0
        """
        head = self._head()
        if head is None or head[1] > now + 1e-9:
            raise LookupError(f"nothing is due at {now:g}")
        size, due = head
        owner = self._chunks[0][2]
        self._chunks[0][1] -= size
        if not self._chunks[0][1]:
            self._chunks.popleft()
        self.queued -= size
        if self.rate is not None:
            self._full_at = max(self._full_at, due) + size / self.rate
        self._last = due
        return size, due + self.delay, owner


class _Direction:
    """One direction of the link on real sockets: one :class:`Bottleneck` that every
    connection's :class:`_Pipe` in this direction queues into; each departure goes to the pipe
    whose bytes it carries."""

    def __init__(self, loop: asyncio.AbstractEventLoop, bottleneck: Bottleneck) -> None:
        self.loop, self.bottleneck = loop, bottleneck
        self.pipes: set[_Pipe] = set()
        self._timer: asyncio.TimerHandle | None = None

    def feed(self, pipe: _Pipe, size: int) -> None:
        self.bottleneck.enqueue(size, self.loop.time(), owner=pipe)
        self.step()

    def step(self) -> None:
        """Move every departure that is due to its pipe; set a timer for the next one."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self.loop.time()
        while (due := self.bottleneck.next_departure(now)) is not None:
            if due > now:
                self._timer = self.loop.call_at(due, self.step)
                break
            size, arrival, pipe = self.bottleneck.depart(now)
            pipe.departed(size, arrival)
        for pipe in list(self.pipes):
            pipe.update_reading()

    def forget(self, pipe: _Pipe) -> None:
        """``pipe``'s connection is gone: its queued bytes leave the queue unsent."""
        self.pipes.discard(pipe)
        self.bottleneck.discard(pipe)
        self.step()


class _Pipe:
    """One connection's bytes in one direction: read from ``source`` into the shared
    :class:`_Direction`, written to ``sink`` as they arrive. The source is paused while the
    link's queue is full or this pipe's sink is (a receiver that does not read)."""

    def __init__(self, direction: _Direction) -> None:
        self.direction, self.loop = direction, direction.loop
        self.source: asyncio.Transport | None = None
        self.sink: asyncio.Transport | None = None
        self.data = bytearray()  # this pipe's bytes in the link's queue
        self.flight: deque[tuple[float, bytes]] = deque()
        self.forwarded = 0
        self.eof = False
        self.finished = False
        self.sink_paused = False
        self._reading = True
        self._deliver_timer: asyncio.TimerHandle | None = None
        self.on_finished: Any = lambda: None
        direction.pipes.add(self)

    def read_size(self) -> int:
        return max(1, min(_READ_MAX, self.direction.bottleneck.room))

    def feed(self, chunk: bytes | memoryview) -> None:
        if self.finished:  # nobody to deliver to: these bytes do not take the link's room
            return
        self.data += chunk
        self.direction.feed(self, len(chunk))

    def end(self) -> None:
        """The source sent EOF (or vanished): deliver what is queued, then EOF the sink."""
        self.eof = True
        self.update_reading()
        self.deliver()

    def set_sink_paused(self, paused: bool) -> None:
        self.sink_paused = paused
        self.update_reading()

    def update_reading(self) -> None:
        reading = self.direction.bottleneck.room > 0 and not self.eof and not self.sink_paused
        if reading != self._reading and self.source is not None and not self.source.is_closing():
            (self.source.resume_reading if reading else self.source.pause_reading)()
            self._reading = reading

    def departed(self, size: int, arrival: float) -> None:
        self.flight.append((arrival, bytes(self.data[:size])))
        del self.data[:size]
        if self._deliver_timer is None:
            self.deliver()

    def deliver(self) -> None:
        if self._deliver_timer is not None:
            self._deliver_timer.cancel()
            self._deliver_timer = None
        if self.finished:
            return
        now = self.loop.time()
        while self.flight and self.flight[0][0] <= now and self.sink is not None:
            chunk = self.flight.popleft()[1]
            if not self.sink.is_closing():
                self.sink.write(chunk)
                self.forwarded += len(chunk)
        if self.flight and self.sink is not None:
            self._deliver_timer = self.loop.call_at(self.flight[0][0], self.deliver)
        elif self.eof and not self.data and not self.flight:
            self.finished = True
            if self.sink is not None and not self.sink.is_closing() and self.sink.can_write_eof():
                try:
                    self.sink.write_eof()
                except OSError:  # the peer is already gone
                    self.sink.abort()
            self.on_finished()

    def cancel(self) -> None:
        self.finished = True
        if self._deliver_timer is not None:
            self._deliver_timer.cancel()
        self.direction.forget(self)


class _Side(asyncio.BufferedProtocol):
    """One end of a forwarded connection (the client's socket, or the upstream socket)."""

    def __init__(self, conn: _Connection, inbound: _Pipe, outbound: _Pipe) -> None:
        self.conn, self.inbound, self.outbound = conn, inbound, outbound
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray(_READ_MAX)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.inbound.source = transport
        self.outbound.sink = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:  # keep the kernel's own buffering near the bottleneck's queue
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                max(4096, self.inbound.direction.bottleneck.queue_bytes // 2))
        self.conn.sides.append(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self._buffer)[:self.inbound.read_size()]

    def buffer_updated(self, nbytes: int) -> None:
        self.inbound.feed(memoryview(self._buffer)[:nbytes])

    def eof_received(self) -> bool:
        self.inbound.end()
        return True  # half-close: the other direction may still be delivering

    def pause_writing(self) -> None:
        self.outbound.set_sink_paused(True)

    def resume_writing(self) -> None:
        self.outbound.set_sink_paused(False)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.conn.abort()
            return
        self.inbound.end()
        self.outbound.cancel()  # nobody left to deliver to
        self.conn.check_done()


class _Connection:
    """A client connection and its upstream twin, with one pipe each way."""

    def __init__(self, shaper: LinkShaper) -> None:
        self.shaper = shaper
        self.up, self.down = _Pipe(shaper.up), _Pipe(shaper.down)
        self.sides: list[_Side] = []
        self.up.on_finished = self.down.on_finished = self.check_done

    def check_done(self) -> None:
        if self.up.finished and self.down.finished:
            self.close()

    def close(self) -> None:
        for side in self.sides:
            if side.transport is not None and not side.transport.is_closing():
                side.transport.close()
        self._forget()

    def abort(self) -> None:
        for side in self.sides:
            if side.transport is not None:
                side.transport.abort()
        self._forget()

    def _forget(self) -> None:
        if self not in self.shaper.connections:
            return
        self.up.cancel()
        self.down.cancel()
        self.shaper.connections.discard(self)
        self.shaper.totals[0] += self.up.forwarded
        self.shaper.totals[1] += self.down.forwarded
        self.up.forwarded = self.down.forwarded = 0


class LinkShaper:
    """Listens on 127.0.0.1 (a free port) and forwards every connection to
    ``target_host:target_port`` through ``link``; ``stop()`` ends all of it.

    >>> async def demo():
    ...     shaper = LinkShaper(Link(8e6, 8e6, 10), "127.0.0.1", 9)
    ...     await shaper.start()
    ...     listening = shaper.port > 0
    ...     await shaper.stop()
    ...     return listening, shaper.connection_count
    >>> asyncio.run(demo())
    (True, 0)
    """

    def __init__(self, link: Link, target_host: str, target_port: int) -> None:
        self.link, self.target = link, (target_host, target_port)
        self.connections: set[_Connection] = set()
        self.totals = [0, 0]  # bytes up, bytes down, of finished connections
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def connection_count(self) -> int:
        """Connections open now."""
        return len(self.connections)

    def stats(self) -> dict[str, int]:
        """Bytes forwarded up (to the target) and down so far, and connections open."""
        up = self.totals[0] + sum(c.up.forwarded for c in self.connections)
        down = self.totals[1] + sum(c.down.forwarded for c in self.connections)
        return {"bytes_up": up, "bytes_down": down, "connections": len(self.connections)}

    async def start(self) -> None:
        """Start listening (``port`` is set once this returns)."""
        self.loop = asyncio.get_running_loop()
        now, link = self.loop.time(), self.link
        self.up = _Direction(self.loop, link.bottleneck(link.up_bps, now))
        self.down = _Direction(self.loop, link.bottleneck(link.down_bps, now))
        listener = self._socket()      # accepted connections inherit its segment size
        try:
            listener.bind(("127.0.0.1", 0))
            self._server = await self.loop.create_server(self._accept, sock=listener)
        except BaseException:
            listener.close()
            raise
        self.port = self._server.sockets[0].getsockname()[1]

    def _socket(self) -> socket.socket:
        """A TCP socket whose SYN asks for the link's segment size (where the platform can)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.link.mss is not None and hasattr(socket, "TCP_MAXSEG"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, self.link.mss)
        sock.setblocking(False)
        return sock

    def _accept(self) -> _Side:
        conn = _Connection(self)
        self.connections.add(conn)
        client = _Side(conn, conn.up, conn.down)
        task = self.loop.create_task(self._connect_upstream(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return client

    async def _connect_upstream(self, conn: _Connection) -> None:
        sock = self._socket()
        try:
            await self.loop.sock_connect(sock, self.target)
            transport, _ = await self.loop.create_connection(
                lambda: _Side(conn, conn.down, conn.up), sock=sock)
        except OSError:
            sock.close()
            conn.abort()
            return
        except BaseException:   # stop() cancelled the connect
            sock.close()
            raise
        if conn not in self.connections:  # the client went away meanwhile
            transport.abort()
            return
        conn.up.deliver()  # what arrived meanwhile goes to the new sink

    async def stop(self) -> None:
        """Stop listening and abort every connection (idempotent)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in list(self.connections):
            conn.abort()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


class ShapedLink:
    """A :class:`LinkShaper` on its own event-loop thread, for blocking code; a context
    manager. ``url`` is the shaped address of ``http://target_host:target_port``.

    >>> with ShapedLink(Link(8e6, 8e6, 10), "127.0.0.1", 9) as shaped:
    ...     shaped.url.startswith("http://127.0.0.1:")
    True
    >>> shaped.running
    False
    """

    def __init__(self, link: Link, target_host: str, target_port: int) -> None:
        self.shaper = LinkShaper(link, target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="linkshaper",
                                        daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.shaper.start(), self._loop).result(10)
        except BaseException:
            self.stop()
            raise
        self.url = f"http://127.0.0.1:{self.shaper.port}"

    @property
    def running(self) -> bool:
        """Whether the shaper's thread is still alive."""
        return self._thread.is_alive()

    def stats(self) -> dict[str, int]:
        """:meth:`LinkShaper.stats`, read on the shaper's thread."""
        return self._read(self.shaper.stats)

    def connection_bytes(self) -> dict[int, tuple[int, int]]:
        """Bytes each open connection has forwarded so far, ``(up, down)``, by a key that
        stays that connection's while it is open (which connections share the link).

        >>> with ShapedLink(Link(8e6, 8e6, 10), "127.0.0.1", 9) as shaped:
        ...     shaped.connection_bytes()
        {}
        """
        return self._read(lambda: {id(c): (c.up.forwarded, c.down.forwarded)
                                   for c in self.shaper.connections})

    def _read(self, fn: Any) -> Any:
        async def read() -> Any:
            return fn()
        return asyncio.run_coroutine_threadsafe(read(), self._loop).result(10)

    def stop(self) -> None:
        """Stop the shaper, its loop and its thread (idempotent)."""
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError, TimeoutError):
                asyncio.run_coroutine_threadsafe(self.shaper.stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()

    def __enter__(self) -> ShapedLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["Bottleneck", "Link", "LinkShaper", "ShapedLink"]
