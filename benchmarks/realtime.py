"""Realtime throughput and latency: sandbox event bursts through the client into the DataFrame.

The sandbox's ``burst`` control emits N streaming join/leave events as fast as it can and
returns each one's emit time. For rising N we measure, for two receivers on the same machine:

* ``mezon_nb``: a logged-in ``AsyncClient``. An event counts as received when a ``client.on``
  callback sees it, which runs after the row was appended to ``client.participants`` (the
  DataFrame's source): emit → decode → dispatch → participant log → callback.
* ``baseline``: a bare ``websockets`` loop that joins the clan and only decodes Envelopes.

Events/s is N divided by the time from the first emit to the last arrival. Latency is arrival
minus emit (both ``time.time()`` on this machine).

Beside it, one RPC round trip (goal: p50 <= 2 ms on loopback): ``client.clans()`` (login
session, protobuf request, HTTP POST, decode into dataclasses) against a bare ``httpx`` POST of
the same request bytes on one kept-alive connection, ``--rpcs`` calls each. A sandbox reply
that waits on Nagle + delayed ACK shows here as ~40 ms in both columns.

    python benchmarks/realtime.py [--sizes 100 1000 10000] [--rpcs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

import httpx
from websockets.asyncio.client import connect as ws_connect

from mezon_nb.client import AsyncClient
from mezon_nb.client.realtime import socket_url
from mezon_nb.protocol import api_pb2, codec, realtime_pb2
from mezon_nb.sandbox import Sandbox

Arrivals = dict[str, float]


async def burst(sandbox: Sandbox, size: int, arrivals: Arrivals, timeout: float) -> dict:
    """Run one burst and wait until every event arrived; returns the figures."""
    reply = await asyncio.to_thread(sandbox.control, "burst", count=size)
    emitted = {e["id"]: e["time"] for e in reply["events"]}
    deadline = time.monotonic() + timeout
    while len(emitted.keys() & arrivals.keys()) < size and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    got = [arrivals[i] - t for i, t in emitted.items() if i in arrivals]
    first_emit = min(emitted.values())
    last_arrival = max((arrivals[i] for i in emitted if i in arrivals), default=first_emit)
    latencies = sorted(got)
    return {
        "received": len(got),
        "emit_rate": size / max(max(emitted.values()) - first_emit, 1e-9),
        "rate": len(got) / max(last_arrival - first_emit, 1e-9),
        "p50": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
    }


async def run_client(sandbox: Sandbox, sizes: list[int], timeout: float) -> list[dict]:
    arrivals: Arrivals = {}
    results = []
    async with AsyncClient(sandbox.bot_id, sandbox.bot_token, base_url=sandbox.api_url) as client:
        def note(event) -> None:
            arrivals[event.id] = time.time()

        client.on("streaming_joined", note)
        client.on("streaming_leaved", note)
        for size in sizes:
            rows_before = len(client.participants.events)
            result = await burst(sandbox, size, arrivals, timeout)
            result["rows"] = len(client.participants.events) - rows_before
            results.append(result)
    return results


def _event_id(envelope: realtime_pb2.Envelope) -> str | None:
    member = envelope.WhichOneof("message")
    if member in ("streaming_joined_event", "streaming_leaved_event"):
        return codec.id_str(getattr(envelope, member).id)
    return None


async def run_baseline(sandbox: Sandbox, sizes: list[int], timeout: float) -> list[dict]:
    arrivals: Arrivals = {}
    helper = AsyncClient(sandbox.bot_id, sandbox.bot_token, base_url=sandbox.api_url)
    try:
        session = await helper.session()  # just the login; the socket below is bare
    finally:
        await helper.close()
    async with ws_connect(socket_url(session), ping_interval=None, max_size=None,
                          compression=None) as ws:
        join = realtime_pb2.Envelope(cid=1, clan_join=realtime_pb2.ClanJoin(
            clan_id=codec.parse_id(sandbox.clan_id)))
        await ws.send(codec.encode_envelope(join))

        async def read(record: Callable[[str], None]) -> None:
            async for frame in ws:
                event_id = _event_id(codec.decode_envelope(frame))
                if event_id is not None:
                    record(event_id)

        reader = asyncio.create_task(read(lambda i: arrivals.__setitem__(i, time.time())))
        try:
            return [await burst(sandbox, size, arrivals, timeout) for size in sizes]
        finally:
            reader.cancel()


def _quantiles(seconds: list[float]) -> dict:
    ms = sorted(1000 * s for s in seconds)
    return {"p50": statistics.median(ms), "p99": ms[int(0.99 * (len(ms) - 1))]}


async def rpc_round_trips(sandbox: Sandbox, calls: int) -> tuple[dict, dict]:
    """``client.clans()`` and a bare httpx POST of the same RPC, ``calls`` times each."""
    async with AsyncClient(sandbox.bot_id, sandbox.bot_token, base_url=sandbox.api_url) as client:
        await client.login(realtime=False)
        ours = []
        for _ in range(calls):
            start = time.perf_counter()
            await client.clans()
            ours.append(time.perf_counter() - start)
        session = await client.session()
    body = api_pb2.ListClanDescRequest(limit=100).SerializeToString()
    headers = {"Authorization": f"Bearer {session.token}", "Content-Type": "application/proto",
               "Accept": "application/proto"}
    bare = []
    async with httpx.AsyncClient() as http:
        url = f"{session.api_url}/mezon.api.Mezon/ListClanDescs"
        for _ in range(calls):
            start = time.perf_counter()
            (await http.post(url, content=body, headers=headers)).raise_for_status()
            bare.append(time.perf_counter() - start)
    return _quantiles(ours), _quantiles(bare)


def rpc_table(calls: int, ours: dict, bare: dict) -> str:
    goal = "met" if ours["p50"] <= 2.0 else "MISSED"
    return (f"RPC round trip, {calls} calls (goal p50 <= 2 ms: {goal})\n"
            f"  client.clans()     p50 {ours['p50']:6.2f} ms   p99 {ours['p99']:6.2f} ms\n"
            f"  bare httpx POST    p50 {bare['p50']:6.2f} ms   p99 {bare['p99']:6.2f} ms")


def table(sizes: list[int], ours: list[dict], base: list[dict]) -> str:
    head = (f"{'burst':>7} {'emit ev/s':>10} | {'mezon_nb ev/s':>13} {'p50 ms':>7} {'p99 ms':>7}"
            f" {'rows':>6} | {'baseline ev/s':>13} {'p50 ms':>7} {'p99 ms':>7}")
    lines = [head, "-" * len(head)]
    for size, a, b in zip(sizes, ours, base):
        lines.append(f"{size:>7} {a['emit_rate']:>10.0f} | {a['rate']:>13.0f} {a['p50']:>7.1f} "
                     f"{a['p99']:>7.1f} {a['rows']:>6} | {b['rate']:>13.0f} {b['p50']:>7.1f} "
                     f"{b['p99']:>7.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="realtime event throughput and latency")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000, 20000])
    parser.add_argument("--timeout", type=float, default=60.0, help="per burst, seconds")
    parser.add_argument("--rpcs", type=int, default=300, help="RPC round trips to time")
    args = parser.parse_args()
    with Sandbox.start(seed=0, crowd=False) as sandbox:
        ours = asyncio.run(run_client(sandbox, args.sizes, args.timeout))
        base = asyncio.run(run_baseline(sandbox, args.sizes, args.timeout))
        rpc_ours, rpc_bare = asyncio.run(rpc_round_trips(sandbox, args.rpcs))
    print("Realtime events: sandbox burst -> socket -> (mezon_nb: dispatch + participant log)")
    print(table(args.sizes, ours, base))
    print(rpc_table(args.rpcs, rpc_ours, rpc_bare))
    lost = [(s, r["received"]) for s, r in zip(args.sizes, ours) if r["received"] < s]
    if lost:
        print("events missing (burst, received):", lost)


if __name__ == "__main__":
    main()
