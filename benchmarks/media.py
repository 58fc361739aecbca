"""Live-stream benchmark: viewer fps, latency (from frame stamps) and CPU; server fan-out.

Runs the sandbox's stream server (``mezon_nb.sandbox.stn.StreamServer``) in a child process
with a stub world, playing the stamped test pattern, and ``mezon_nb.media`` viewers in this
process. Two tables:

1. one viewer at 640x480, 1280x720, 1920x1080 (30 fps): per-viewer fps, latency p50/p95,
   viewer-process CPU and server CPU (CPU seconds per wall second, 100 % = one core); plus a
   720p row where the consumer reads ``frame.array`` (rgb24) for every frame, and the 720p
   baseline with aiortc's own jitter buffer (a frame waits for the next one's first packet)
   instead of ``mezon_nb.media.jitter`` (it leaves on its RTP marker bit);
2. fan-out at 1280x720 30 fps with 1, 5 and 10 viewers: the encode-once server against a
   baseline in the same run, plain aiortc ``MediaRelay`` (one encoder per viewer). So that the
   *server* is what is measured on a 2-core box, only the first viewer decodes (and gives the
   latency); the others receive, depacketize and count every frame but skip the VP8 decode;
3. the viewer side: 2 and 5 viewers that all decode, in this one process.

    python benchmarks/media.py --quick     # ~1 minute
    python benchmarks/media.py             # longer windows
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHANNEL = "6"
TOKEN = "bench-token"


# -- the server side (child process) --------------------------------------------------------

class BenchWorld:
    """Just enough of the sandbox world for the stream server."""

    bot_user_id = 1
    directory = SimpleNamespace(stream_channel_id=int(CHANNEL))

    def __init__(self, config: dict) -> None:
        self.config = config

    def authenticate_session(self, token: str) -> int | None:
        return 2 if token == TOKEN else None

    def channel(self, channel_id: int) -> SimpleNamespace:
        return SimpleNamespace(clan_id=1, channel_id=channel_id, label="bench", type=6,
                               clan_name="bench")

    def user_name(self, user_id: int) -> str:
        return "bench"

    def stream_join(self, *args: object) -> None: ...
    def stream_leave(self, *args: object) -> None: ...
    def stream_started(self, *args: object) -> None: ...
    def stream_ended(self, *args: object) -> None: ...


def relay_source(width: int, height: int, fps: float):
    """Baseline: raw pattern frames through aiortc's MediaRelay; each viewer's sender encodes."""
    from aiortc.contrib.media import MediaRelay

    from mezon_nb.core.pattern import TestPattern
    from mezon_nb.media.tracks import PacedVideoTrack, ToneTrack
    from mezon_nb.sandbox.stn.sources import Source

    pattern = TestPattern(width, height, fps)
    relay = MediaRelay()
    video = PacedVideoTrack(lambda i: pattern.video_frame(i, time.time()), fps)
    audio = ToneTrack(pattern)

    class RelayFanout:
        keyframe_requested = False

        def __init__(self, track):
            self.track = track

        def subscribe(self):
            return relay.subscribe(self.track, buffered=False)

        def request_keyframe(self, reason: str) -> None:
            """A viewer's PLI: each viewer's own aiortc encoder answers it."""

        def __len__(self) -> int:
            return 1

        def close(self) -> None:
            self.track.stop()

    source = Source()
    source.video, source.audio = RelayFanout(video), RelayFanout(audio)
    return source


def serve(width: int, height: int, fps: float, mode: str) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from mezon_nb.sandbox.stn import StreamServer
    from mezon_nb.sandbox.stn.server import offer_loopback_only
    from mezon_nb.sandbox.stn.sources import PatternSource

    offer_loopback_only()
    server = StreamServer(BenchWorld({"stream": False}))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        source = (PatternSource(width, height, fps) if mode == "encoded"
                  else relay_source(width, height, fps))
        server.go_live(CHANNEL, source, user_id=None)
        yield
        await server.stop()

    app = Starlette(routes=[Mount("/stn", routes=server.routes)], lifespan=lifespan)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    userver = uvicorn.Server(config)

    async def main():
        task = asyncio.create_task(userver.serve())
        while not userver.started:
            await asyncio.sleep(0.05)
        port = userver.servers[0].sockets[0].getsockname()[1]
        print(port, flush=True)
        await task

    asyncio.run(main())


# -- the viewer side --------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, width: int, height: int, fps: float, mode: str):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(width), str(height), str(fps), mode],
            stdout=subprocess.PIPE)
        self.url = f"ws://127.0.0.1:{int(self.proc.stdout.readline())}/stn"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def fake_client(url: str) -> SimpleNamespace:
    async def session():
        return SimpleNamespace(token=TOKEN, user_id="2")

    async def channel(cid):
        return SimpleNamespace(clan_id="1")

    return SimpleNamespace(stream_url=url, session=session, channel=channel)


class CountingDecoder:
    """Stands in for aiortc's decoder in "light" viewers: one tiny frame per encoded frame."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def decode(self, encoded_frame):
        import av

        if self.kind == "audio":
            return []
        frame = av.VideoFrame(16, 16, "yuv420p")
        frame.pts = encoded_frame.timestamp
        return [frame]


