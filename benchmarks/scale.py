"""Benchmark: the participant log past memory — the Parquet archive and DuckDB on N events.

Writes N synthetic join/leave events in time order (10^8 a year: N/10^8 of a year of 40
channels in 4 clans, 200k users, sessions of ~20 min, the last ones left open) in chunks of ~1M
straight into an archive, with the code a roll runs (the event files, then the session cache:
the sessions each chunk closes; the ingest rules are not timed), then, each phase in its own
process so its peak RSS is its own, on 2 threads:

* archive write rate (events/s, event files and session cache; generating the events is not
  timed), and the event files' rate alone;
* reopen: ``ParticipantLog(archive=...)`` (state + empty tail) and ``close()``;
* ``summary()`` (peak concurrency and when included) with DuckDB ``memory_limit='2GB'``;
* ``sessions()`` of one channel and one week;
* peak RSS of the DuckDB process;
* baseline in the same run: N/10 events, ``summary()`` by the in-memory log (events loaded
  into its columns, not timed) against DuckDB on an archive of the same N/10 events.

Targets (N = 10^8; the time budgets scale linearly with N down to their 10^7 values, below
which fixed costs (process start, query planning) dominate; rates, ratio and memory do not):
write >= 1M events/s; reopen <= 5 s; summary + peak <= 60 s with peak RSS <= 3 GB; one
channel-week sessions <= 2 s; at N/10, DuckDB within 2x of the in-memory log. Exits 1 when a
target fails; the last line is the verdict.

    .venv/bin/python benchmarks/scale.py --events 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from mezon_nb.analytics import ParticipantLog, schema
from mezon_nb.analytics.archive import ArchiveState, EventArchive, snapshot_ids
from mezon_nb.analytics.session_cache import SessionState, advance
from mezon_nb.analytics.store import ColumnStore, Snapshot

T0 = pd.Timestamp("2026-01-01", tz="UTC").value
YEAR = 365 * 86_400 * 10**9
USERS, CHANNELS, CLANS = 200_000, 40, 4
CHUNK = 1_000_000
_JOINED, _LEFT = schema.KINDS.index("joined"), schema.KINDS.index("left")


def tables() -> dict[str, list[str]]:
    """The id tables: snowflake-sized ids, as the log keeps them."""
    return {"clan_id": [str(1_840_651_530_100_000_000 + i) for i in range(CLANS)],
            "channel_id": [str(1_840_651_530_200_000_000 + i) for i in range(CHANNELS)],
            "user_id": [str(1_840_651_530_300_000_000 + i) for i in range(USERS)],
            "participant": [f"viewer{i}" for i in range(USERS)]}


def stream(total: int, ids: dict) -> Iterator[Snapshot]:
    """``total`` events in time order, in chunks of about ``CHUNK``: chunk ``i`` holds the
    joins of its slice of time (10^8 events a year), n/2 sessions, and the leaves that fall in
    it (each ~20 min after its join, so some come in the next chunk; those past the end are
    left out: open)."""
    end_all = T0 + YEAR * total // 10**8
    late = np.empty((3, 0), np.int64)   # leaves (time, user, channel) for later chunks
    chunks = -(-total // CHUNK)
    for i in range(chunks):
        rng = np.random.default_rng(i)
        half = min(CHUNK, total - i * CHUNK) // 2
        start = T0 + YEAR * (i * CHUNK) // 10**8
        stop = end_all if i == chunks - 1 else T0 + YEAR * ((i + 1) * CHUNK) // 10**8
        joined = start + np.sort(rng.integers(0, stop - start, half)) // 1000 * 1000
        left = joined + rng.exponential(20 * 60e9, half).astype(np.int64) // 1000 * 1000
        user = rng.integers(0, USERS, half)
        channel = rng.integers(0, CHANNELS, half)
        leaves = np.concatenate([late, np.stack([left, user, channel])[:, left < end_all]], 1)
        now = leaves[0] < stop
        late = leaves[:, ~now]
        t = np.concatenate([joined, leaves[0, now]])
        order = np.argsort(t, kind="stable")
        kind = np.concatenate([np.full(half, _JOINED, np.int8),
                               np.full(int(now.sum()), _LEFT, np.int8)])
        users = np.concatenate([user, leaves[1, now]]).astype(np.int32)[order]
        channels = np.concatenate([channel, leaves[2, now]]).astype(np.int32)[order]
        codes = {"clan_id": channels % CLANS, "channel_id": channels, "user_id": users,
                 "participant": users}
        yield Snapshot(t[order], kind[order], np.zeros(len(t), np.int8), codes, ids,
                       np.arange(CHANNELS, dtype=np.int32), [f"ch{c}" for c in range(CHANNELS)])


def write(root: Path, total: int) -> dict:
    """Write ``total`` events into a new archive as rolls do (event files, then the sessions
    they close); returns rows and seconds spent writing, in all and for event files alone."""
    archive, ids = EventArchive(root), tables()
    rows, took, files, last, cache = 0, 0.0, 0.0, None, SessionState()
    for snap in stream(total, ids):
        began = time.perf_counter()
        values = snapshot_ids(snap)
        archive.write(snap, rows, values)
        files += time.perf_counter() - began
        done, cache = advance(snap, rows, cache, values)
        archive.write_sessions(done, rows)
        took += time.perf_counter() - began
        rows += len(snap.time)
        last = max(last or 0, int(snap.time.max()))
    channels = {ids["channel_id"][c]: (ids["clan_id"][c % CLANS], f"ch{c}", c)
                for c in range(CHANNELS)}
    archive.commit(ArchiveState(rolled=rows, last_time=last, clans=ids["clan_id"],
                                sessions=cache.as_dict()), channels)
    assert cache.valid, "the synthetic stream is in time order: the cache must follow it"
    return {"rows": rows, "write_s": took, "files_s": files}


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def phase_duckdb(root: Path, n: int) -> dict:
    from mezon_nb.analytics.outofcore import ArchiveAnalytics
    began = time.perf_counter()
    ParticipantLog(archive=root).close()
    reopen = time.perf_counter() - began
    with ArchiveAnalytics(root, memory_limit="2GB", threads=2) as db:
        began = time.perf_counter()
        summary = db.summary()
        summary_s = time.perf_counter() - began
        channel = tables()["channel_id"][7]
        week = pd.Timestamp(T0, tz="UTC") + pd.Timedelta(days=int(180 * min(n / 1e8, 1)))
        began = time.perf_counter()
        week_sessions = db.sessions(channel_id=channel, start=week,
                                    end=week + pd.Timedelta(days=7))
        week_s = time.perf_counter() - began
    return {"reopen_s": reopen, "summary_s": summary_s, "week_s": week_s,
            "week_sessions": len(week_sessions), "peak": int(summary["peak_viewers"].max()),
            "sessions": int(summary["sessions"].sum()), "rss_gb": rss_gb()}


def phase_memory(total: int) -> dict:
    ids, store = tables(), ColumnStore()
    rows = 0
    for snap in stream(total, ids):
        store.extend_codes(snap.time, snap.kind, snap.source, snap.codes, ids)
        rows += len(snap.time)
    log = ParticipantLog()
    log._store = store  # loaded straight into the columns: ingest is not what is measured
    for c in range(CHANNELS):
        log.describe_channels({ids["channel_id"][c]: (ids["clan_id"][c % CLANS], f"ch{c}")})
    began = time.perf_counter()
    summary = log.summary()
    return {"summary_s": time.perf_counter() - began, "rows": rows,
            "sessions": int(summary["sessions"].sum()), "rss_gb": rss_gb()}


def run_phase(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         check=False,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    if out.returncode:
        sys.exit(f"phase {' '.join(args)} failed:\n{out.stderr[-3000:]}\nverdict: FAILED")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=float, default=1e8)
    parser.add_argument("--phase", choices=["write", "duckdb", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = int(args.events)
    if args.phase == "write":
        print(json.dumps(write(Path(args.dir), n)))
        return 0
    if args.phase == "duckdb":
        print(json.dumps(phase_duckdb(Path(args.dir), n)))
        return 0
    if args.phase == "memory":
        print(json.dumps(phase_memory(n)))
        return 0

    scale, small = max(n / 1e8, 0.1), max(n // 10, 2)
    with tempfile.TemporaryDirectory(prefix="mezon-scale-") as tmp:
        big, little = Path(tmp, "big"), Path(tmp, "small")
        w = run_phase("--phase", "write", "--dir", str(big), "--events", str(n))
        size = sum(p.stat().st_size for p in (big / "events").rglob("*.parquet")) / 2**30
        cached = sum(p.stat().st_size for p in (big / "sessions").rglob("*.parquet")) / 2**30
        d = run_phase("--phase", "duckdb", "--dir", str(big), "--events", str(n))
        run_phase("--phase", "write", "--dir", str(little), "--events", str(small))
        ds = run_phase("--phase", "duckdb", "--dir", str(little), "--events", str(small))
        m = run_phase("--phase", "memory", "--events", str(small))
        shutil.rmtree(big, ignore_errors=True)
    rate, files_rate = w["rows"] / w["write_s"], w["rows"] / w["files_s"]
    ratio = ds["summary_s"] / m["summary_s"]
    checks = [
        ("archive write rate", f"{rate / 1e6:.2f} M events/s (files {files_rate / 1e6:.2f})",
         rate >= 1e6, ">= 1 M/s"),
        ("reopen", f"{d['reopen_s']:.2f} s", d["reopen_s"] <= 5 * scale, f"<= {5 * scale:.2f} s"),
        ("summary + peak (DuckDB, 2GB)", f"{d['summary_s']:.1f} s", d["summary_s"] <= 60 * scale,
         f"<= {60 * scale:.1f} s"),
        ("peak RSS (DuckDB process)", f"{d['rss_gb']:.2f} GB", d["rss_gb"] <= 3, "<= 3 GB"),
        ("sessions, one channel-week", f"{d['week_s']:.2f} s ({d['week_sessions']} rows)",
         d["week_s"] <= 2 * scale, f"<= {2 * scale:.2f} s"),
        (f"summary at {small:.0e}: DuckDB / memory",
         f"{ds['summary_s']:.2f} s / {m['summary_s']:.2f} s = {ratio:.2f}x", ratio <= 2, "<= 2x"),
    ]
    print(f"participant log at scale: {w['rows']:,} events ({size:.2f} GiB of Parquet, session "
          f"cache {cached:.2f} GiB), "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"  sessions {d['sessions']:,}, peak viewers {d['peak']}; in-memory baseline RSS "
          f"{m['rss_gb']:.2f} GB at {m['rows']:,} events")
    width = max(len(c[0]) for c in checks)
    for name, value, ok, target in checks:
        print(f"  {name:<{width}}  {value:<36} {target:<12} {'ok' if ok else 'FAIL'}")
    assert d["sessions"] > 0 and ds["sessions"] == m["sessions"], "engines disagree"
    failed = [c[0] for c in checks if not c[2]]
    print("verdict: " + ("all targets met" if not failed else "FAILED: " + ", ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
