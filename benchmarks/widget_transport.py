"""Benchmark: frames delivered through a real Jupyter server's websocket, StreamViewer vs naive.

What runs (all on 127.0.0.1, in this one run):

* ``jupyter server`` (jupyter_server, a random token) and, per case, a fresh ipykernel started
  through its REST API; this script is the frontend: a tornado websocket client on
  ``/api/kernels/<id>/channels`` (the legacy protocol: JSON text, binary frames for messages
  with buffers), i.e. the same path a browser's messages take. It is **not a browser**: "paint"
  is a JPEG decode (``mezon_nb.widgets.jpeg.decode``: simplejpeg) plus an optional sleep
  standing in for a slow browser.
* In the kernel a synthetic 30 fps publisher makes stamped frames (``mezon_nb.media``'s stamp,
  capture time drawn into the pixels) of the chosen size.
* ``viewer``: ``StreamViewer`` on that publisher; the frontend reports the view visible and acks
  the painted frames in batches as viewer.js does (at once on a ``flush`` frame, else 0.25 s on).
* ``viewer, cell busy``: the same while another cell runs ``time.sleep`` for the whole
  measurement (acks wait in the shell queue, so the kernel paces frames at the paint rate it
  measured before the cell: :mod:`mezon_nb.widgets.flow`); ``viewer, busy, subshell``: the
  frontend sends its acks on a kernel subshell, as JupyterLab >= 4.4 does.
* ``naive``: the loop people write by hand in a cell, ``for frame in frames: image.value =
  jpeg(frame)`` on an ``ipywidgets.Image`` (same JPEG encoder, bytes also as a binary buffer);
  the frontend just paints what arrives.

Per case: painted frames per second and delay (publisher stamp to paint, read from the decoded
pixels for both methods, p50/p95/max) over ``--seconds`` after a warm-up (1 s; 3 s of normal
play before a busy cell, as when one watches and then runs a cell), MB received, and
for the viewer the kernel's own share ("engine": publisher stamp to comm send, p50 ms; the
rest of the delay is IOPub, jupyter_server, the websocket and the frontend's decode).

    .venv/bin/python benchmarks/widget_transport.py [--seconds 6] [--slow-ms 60] [--busy-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from mezon_nb.media import read_stamp
from mezon_nb.widgets.jpeg import decode

ROOT = Path(__file__).resolve().parents[1]

SOURCE = """
import threading, time
import numpy as np
from mezon_nb.media import Frame, write_stamp

