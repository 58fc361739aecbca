"""The loopback link shaper: its rules in simulated time, and bytes through real sockets.

The rules (``Bottleneck``) get the time as an argument, so rate, delay, burst and queue are
checked exactly; the socket tests check what cannot be simulated: bytes arrive intact and in
order both ways, HTTP and a WebSocket work through it, both ends send a WAN's segments, a full
queue stops reading (the sender is held back, nothing piles up in the shaper), connections
share one link (first come, first served), and ``stop()`` ends everything it started.
No wall-clock thresholds: every wait is bounded and only decides how long to try.
"""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
from linkshaper import Bottleneck, Link, LinkShaper, ShapedLink


def drain(link: Bottleneck, now: float) -> list[tuple[int, float]]:
    """Every departure due by ``now``."""
    out = []
    while (due := link.next_departure(now)) is not None and due <= now:
        out.append(link.depart(now)[:2])
    return out


# -- the rules, in simulated time ---------------------------------------------------------------

def test_rate_is_the_token_bucket_rate():
    link = Bottleneck(rate=10_000, delay=0.0, queue_bytes=200_000, burst=1000)
    link.enqueue(100_000, now=0.0)
    departures = drain(link, now=1e6)
    assert sum(size for size, _ in departures) == 100_000
    assert all(size <= 1000 for size, _ in departures)
    # the first burst leaves at once, the remaining 99 000 bytes at exactly 10 000 bytes/s
    assert departures[0][1] == 0.0
    assert departures[-1][1] == pytest.approx(99_000 / 10_000)
    arrivals = [t for _, t in departures]
    assert arrivals == sorted(arrivals)


def test_bucket_refills_only_up_to_its_depth():
    link = Bottleneck(rate=1000, delay=0.0, queue_bytes=10_000, burst=500)
    link.enqueue(1000, now=0.0)
    drain(link, now=10.0)
    link.enqueue(2000, now=100.0)  # idle for long: still only one burst at once
    times = [t for _, t in drain(link, now=1000.0)]
    assert times == pytest.approx([100.0, 100.5, 101.0, 101.5])


def test_one_way_delay_is_added_to_every_departure():
    link = Bottleneck(rate=None, delay=0.04, queue_bytes=10_000)
    link.enqueue(3000, now=1.0)
    link.enqueue(10, now=2.5)
    departures = drain(link, now=5.0)
    assert [round(t, 6) for _, t in departures] == [1.04, 1.04, 2.54]
    assert sum(size for size, _ in departures) == 3010


def test_nothing_leaves_before_it_arrived_or_before_its_turn():
    link = Bottleneck(rate=1000, delay=0.0, queue_bytes=10_000, burst=1000)
    assert link.next_departure(now=0.0) is None
    link.enqueue(100, now=3.0)
    with pytest.raises(LookupError):
        link.depart(now=2.0)
    assert link.depart(now=3.0) == (100, 3.0, None)


def test_a_late_caller_loses_no_throughput():
    def run(step: float) -> list[float]:
        link = Bottleneck(rate=2000, delay=0.01, queue_bytes=100_000, burst=400)
        link.enqueue(10_000, now=0.0)
        times, now = [], 0.0
        while link.queued:
            now += step
            times += [t for _, t in drain(link, now)]
        return times

    assert run(0.001) == pytest.approx(run(0.5))


def test_queue_is_bounded_and_frees_as_bytes_leave():
    link = Bottleneck(rate=1000, delay=0.0, queue_bytes=3000, burst=1000)
    link.enqueue(3000, now=0.0)
    assert link.room == 0
    with pytest.raises(ValueError, match="do not fit"):
        link.enqueue(1, now=0.0)
    link.depart(now=0.0)
    assert link.room == 1000
    assert link.next_departure(now=0.0) == pytest.approx(1.0)


def test_connections_share_one_queue_and_one_rate():
    alone = Bottleneck(rate=1000, delay=0.0, queue_bytes=10_000, burst=500)
    alone.enqueue(3000, now=0.0, owner="a")
    shared = Bottleneck(rate=1000, delay=0.0, queue_bytes=10_000, burst=500)
    shared.enqueue(1000, now=0.0, owner="a")
    shared.enqueue(1000, now=0.0, owner="b")
    shared.enqueue(1000, now=0.1, owner="a")
    assert shared.room == 7000  # one queue for all
    owners, times = [], []
    while shared.queued:
        size, arrival, owner = shared.depart(now=shared.next_departure(now=0.0))
        owners.append((owner, size))
        times.append(arrival)
    # first come, first served, never two owners in one departure; together no faster than
    # one connection alone
    assert owners == [("a", 500), ("a", 500), ("b", 500), ("b", 500), ("a", 500), ("a", 500)]
    assert times == pytest.approx([t for _, t in drain(alone, now=1e6)])