def decode_only_first(enabled: bool) -> None:
    """With ``enabled``, only the first viewer decodes; later ones count frames (see --help)."""
    import aiortc.rtcrtpreceiver as receiver
    from aiortc.codecs import get_decoder

    made = {"audio": 0, "video": 0}

    def pick(codec):
        kind = codec.mimeType.split("/")[0].lower()
        made[kind] += 1
        return CountingDecoder(kind) if enabled and made[kind] > 1 else get_decoder(codec)

    receiver.get_decoder = pick


def aiortc_jitter_buffer(enabled: bool) -> None:
    """With ``enabled``, viewers keep aiortc's own video jitter buffer (the baseline)."""
    from mezon_nb.media import jitter, subscriber

    subscriber.release_on_marker = (lambda receiver: False) if enabled else jitter.release_on_marker


def run_case(width: int, height: int, viewers: int, mode: str, seconds: float,
             rgb: bool = False, fps: float = 30, light: bool = False,
             aiortc_buffer: bool = False) -> dict:
    from mezon_nb.media import join_stream

    decode_only_first(light)
    aiortc_jitter_buffer(aiortc_buffer)
    server = Server(width, height, fps, mode)
    client = fake_client(server.url)
    sessions, records = [], []
    try:
        for _ in range(viewers):
            sessions.append(asyncio.run(join_stream(client, CHANNEL, timeout=30)))
        time.sleep(1.5)  # warm-up: ICE settled, first keyframes
        lock = threading.Lock()
        for session in sessions:
            rows: list[tuple[float, float | None]] = []
            records.append(rows)

            def keep(frame, rows=rows):
                if rgb:
                    frame.array  # noqa: B018 - the conversion is what is measured
                with lock:
                    rows.append((frame.received_at, frame.latency_ms))

            session.on_frame(keep)
        wall0, cpu0, srv0 = time.monotonic(), time.process_time(), cpu_seconds(server.proc.pid)
        time.sleep(seconds)
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        srv = cpu_seconds(server.proc.pid) - srv0
    finally:
        for session in sessions:
            session.leave()
        server.close()
    per_fps = [len(rows) / wall for rows in records]
    lat = sorted(l for rows in records for _, l in rows if l is not None)
    pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan"))
    return {"fps_min": min(per_fps), "fps_mean": statistics.mean(per_fps), "p50": pct(0.5),
            "p95": pct(0.95), "viewer_cpu": 100 * cpu / wall, "server_cpu": 100 * srv / wall}


def table(title: str, rows: list[tuple[str, dict]]) -> None:
    print(f"\n{title}")
    head = (f"{'case':<34}{'fps min':>8}{'fps avg':>8}{'lat p50':>9}{'lat p95':>9}"
            f"{'viewer CPU':>11}{'server CPU':>11}")
    print(head)
    print("-" * len(head))
    for name, r in rows:  # latency: stamped frames only (light viewers have none)
        print(f"{name:<34}{r['fps_min']:>8.1f}{r['fps_mean']:>8.1f}{r['p50']:>7.0f}ms"
              f"{r['p95']:>7.0f}ms{r['viewer_cpu']:>10.0f}%{r['server_cpu']:>10.0f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s windows instead of 8 s")
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        width, height, fps, mode = args.serve
        serve(int(width), int(height), float(fps), mode)
        return
    seconds = 3.0 if args.quick else 8.0
    print(f"mezon_nb media benchmark: {os.cpu_count()} CPUs (load average "
          f"{os.getloadavg()[0]:.1f} at start), {seconds:.0f} s windows, 30 fps pattern, VP8; "
          "CPU = CPU s per wall s (100 % = one core)")
    rows = []
    for width, height in ((640, 480), (1280, 720), (1920, 1080)):
        rows.append((f"1 viewer {width}x{height}", run_case(width, height, 1, "encoded", seconds)))
    rows.append(("1 viewer 1280x720, reads rgb24", run_case(1280, 720, 1, "encoded", seconds,
                                                            rgb=True)))
    rows.append(("1 viewer 1280x720, aiortc's buffer", run_case(1280, 720, 1, "encoded", seconds,
                                                               aiortc_buffer=True)))
    table("Single viewer (encode-once server)", rows)
    rows = []
    for viewers in (1, 5, 10):
        for mode, label in (("encoded", "encode once"), ("relay", "MediaRelay")):
            rows.append((f"{viewers:>2} viewers 720p, {label}",
                         run_case(1280, 720, viewers, mode, seconds, light=True)))
    table("Fan-out at 1280x720 30 fps: 1 decoding viewer + light viewers (server side)", rows)
    rows = [(f"{n} decoding viewers 720p, encode once",
             run_case(1280, 720, n, "encoded", seconds)) for n in (2, 5)]
    table("Viewer side: every viewer decodes (one process)", rows)


if __name__ == "__main__":
    main()