W, H, FPS = {width}, {height}, 30
_y, _x = np.mgrid[0:H, 0:W]
_base = np.stack([_x * 255 // W, _y * 255 // H, (_x + _y) // 4 % 256], -1).astype(np.uint8)
_noise = np.random.default_rng(0).integers(0, 255, (H // 4, W // 4, 3), dtype=np.uint8)

class Source:
    "A 30 fps stamped publisher with the StreamSession surface the widgets use."
    state, error, stats, channel_id = "live", None, None, "bench"

    def __init__(self):
        self.subs, self.latest, self.stop = [], None, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        i, t0 = 0, time.perf_counter()
        while not self.stop.is_set():
            img = np.roll(_base, 8 * i, axis=1)
            img[H // 4:H // 2, W // 4:W // 2] = np.roll(_noise, i, axis=0)
            now = time.time()
            write_stamp(img, i, captured_at=now)
            self.latest = Frame.from_array(img, index=i, captured_at=now)
            for fn in list(self.subs):
                fn(self.latest)
            i += 1
            time.sleep(max(0.0, t0 + i / FPS - time.perf_counter()))

    def on_frame(self, fn):
        self.subs.append(fn)
        return lambda: self.subs.remove(fn)

    listen_frames = on_frame  # what the widget pump follows

    def on_state(self, fn):
        return lambda: None

    def latest_frame(self, timeout=None):
        return self.latest

    def leave(self):
        self.stop.set()
"""

VIEWER = """
from mezon_nb.widgets import StreamViewer

class BenchClient:
    def streaming_channels(self, clan_id=None):
        return []
    def join_stream(self, channel_id, **options):
        return Source()

viewer = StreamViewer(BenchClient(), "bench")
display(viewer)
"""

NAIVE = """
import queue, ipywidgets
from mezon_nb.widgets.jpeg import encode

source, frames = Source(), queue.Queue(maxsize=4)

def keep_newest(frame):
    if frames.full():
        frames.get_nowait()
    frames.put(frame)

source.on_frame(keep_newest)
image = ipywidgets.Image(format="jpeg")
display(image)
end = time.time() + {seconds}
while time.time() < end:
    image.value = encode(frames.get(timeout=2).array, "image/jpeg")
source.leave()
"""


#: The viewer while another cell blocks the kernel for the whole measurement: acks queue up on
#: the shell channel, or (JupyterLab >= 4.4 style) arrive on a comm subshell.
BUSY = ("viewer, cell busy", "viewer, busy, subshell")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_binary(data: bytes) -> dict:
    """A legacy-protocol binary websocket message: count, offsets, JSON, buffers."""
    (count,) = struct.unpack("!I", data[:4])
    offsets = [*struct.unpack(f"!{count}I", data[4:4 + 4 * count]), len(data)]
    msg = json.loads(data[offsets[0]:offsets[1]])
    msg["buffers"] = [data[offsets[i]:offsets[i + 1]] for i in range(1, count)]
    return msg


class Frontend:
    """The scripted frontend on one kernel's websocket."""

    def __init__(self, ws, paint_s: float) -> None:
        self.ws, self.paint_s, self.session = ws, paint_s, uuid.uuid4().hex
        self.painted: list[tuple[float, float]] = []   # (painted_at, captured_at)
        self.received_bytes = 0
        self.viewer_comm: str | None = None
        self.subshell_id: str | None = None     # acks go there when set (JupyterLab >= 4.4)
        self.engine_ms: list[float] = []       # viewer only: publisher stamp -> comm send
        self.acks: list[list[float]] = []       # painted, not yet acknowledged (viewer.js's rule)
        self.ack_timer: asyncio.TimerHandle | None = None

    def send(self, msg_type: str, content: dict, channel: str = "shell",
             subshell_id: str | None = None) -> None:
        header = {"msg_id": uuid.uuid4().hex, "username": "bench", "session": self.session,
                  "msg_type": msg_type, "version": "5.3",
                  "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if subshell_id is not None:
            header["subshell_id"] = subshell_id
        self.ws.write_message(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                          "content": content, "channel": channel,
                                          "buffers": []}))

    def execute(self, code: str) -> None:
        self.send("execute_request", {"code": code, "silent": False, "store_history": False,
                                      "user_expressions": {}, "allow_stdin": False})

    def custom(self, content: dict) -> None:
        self.send("comm_msg", {"comm_id": self.viewer_comm,
                               "data": {"method": "custom", "content": content}},
                  subshell_id=self.subshell_id)

    async def run(self, until: float) -> None:
        while time.time() < until:
            try:
                raw = await asyncio.wait_for(self.ws.read_message(), until - time.time())
            except asyncio.TimeoutError:
                return
            if raw is None:
                raise RuntimeError("the kernel websocket closed")
            msg = parse_binary(raw) if isinstance(raw, bytes) else json.loads(raw)
            await self.handle(msg)

    async def handle(self, msg: dict) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "create_subshell_reply":
            self.subshell_id = content["subshell_id"]
        if kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))
        if kind == "comm_open" and "overlay" in content["data"].get("state", {}):
            self.viewer_comm = content["comm_id"]
            self.custom({"type": "visibility", "view": "bench", "visible": True})
        if kind != "comm_msg" or not msg["buffers"]:
            return
        data = content["data"]
        frame = data.get("content", {}) if data.get("method") == "custom" else None
        if data.get("method") == "update" and ["value"] not in data.get("buffer_paths", []):
            return
        payload = bytes(msg["buffers"][0])
        self.received_bytes += len(payload)
        pixels = decode(payload)
        if self.paint_s:
            await asyncio.sleep(self.paint_s)
        painted = time.time()
        if frame is not None and frame.get("captured_at"):
            self.engine_ms.append(frame["sent_at"] - frame["captured_at"] * 1000.0)
        stamp = read_stamp(pixels)
        if stamp is not None:
            self.painted.append((painted, stamp.captured_at))
        if frame is not None:
            self.acks.append([frame["id"], painted * 1000.0])
            if frame.get("flush"):
                self.flush_acks()
            elif self.ack_timer is None:
                self.ack_timer = asyncio.get_running_loop().call_later(0.25, self.flush_acks)

    def flush_acks(self) -> None:
        """Acknowledge the painted frames in one message, as viewer.js does."""
        if self.ack_timer is not None:
            self.ack_timer.cancel()
            self.ack_timer = None
        if self.acks:
            self.custom({"type": "acks", "view": "bench", "flushed_at": time.time() * 1000.0,
                         "painted": self.acks, "skipped": []})
            self.acks = []


class Server:
    """``jupyter server`` on loopback in a child process."""

    def __init__(self) -> None:
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.dir = tempfile.TemporaryDirectory()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.dir.name}", "--ServerApp.port_retries=0", "--allow-root"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.http = AsyncHTTPClient()

    async def api(self, method: str, path: str, body: dict | None = None) -> dict:
        request = HTTPRequest(f"http://127.0.0.1:{self.port}{path}", method=method,
                              headers={"Authorization": f"token {self.token}"},
                              body=None if body is None else json.dumps(body),
                              allow_nonstandard_methods=True)
        response = await self.http.fetch(request, raise_error=True)
        return json.loads(response.body) if response.body else {}

    async def ready(self, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while True:
            try:
                await self.api("GET", "/api/status")
                return
            except (OSError, HTTPClientError):
                if time.time() > deadline or self.process.poll() is not None:
                    raise RuntimeError("jupyter server did not start") from None
                await asyncio.sleep(0.2)

    async def kernel(self):
        kernel = await self.api("POST", "/api/kernels", {"name": "python3"})
        url = (f"ws://127.0.0.1:{self.port}/api/kernels/{kernel['id']}/channels"
               f"?token={self.token}")
        ws = await websocket_connect(url, max_message_size=64 << 20)
        ws.protocol.stream.set_nodelay(True)   # as browsers do
        return kernel["id"], ws

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.dir.cleanup()


async def case(server: Server, method: str, size: tuple[int, int], paint_ms: float,
               seconds: float) -> dict:
    kernel_id, ws = await server.kernel()
    frontend = Frontend(ws, paint_ms / 1000.0)
    try:
        code = SOURCE.format(width=size[0], height=size[1])
        frontend.execute(code)
        frontend.execute(NAIVE.format(seconds=seconds + 2) if method == "naive" else VIEWER)
        if "subshell" in method:
            frontend.send("create_subshell_request", {}, channel="control")
        deadline = time.time() + 60.0                     # kernel start, imports
        while not frontend.painted and time.time() < deadline:
            await frontend.run(time.time() + 0.1)
        # warm-up; before a busy cell long enough for the kernel to learn the paint rate
        await frontend.run(time.time() + (3.0 if "busy" in method else 1.0))
        if "busy" in method:
            frontend.execute(f"time.sleep({seconds + 2})")  # a cell blocks the main thread
        start, before = time.time(), len(frontend.painted)
        engine_before = len(frontend.engine_ms)
        bytes_before = frontend.received_bytes
        await frontend.run(start + seconds)
        window = frontend.painted[before:]
        delays = sorted((painted - captured) * 1000.0 for painted, captured in window)
        quantile = (lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
                    if delays else float("nan"))
        return {"method": method, "size": f"{size[0]}x{size[1]}", "paint_ms": paint_ms,
                "fps": len(window) / seconds,
                "p50": statistics.median(delays) if delays else float("nan"),
                "p95": quantile(0.95), "max": delays[-1] if delays else float("nan"),
                "mb_s": (frontend.received_bytes - bytes_before) / seconds / 1e6,
                "engine": (statistics.median(frontend.engine_ms[engine_before:])
                           if frontend.engine_ms[engine_before:] else float("nan"))}
    finally:
        if frontend.ack_timer is not None:
            frontend.ack_timer.cancel()
        ws.close()
        await server.api("DELETE", f"/api/kernels/{kernel_id}")


async def main(seconds: float, slow_ms: float, busy_only: bool = False) -> list[dict]:
    sizes = ((640, 480), (1280, 720))
    plan = [] if busy_only else [(method, size, paint_ms) for size in sizes
                                 for paint_ms in (0.0, slow_ms) for method in ("viewer", "naive")]
    plan += [(BUSY[0], size, paint_ms) for size in sizes for paint_ms in (0.0, slow_ms)]
    plan += [(BUSY[1], sizes[1], 0.0)]
    server = Server()
    try:
        await server.ready()
        await case(server, "viewer", (640, 480), 0.0, 1.0)   # warm the server and disk caches
        rows = []
        for method, size, paint_ms in plan:
            rows.append(await case(server, method, size, paint_ms, seconds))
            print_row(rows[-1])
        return rows
    finally:
        server.stop()


def print_row(row: dict) -> None:
    browser = "fast" if not row["paint_ms"] else f"slow {row['paint_ms']:.0f} ms"
    print(f"| {row['size']:>9} | {browser:>11} | {row['method']:>22} | {row['fps']:6.1f} | "
          f"{row['p50']:8.0f} | {row['p95']:8.0f} | {row['max']:8.0f} | {row['mb_s']:6.2f} | "
          f"{row['engine']:6.1f} |",
          flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per case")
    parser.add_argument("--slow-ms", type=float, default=60.0,
                        help="extra paint time of the 'slow browser' cases")
    parser.add_argument("--busy-only", action="store_true",
                        help="only the rows measured while a cell blocks the kernel")
    args = parser.parse_args()
    print("source: 30 fps stamped frames in the kernel; frontend: websocket client "
          "through jupyter_server (not a browser); delay = publisher stamp -> paint")
    print("|      size |     browser |                 method |    fps | p50 (ms) | p95 (ms) "
          "| max (ms) |   MB/s | engine |")
    print("|-----------|-------------|------------------------|--------|----------|----------"
          "|----------|--------|--------|")
    asyncio.run(main(args.seconds, args.slow_ms, args.busy_only))