def test_a_gone_connections_bytes_leave_the_queue():
    link = Bottleneck(rate=1000, delay=0.0, queue_bytes=3000, burst=500)
    link.enqueue(2000, now=0.0, owner="gone")
    link.enqueue(500, now=0.0, owner="stays")
    assert link.discard("gone") == 2000
    assert link.room == 2500
    assert link.depart(now=0.0) == (500, 0.0, "stays")
    assert link.next_departure(now=0.0) is None


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        Bottleneck(rate=0, delay=0.0, queue_bytes=10)
    with pytest.raises(ValueError):
        Bottleneck(rate=1, delay=-1.0, queue_bytes=10)
    for text in ("10/5", "a/b/c", "0/1/10", "1/1/-5", "1/2/3/4/5"):
        with pytest.raises(ValueError, match="DOWN/UP/RTT"):
            Link.parse(text)
    assert Link.parse(" 10/5/40 ") == Link(10e6, 5e6, 40.0)


# -- real sockets ---------------------------------------------------------------------------------

async def bounded(coro, seconds: float = 30.0):
    return await asyncio.wait_for(coro, seconds)


async def echo_server():
    async def echo(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(echo, "127.0.0.1", 0)


def test_bytes_arrive_intact_and_in_order_both_ways():
    async def main():
        server = await echo_server()
        shaper = LinkShaper(Link(20e6, 10e6, 10), "127.0.0.1", server.sockets[0].getsockname()[1])
        await shaper.start()
        try:
            payload = os.urandom(400_000)
            reader, writer = await asyncio.open_connection("127.0.0.1", shaper.port)

            async def send():
                for i in range(0, len(payload), 7000):  # uneven chunks
                    writer.write(payload[i:i + 7000])
                    await writer.drain()
                writer.write_eof()

            sender = asyncio.ensure_future(send())
            echoed = await bounded(reader.read(-1))  # until the echo's EOF came through
            await bounded(sender)
            writer.close()
            assert echoed == payload
            for _ in range(100):  # the shaper closes its side once both directions ended
                if not shaper.connection_count:
                    break
                await asyncio.sleep(0.05)
            assert shaper.connection_count == 0
            assert shaper.stats()["bytes_up"] == shaper.stats()["bytes_down"] == len(payload)
        finally:
            await shaper.stop()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


@pytest.mark.skipif(not hasattr(socket, "TCP_MAXSEG"),
                    reason="this platform cannot set a socket's segment size (TCP_MAXSEG): "
                           "the shaper keeps loopback's")
@pytest.mark.parametrize("mss", [1460, 536, None])
def test_both_ends_send_the_links_segments(mss):
    """The server's and the client's segments are the link's size, not loopback's 64 KiB (a
    receive buffer smaller than a segment stalls a sender whenever the queue fills)."""
    async def main():
        accepted = asyncio.get_running_loop().create_future()

        async def hold(reader, writer):
            accepted.set_result(writer.get_extra_info("socket"))
            await reader.read()
            writer.close()

        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        shaper = LinkShaper(Link(8e6, 8e6, 10, mss=mss), "127.0.0.1",
                            server.sockets[0].getsockname()[1])
        await shaper.start()
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", shaper.port)
            writer.write(b"hello")              # the shaper connects upstream on accept
            upstream = await bounded(accepted)
            segments = [sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
                        for sock in (upstream, writer.get_extra_info("socket"))]
            writer.close()
            return segments
        finally:
            await shaper.stop()
            server.close()
            await server.wait_closed()

    segments = asyncio.run(main())
    if mss is None:     # loopback's own: the baseline of benchmarks/link_shaper.py
        assert min(segments) > 16384, segments
    else:               # less the TCP options (timestamps) the connection carries
        assert all(mss - 40 <= s <= mss for s in segments), segments


def test_http_and_websocket_through_the_shaper():
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    async def handler(ws):
        async for message in ws:
            await ws.send(message[::-1])

    async def main():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            shaper = LinkShaper(Link(5e6, 2e6, 20), "127.0.0.1", port)
            await shaper.start()
            try:
                async with connect(f"ws://127.0.0.1:{shaper.port}/") as ws:
                    replies = []
                    for i in range(20):
                        await ws.send(f"message {i} " + "x" * (i * 500))
                        replies.append(await bounded(ws.recv()))
                assert replies == [(f"message {i} " + "x" * (i * 500))[::-1] for i in range(20)]
            finally:
                await shaper.stop()

    asyncio.run(main())


def test_a_full_queue_stops_reading_instead_of_piling_up():
    async def main():
        stalled = asyncio.Event()

        async def never_reads(reader, writer):
            await stalled.wait()
            writer.close()

        server = await asyncio.start_server(never_reads, "127.0.0.1", 0)
        link = Link(50e6, 50e6, 0, queue_ms=10)
        shaper = LinkShaper(link, "127.0.0.1", server.sockets[0].getsockname()[1])
        await shaper.start()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", shaper.port)
            writer.transport.set_write_buffer_limits(high=65536)
            sent, chunk = 0, b"z" * 65536
            for _ in range(2000):  # bounded: at most 128 MiB offered
                writer.write(chunk)
                sent += len(chunk)
                try:
                    await asyncio.wait_for(writer.drain(), 2.0)
                except asyncio.TimeoutError:
                    break  # held back: the shaper stopped reading
            else:
                pytest.fail("the sender was never held back")
            (conn,) = shaper.connections
            queue = link.queue_bytes(link.up_bps)
            upstream = conn.sides[1].transport
            assert shaper.up.bottleneck.queued == len(conn.up.data) <= queue
            # what the shaper holds for it: the queue, the propagation, the receiver's socket
            # buffer (at most its high-water mark and one read more)
            held = (len(conn.up.data) + sum(len(chunk) for _, chunk in conn.up.flight)
                    + upstream.get_write_buffer_size())
            assert held <= queue + 3 * 65536
            assert sent > held + 65536  # the rest waits in the sender, as behind a real link
            writer.transport.abort()
        finally:
            stalled.set()
            await shaper.stop()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_a_connection_waits_behind_what_another_queued_first():
    async def main():
        first_size = 16_384  # exactly the queue of a 0.1 Mbit/s, 10 ms link: 1.3 s to leave
        first_done, seen = asyncio.Event(), {}

        async def receive(reader, writer):
            tag = await reader.readexactly(1)
            if tag == b"a":
                await reader.readexactly(first_size - 1)
                first_done.set()
            else:  # the second connection's byte: how much of the first had gone by then
                seen["first_forwarded"] = sum(c.up.forwarded for c in shaper.connections
                                              if c is not second)
            writer.close()

        server = await asyncio.start_server(receive, "127.0.0.1", 0)
        link = Link(0.1e6, 0.1e6, 10, queue_ms=10)
        assert link.queue_bytes(link.up_bps) == first_size
        shaper = LinkShaper(link, "127.0.0.1", server.sockets[0].getsockname()[1])
        await shaper.start()
        try:
            _, a = await asyncio.open_connection("127.0.0.1", shaper.port)
            a.write(b"a" * first_size)
            for _ in range(500):  # until all of it is in the link (queued or gone)
                (first,) = shaper.connections
                if len(first.up.data) + first.up.forwarded + sum(
                        len(c) for _, c in first.up.flight) == first_size:
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the first connection's bytes never entered the link")
            _, b = await asyncio.open_connection("127.0.0.1", shaper.port)
            for _ in range(500):
                if shaper.connection_count == 2:
                    break
                await asyncio.sleep(0.01)
            (second,) = shaper.connections - {first}
            b.write(b"b")
            await bounded(first_done.wait())
            for _ in range(500):
                if seen:
                    break
                await asyncio.sleep(0.01)
            # one link, first come first served: the byte sent second arrived after all of
            # the first connection's (each connection with a link of its own: at once)
            assert seen == {"first_forwarded": first_size}
            a.close()
            b.close()
        finally:
            await shaper.stop()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_stop_ends_every_connection_and_the_listener():
    async def main():
        held = asyncio.Event()

        async def holds(reader, writer):  # reads, never answers, never closes on its own
            await held.wait()
            writer.close()

        server = await asyncio.start_server(holds, "127.0.0.1", 0)
        shaper = LinkShaper(Link(1e6, 1e6, 200), "127.0.0.1", server.sockets[0].getsockname()[1])
        await shaper.start()
        conns = [await asyncio.open_connection("127.0.0.1", shaper.port) for _ in range(3)]
        for _, writer in conns:
            writer.write(b"in flight" * 1000)
        for _ in range(100):
            if shaper.connection_count == 3:
                break
            await asyncio.sleep(0.02)
        assert shaper.connection_count == 3
        await shaper.stop()
        assert shaper.connection_count == 0
        for reader, writer in conns:
            try:  # the client's side is cut: EOF or a reset, never a hang
                rest = await bounded(reader.read(-1), 10)
            except ConnectionResetError:
                rest = b""
            assert rest == b""
            writer.close()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", shaper.port)
        held.set()
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def test_shaped_link_thread_forwards_and_stops():
    with socket.create_server(("127.0.0.1", 0)) as target:
        shaped = ShapedLink(Link(4e6, 4e6, 20), "127.0.0.1", target.getsockname()[1])
        try:
            with socket.create_connection(("127.0.0.1", shaped.shaper.port), timeout=10) as c:
                target.settimeout(10)
                upstream, _ = target.accept()
                with upstream:
                    upstream.settimeout(10)
                    c.sendall(b"GET / HTTP/1.1\r\n\r\n")
                    got = b""
                    while len(got) < 18:
                        got += upstream.recv(100)
                    assert got == b"GET / HTTP/1.1\r\n\r\n"
        finally:
            shaped.stop()
        assert not shaped.running
        shaped.stop()  # idempotent
