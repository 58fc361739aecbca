"""Benchmark: what the loopback link shaper (``tests/browser/linkshaper.py``) carries.

A sender on 127.0.0.1 writes 7 kB messages (a pass-through 720p frame) through the shaper to a
receiver that reads at once, for ``--seconds`` per row, at 0.8x and at 1.2x the link's
downstream rate: below the rate every message should take the one-way delay plus its own
serialisation; above it the link should carry its whole rate (the rest queues in front of
it). Each row runs twice in the same run: with the link's WAN segments (``Link.mss``, 1460
bytes, what ``benchmarks/browser.py`` uses) and, as the baseline, with loopback's own 64 KiB
segments, the shaper before 2026-12-07 (whose saturated links carried about half their rate:
the sender waited for its persist timer each time the shaper's small receive buffer filled).

Run::

    .venv/bin/python benchmarks/link_shaper.py [--seconds 4] [--link 1.5/1/80 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

from linkshaper import Link, LinkShaper

MESSAGE = 7000
LINKS = ["1/0.5/100", "1.5/1/80", "2/1/80", "10/5/40"]


async def carry(link: Link, load: float, seconds: float) -> tuple[float, float, float]:
    """Offer ``load`` x the link's down rate for ``seconds``; returns (Mbit/s delivered over
    the sending time, median and last message transit in ms)."""
    assert link.down_bps is not None
    interval = MESSAGE * 8 / (link.down_bps * load)
    count = int(seconds / interval)

    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        start = time.monotonic()
        for n in range(count):
            writer.write(f"{time.time():.6f}".encode().ljust(MESSAGE, b"."))
            await asyncio.sleep(max(0.0, start + (n + 1) * interval - time.monotonic()))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(send, "127.0.0.1", 0)
    shaper = LinkShaper(link, "127.0.0.1", server.sockets[0].getsockname()[1])
    await shaper.start()
    transits, received, carried = [], 0, 0
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", shaper.port)
        start = time.monotonic()
        while received < count * MESSAGE and time.monotonic() - start < 4 * seconds + 30:
            try:
                message = await asyncio.wait_for(reader.readexactly(MESSAGE), 10)
            except (asyncio.IncompleteReadError, asyncio.TimeoutError):
                break
            received += MESSAGE
            transits.append((time.time() - float(message[:17])) * 1000)
            if time.monotonic() - start <= seconds:
                carried = received
        writer.close()
    finally:
        await shaper.stop()
        server.close()
        await server.wait_closed()
    return carried * 8 / seconds / 1e6, statistics.median(transits), transits[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per row (4)")
    parser.add_argument("--link", action="append", default=None, metavar="DOWN/UP/RTT")
    args = parser.parse_args(argv)
    links = [Link.parse(text) for text in args.link or LINKS]
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {MESSAGE} B messages, {args.seconds:g} s "
          f"per row\n")
    print("| link | offered | segments | carried Mbit/s | of the rate | transit p50 / last ms |")
    print("|---|---|---|---|---|---|")
    for link in links:
        if link is None:
            continue
        for load in (0.8, 1.2):
            for mss in (link.mss, None):
                shaped = dataclasses.replace(link, mss=mss)
                mbit, p50, last = asyncio.run(carry(shaped, load, args.seconds))
                rate = min(load, 1.0) * link.down_bps / 1e6
                print(f"| {link.label} | {load:g}x | {'loopback' if mss is None else mss} | "
                      f"{mbit:.2f} | {100 * mbit / rate:.0f} % | {p50:.0f} / {last:.0f} |",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
