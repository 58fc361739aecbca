"""Benchmark: the StreamViewer in real Chromium through a real JupyterLab, vs ipywidgets.Image.

What runs (all on 127.0.0.1, in this one run): a JupyterLab server (token made here, never
shown) over a temp dir holding a generated notebook; Debian Chromium (headless, Playwright)
logged in and driving that notebook as a person would (click a cell, Shift+Enter). Per size
(640x480, 1280x720; ``--quick``: 640x480 only) the notebook starts a sandbox whose test
pattern plays at 30 fps, then:

* ``viewer``: ``client.viewer(channel)`` on screen, measured for ``--seconds`` (adaptive:
  pass-through where the stream fits the link, else a re-encoded VP8 rung; ``--fixed``:
  ``adapt=False``, the stream's own video whatever the link; ``--start-rung N``: start on
  rung N of the ladder, as for a link known to be small);
* ``viewer, cell busy``: the same while another cell runs ``time.sleep(10)``;
* ``viewer, RTP loss``: the sandbox drops 30 % of the stream's RTP packets for 2 s (between
  the stream server and the kernel, as a lossy path to a real STN would): how long after the
  loss ends the first picture captured after it is painted (recovery), the longest time
  without a new picture, and the rung steps the loss caused (none is right: the link to the
  browser did not change);
* ``viewer, fixed JPEG``: a new ``client.viewer(channel, transport="jpeg", adapt=False)``
  (the kernel decodes and sends JPEG q80, the path before pass-through), measured for
  ``--seconds``;
* ``naive Image``: the viewer closed, a cell loops ``image.value = jpeg(frame)`` on an
  ``ipywidgets.Image`` (simplejpeg q80, the viewer's encoder and quality) for ``--seconds``;
* ``reference: WebRTC <video>``: no Jupyter at all, Chromium's own WebRTC stack plays the same
  sandbox stream in a ``<video>`` (``tests/browser/pages/stn.html``, the STN viewer exchange):
  what the media path alone delivers to a browser on this machine.

Measured in the page (``tests/browser/pages/bench_probe.js``, injected with addInitScript, the
widget's code untouched): every picture painted (the viewer's drawImage onto its canvas; the
Image's new src once decoded, on the next animation frame; the video's frames as
requestVideoFrameCallback presents them), with the frame counter and
capture time the sandbox stamps into the pixels. Painted fps = distinct frames painted per
second. Glass-to-glass = paint time (``Date.now()`` in the page) - capture time (the sandbox's
``time.time()`` when it drew the frame, before VP8 encode): both read the same system clock of
this one machine, so no offset is applied; the page's ``performance.timeOrigin + now()`` (the
clock of the widget's own paint acks) is reported as its offset from ``Date.now()``. Kernel
CPU = user+system time of the ipykernel process over the window / wall time (100 % = one core;
it holds the aiortc receive + VP8 decode, the rgb conversion, JPEG encode and comm sends; the
sandbox's own VP8 encode runs in its child process and is shown apart, as is Chromium).
"Other processes" is the machine's busy CPU (/proc/stat) minus this run's whole process tree:
the load other people put on this shared machine during the window (200 % = both cores).

With ``--link DOWN/UP/RTT`` (Mbit/s, Mbit/s, ms; repeatable, or a comma list such as
``loopback,10/5/40,2/1/80,1/0.5/100``) Chromium reaches JupyterLab through the project's
loopback link shaper (``tests/browser/linkshaper.py``: token-bucket rate and one-way delay per
direction, a bounded queue of 100 ms of the rate that holds the sender back when full), as a
remote user behind that link would; the kernel, the sandbox and the stream server stay on one
side of it. Each link gets its own notebook (and kernel); the WebRTC reference runs on loopback
only (its UDP media would not cross the shaper).

    .venv/bin/python benchmarks/browser.py [--quick] [--seconds 10] [--json out.json]
        [--link loopback,2/1/80] [--size 1280x720]
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from browserkit import (
    PAGES,
    JupyterServer,
    NotebookUI,
    PageServer,
    code_notebook,
    cpu_seconds,
    descendants,
    launch,
)
from linkshaper import Link, ShapedLink
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

GOALS = {"fps": 29.0, "p50": 80.0, "p95": 150.0, "busy_fps": 25.0, "cpu": 35.0}
BLOCK_SECONDS = 10
CELLS_PER_SIZE = 11  # cells_for's cells per size
LOSS = {"share": 0.3, "seconds": 2.0}


def cells_for(width: int, height: int, seconds: float, options: str = "") -> list[str]:
    """The notebook cells for one size: setup, stats, block, stats, RTP loss, stats, close,
    JPEG viewer, its stats and close, naive, cleanup."""
    jpeg_options = options.replace(", adapt=False", "")
    return [
        f"""import json, logging, os, time
import mezon_nb
_widgets_log = logging.getLogger("mezon_nb.widgets")
if not _widgets_log.handlers:  # once per kernel: the next size runs in the same kernel
    _log = logging.FileHandler("mezon_nb-kernel.log")  # the bench's temp dir: paths, rungs
    _log.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    _widgets_log.addHandler(_log)
    _widgets_log.setLevel(logging.INFO)
sandbox = mezon_nb.Sandbox.start(crowd=False, stream_size=({width}, {height}), stream_fps=30)
client = mezon_nb.connect(sandbox=sandbox)
viewer = client.viewer(sandbox.stream_channel_id{options})
display(viewer)
print("MZ-PIDS " + json.dumps({{"kernel": os.getpid(), "sandbox": sandbox.pid}}))""",
        'print("MZ-STATS " + json.dumps(viewer.get_stats()))',
        f"time.sleep({BLOCK_SECONDS})",
        'print("MZ-STATS " + json.dumps(viewer.get_stats()))',
        f"""print("MZ-LOSS-START", time.time())
sandbox.control("drop_packets", share={LOSS['share']}, seconds={LOSS['seconds']})
for _ in range(400):                                   # 20 s at most
    if not sandbox.control("state")["stream"]["loss"]["active"]:
        break
    time.sleep(0.05)
print("MZ-LOSS-END", time.time())""",
        'print("MZ-STATS " + json.dumps(viewer.get_stats()))',
        "viewer.close()",
        f"""viewer = client.viewer(sandbox.stream_channel_id, transport="jpeg", adapt=False{jpeg_options})
display(viewer)""",
        'print("MZ-STATS " + json.dumps(viewer.get_stats()))\nviewer.close()',
        f"""import ipywidgets, simplejpeg
image = ipywidgets.Image(format="jpeg", layout={{"width": "{width}px"}})
display(image)
session = client.join_stream(sandbox.stream_channel_id)
end = time.monotonic() + {seconds + 4}
with session.frames(buffer=1) as frames:
    for frame in frames:
        image.value = simplejpeg.encode_jpeg(frame.array, quality=80, colorspace="RGB")
        if time.monotonic() > end:
            break
session.leave()""",
        "client.close()\nsandbox.stop()",
    ]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


class Window:
    """CPU counters and the page's paint records over one measurement window."""

    def __init__(self, page, pids: dict[str, list[int]],
                 shaped: ShapedLink | None = None) -> None:
        self.page, self.pids = page, {**pids, "chromium": chromium_pids()}
        self.shaped = shaped
        self.links = {} if shaped is None else shaped.connection_bytes()
        self.page.evaluate("window.__mzProbe.paints = []; window.__mzProbe.misses = 0;"
                           " window.__mzProbe.arrivals = []")
        self.cpu = {name: self._cpu(p) for name, p in self.pids.items()}
        self.mine = set(descendants(os.getpid())) | {os.getpid()}
        self.mine_cpu = {pid: self._cpu([pid]) for pid in self.mine}
        self.machine = machine_busy()
        self.start = time.monotonic()
        self.began = time.time()

    @staticmethod
    def _cpu(pids: list[int]) -> float:
        total = 0.0
        for pid in pids:
            try:
                total += cpu_seconds(pid)
            except OSError:
                pass
        return total

    def finish(self, kind: str) -> dict:
        wall = time.monotonic() - self.start
        cpu = {name: round(100 * (self._cpu(p) - self.cpu[name]) / wall, 1) if p else None
               for name, p in self.pids.items()}
        mine = set(descendants(os.getpid())) | {os.getpid()}
        used = sum(self._cpu([pid]) - self.mine_cpu.get(pid, 0.0) for pid in mine)
        cpu["others"] = round(100 * max(0.0, machine_busy() - self.machine - used) / wall, 1)
        probe = self.page.evaluate("window.__mzProbe")
        paints = [p for p in probe["paints"] if p[0] == kind]
        frames = {p[3] for p in paints}
        latency = [p[4] for p in paints]
        begin = min((p[1] for p in paints), default=0.0)   # paint times, ms
        end = max((p[1] for p in paints), default=0.0)
        first = [p[4] for p in paints if p[1] - begin <= 10_000]
        last = [p[4] for p in paints if end - p[1] <= 10_000]
        offsets = [p[2] - p[1] for p in paints]
        return {
            "began": round(self.began, 3),          # epoch s: paints and arrivals count from it
            "seconds": round(wall, 2), "painted": len(frames),
            "fps": round(len(frames) / wall, 1),
            "p50": percentile(latency, 50), "p95": percentile(latency, 95),
            "max": max(latency) if latency else None,
            "unreadable_stamps": probe["misses"],
            # latency growth: median of the last 10 s of paints less that of the first 10 s
            "growth_ms": (round(statistics.median(last) - statistics.median(first), 1)
                          if first and last and wall >= 30 else None),
            "clock_offset_ms": round(statistics.median(offsets), 2) if offsets else None,
            "cpu": cpu,
            "connections": self._connections(),
            # every paint: ms since the window began, the picture's frame index, its age (ms)
            "paints": [[round(p[1] - 1000 * self.began), p[3], p[4]] for p in paints],
            # every frame message as the page got it: ms since the window began, the frame's
            # id, ms since the kernel sent it, bytes
            "arrivals": [[round(a[0] - 1000 * self.began), a[1], round(a[0] - a[2]), a[3]]
                         for a in probe["arrivals"]],
        }


    def _connections(self) -> list[tuple[int, int]] | None:
        """kB (down, up) that each connection moved through the shaped link in this window,
        busiest first (the viewer's WebSocket should be most of it)."""
        if self.shaped is None:
            return None
        moved = []
        for key, (up, down) in self.shaped.connection_bytes().items():
            up0, down0 = self.links.get(key, (0, 0))
            if down - down0 or up - up0:
                moved.append((round((down - down0) / 1e3), round((up - up0) / 1e3)))
        return sorted(moved, reverse=True)


def recovery(page, kind: str, start: float, end: float) -> dict:
    """From the paints recorded since the last Window: ms from ``end`` (s, the loss's end) to
    the paint of the first picture captured after it, and the longest wait for a new picture
    from ``start`` until then (ms)."""
    paints = sorted((p for p in page.evaluate("window.__mzProbe.paints") if p[0] == kind),
                    key=lambda p: p[1])
    after = next((p for p in paints if p[1] - p[4] > end * 1000.0), None)
    until = after[1] if after is not None else max((p[1] for p in paints), default=end * 1e3)
    times = [start * 1000.0] + [p[1] for p in paints if start * 1000.0 <= p[1] <= until]
    return {"recovery_ms": None if after is None else round(after[1] - end * 1000.0),
            "frozen_ms": round(max(b - a for a, b in itertools.pairwise(times)))
            if len(times) > 1 else None}


def chromium_pids() -> list[int]:
    """Every Chromium process this run started (browser, renderers, GPU/utility helpers)."""
    pids = []
    for pid in descendants(os.getpid()):
        try:
            if b"chromium" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            pass
    return pids


def run_webrtc(browser, size: tuple[int, int], seconds: float) -> dict:
    """The reference without Jupyter: Chromium's own WebRTC stack plays the sandbox's stream
    in a <video> (tests/browser/pages/stn.html, the STN viewer exchange)."""
    import mezon_nb

    pages = PageServer()
    try:
        with mezon_nb.Sandbox.start(crowd=False, stream_size=size, stream_fps=30) as sandbox, \
                mezon_nb.connect(sandbox=sandbox) as client:
            context = browser.new_context()
            context.set_default_timeout(30_000)
            context.add_init_script(path=str(PAGES / "bench_probe.js"))
            try:
                page = context.new_page()
                page.goto(pages.url + "/stn.html")
                page.evaluate(f"window.__mzSourceHeight = {size[1]}")
                auth = client.session()
                cid = sandbox.stream_channel_id
                page.evaluate("o => stnView(o)", {
                    "url": client.stream_url, "token": auth.token, "userId": str(auth.user_id),
                    "clanId": str(client.channel(cid).clan_id), "channelId": cid})
                time.sleep(3)
                window = Window(page, {"kernel": [], "sandbox": [sandbox.pid]})
                time.sleep(seconds)
                return window.finish("video")
            finally:
                context.close()
    finally:
        pages.stop()


def parse_links(values: list[str] | None) -> list[Link | None]:
    """``--link`` values (each maybe a comma list) as links; ``None`` is loopback."""
    texts = [t for value in values or ["loopback"] for t in value.split(",") if t.strip()]
    return [Link.parse(text) for text in texts]


def wait_quiet(shaped: ShapedLink, link: Link, limit: float = 180.0) -> float | None:
    """Wait until the page stops loading through ``shaped``: at most 5 % of the link's
    downstream rate moved in the last 3 s (JupyterLab keeps fetching chunks after the notebook
    shows, and the next size's viewer would share the link with them). Seconds waited, or
    ``None`` if the link stayed busy for ``limit`` s."""
    began = time.monotonic()
    history = [shaped.stats()["bytes_down"]]
    while time.monotonic() - began < limit:
        time.sleep(1.0)
        history = (history + [shaped.stats()["bytes_down"]])[-4:]
        if len(history) == 4 and history[-1] - history[0] <= 0.05 * 3 * link.down_bps / 8:
            return round(time.monotonic() - began, 1)
    return None


def run_link(browser, server: JupyterServer, link: Link | None, notebook: str,
             sizes: list[tuple[int, int]], seconds: float, naive_loop: bool = True) -> list[dict]:
    """Every size in ``notebook`` (its own kernel), Chromium reaching ``server`` over ``link``."""
    label = "loopback" if link is None else link.label
    port = int(server.url.rsplit(":", 1)[1])
    shaped = None if link is None else ShapedLink(link, "127.0.0.1", port)
    url = server.url if shaped is None else shaped.url
    runs = []
    context = browser.new_context(viewport={"width": 1500, "height": 1400})
    try:
        context.set_default_timeout(30_000 if link is None else 120_000)
        context.add_init_script(path=str(PAGES / "bench_probe.js"))
        page = context.new_page()
        print(f"[{label}] opening JupyterLab ...", file=sys.stderr, flush=True)
        opened = time.monotonic()
        server.login(page, url)
        ui = NotebookUI(page, server, notebook, "lab", url=url, timeout=300)
        load = round(time.monotonic() - opened, 1)

        def reopen() -> NotebookUI:
            return NotebookUI(page, server, notebook, "lab", url=url, timeout=300)

        page.keyboard.press("Control+b")  # hide the file browser: more room
        for index, size in enumerate(sizes):
            quiet = None if shaped is None else wait_quiet(shaped, link)
            print(f"[{label}] measuring {size[0]}x{size[1]} ...", file=sys.stderr, flush=True)
            run, ui = run_size(ui, CELLS_PER_SIZE * index, seconds, size,
                               None if link is None else reopen, shaped, naive_loop)
            run.update(link=label, lab_load_s=load, kernel_picker=ui.kernel_picked,
                       link_quiet_s=quiet)
            runs.append(run)
        if shaped is not None:
            runs[-1]["shaper"] = shaped.stats()
    finally:
        context.close()
        if shaped is not None:
            shaped.stop()
        for session in server.api("GET", "/api/sessions"):  # this link's kernel goes
            if session.get("path") == notebook:
                server.api("DELETE", f"/api/sessions/{session['id']}")
    return runs


def run_size(ui: NotebookUI, first: int, seconds: float, size: tuple[int, int],
             reopen: Callable[[], NotebookUI] | None = None, shaped: ShapedLink | None = None,
             naive_loop: bool = True) -> tuple[dict, NotebookUI]:
    """One size's windows; returns the results and the notebook's UI (a new one if the page
    had to be reopened after the naive loop)."""
    page = ui.page
    (setup, stats1, block, stats2, loss, stats3, close, jpeg, jpeg_stats, naive,
     cleanup) = range(first, first + CELLS_PER_SIZE)
    out = ui.run(setup, timeout=90)
    pids = json.loads(re.search(r"MZ-PIDS (\{.*\})", out).group(1))
    who = {"kernel": [pids["kernel"]], "sandbox": [pids["sandbox"]]}
    page.evaluate(f"window.__mzSourceHeight = {size[1]}")  # the stamp's scale, if resized
    viewer = page.locator(".mz-viewer").last
    viewer.scroll_into_view_if_needed()
    status = viewer.locator(".mz-status")
    deadline = time.monotonic() + 30
    while status.get_attribute("data-state") != "live" and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # warm-up: first keyframe, the encoder's rate control, the ack window
    results: dict = {"size": f"{size[0]}x{size[1]}"}

    viewer.scroll_into_view_if_needed()
    window = Window(page, who, shaped)
    time.sleep(seconds)
    results["viewer"] = window.finish("viewer")
    stats = ui.run(stats1, timeout=180)
    results["viewer"]["widget_stats"] = json.loads(stats.split("MZ-STATS ", 1)[1])

    ui.start(block)
    viewer.scroll_into_view_if_needed()
    window = Window(page, who, shaped)
    time.sleep(BLOCK_SECONDS - 1.5)
    results["busy"] = window.finish("viewer")
    ui.wait_done(block, timeout=BLOCK_SECONDS + 30)
    stats = ui.run(stats2, timeout=180)
    results["busy"]["widget_stats"] = before = json.loads(stats.split("MZ-STATS ", 1)[1])

    window = Window(page, who, shaped)
    ui.start(loss)                      # selecting the cell may scroll the viewer away
    viewer.scroll_into_view_if_needed()
    ui.wait_done(loss, timeout=60)
    out = ui.output_text(loss)
    start, end = (float(re.search(rf"MZ-LOSS-{w} ([\d.]+)", out).group(1))
                  for w in ("START", "END"))
    time.sleep(3)                       # the recovery, and what follows it
    results["loss"] = {**window.finish("viewer"), **recovery(page, "viewer", start, end)}
    stats = ui.run(stats3, timeout=180)
    after = json.loads(stats.split("MZ-STATS ", 1)[1])
    results["loss"]["widget_stats"] = after
    results["loss"]["caused"] = {k: (after.get(k) or 0) - (before.get(k) or 0)
                                 for k in ("steps_down", "keyframe_requests")}
    ui.run(close, timeout=180)

    ui.run(jpeg, timeout=60)
    viewer = page.locator(".mz-viewer").last
    viewer.scroll_into_view_if_needed()
    time.sleep(3)
    window = Window(page, who, shaped)
    time.sleep(seconds)
    results["jpeg"] = window.finish("viewer")
    stats = ui.run(jpeg_stats, timeout=180)
    results["jpeg"]["widget_stats"] = json.loads(stats.split("MZ-STATS ", 1)[1])

    if not naive_loop:
        ui.run(cleanup, timeout=60)
        return results, ui
    ui.start(naive)
    image = page.locator("img.widget-image").last
    show_s = 30 if reopen is None else 90
    try:
        image.wait_for(timeout=show_s * 1000)
    except PlaywrightTimeoutError:  # recorded as a row: the later runs still go
        results["naive"] = {"failed": f"no picture within {show_s} s"}
    else:
        image.scroll_into_view_if_needed()
        time.sleep(2)
        window = Window(page, who, shaped)
        time.sleep(seconds)
        results["naive"] = window.finish("image")
    if reopen is not None:
        # Without flow control the naive loop queued far more than a slow link carries (tens
        # of MB, minutes to drain) in front of every later message: reload the page, which
        # drops that WebSocket and its backlog; the kernel and its variables stay.
        ui = reopen()
        results["naive"]["backlog_dropped"] = True
    else:
        ui.wait_done(naive, timeout=seconds + 60)
    ui.run(cleanup, timeout=60)
    return results, ui


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def machine() -> dict:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                                  check=False,
                                  timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [line[3:] for line in git("status", "--porcelain", "mezon_nb").splitlines()]
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "load": os.getloadavg(), "commit": git("rev-parse", "--short", "HEAD").strip(),
            "uncommitted": dirty}


def table(runs: list[dict], info: dict, end_load: tuple) -> str:
    def ms(v):
        return "–" if v is None else f"{v:.0f}"

    def pct(v):
        return "–" if v is None else v

    lines = [
        (f"Date {info['date']}; {info['nproc']} cores, {info['cpu']}; load average "
         f"(1/5/15 min) {'/'.join(f'{x:.2f}' for x in info['load'])} at start, "
         f"{'/'.join(f'{x:.2f}' for x in end_load)} at end; commit {info['commit']}"
         + (f" plus uncommitted changes in {', '.join(info['uncommitted'])}"
            if info["uncommitted"] else "") + "."),
        "",
        ("| link | size | method | painted fps | glass-to-glass p50 / p95 / max ms | kernel CPU % "
         "| sandbox CPU % | Chromium CPU % | other processes CPU % | widget's own numbers |"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        for key, label in (("viewer", "StreamViewer"), ("busy", "StreamViewer, cell busy"),
                           ("loss", (f"StreamViewer, {LOSS['share']:.0%} RTP loss for "
                                     f"{LOSS['seconds']:g} s")),
                           ("jpeg", "StreamViewer, fixed JPEG"),
                           ("naive", "naive ipywidgets.Image loop"),
                           ("webrtc", "reference: WebRTC <video>, no Jupyter")):
            r = run.get(key)
            if r is None:
                continue
            if "failed" in r:
                lines.append(f"| {run.get('link', 'loopback')} | {run['size']} | {label} | – "
                             f"| {r['failed']} | – | – | – | – | – |")
                continue
            ws = r.get("widget_stats")
            own = (f"{ws.get('path')}, fps {ws['fps']}, comm {ws.get('comm_kbps')} kbit/s, "
                   f"rung {ws.get('rung')} (down {ws.get('steps_down')}, up "
                   f"{ws.get('steps_up')}), keyframe requests {ws.get('keyframe_requests')}, "
                   f"expired {ws['expired']}" if ws else "–")
            if "caused" in r:
                own += (f"; first picture after the loss painted "
                        f"{ms(r['recovery_ms'])} ms after it ended, longest wait "
                        f"{ms(r['frozen_ms'])} ms, steps down {r['caused']['steps_down']}, "
                        f"keyframe requests {r['caused']['keyframe_requests']}")
            if r.get("growth_ms") is not None:
                own += f"; latency growth first→last 10 s {r['growth_ms']:+.0f} ms"
            lines.append(
                f"| {run.get('link', 'loopback')} | {run['size']} | {label} | {r['fps']} | "
                f"{ms(r['p50'])} / {ms(r['p95'])} / {ms(r['max'])} | {pct(r['cpu']['kernel'])} | {r['cpu']['sandbox']} | "
                f"{r['cpu']['chromium']} | {r['cpu']['others']} | {own} |")
    lines.append("")
    big = next((r for r in runs if r["size"] == "1280x720"
                and r.get("link", "loopback") == "loopback"), None)
    if big is not None:
        v, b = big["viewer"], big["busy"]
        checks = [
            ("720p30 painted >= 29 fps", v["fps"] >= GOALS["fps"], f"{v['fps']}"),
            ("latency p50 <= 80 ms", (v["p50"] or 1e9) <= GOALS["p50"], ms(v["p50"])),
            ("latency p95 <= 150 ms", (v["p95"] or 1e9) <= GOALS["p95"], ms(v["p95"])),
            (">= 25 fps during a blocking cell", b["fps"] >= GOALS["busy_fps"], f"{b['fps']}"),
            ("<= 35 % of a core per stream (kernel)", v["cpu"]["kernel"] <= GOALS["cpu"],
             f"{v['cpu']['kernel']}"),
        ]
        lines.append("Goals at 1280x720: " + "; ".join(
            f"{name}: {value} {'PASS' if ok else 'FAIL'}" for name, ok, value in checks) + ".")
    if any(run.get("naive", {}).get("backlog_dropped") for run in runs):
        lines.append("Over shaped links the page was reloaded after the naive loop's window, "
                     "dropping the backlog it had queued (no flow control).")
    for run in runs:
        if "shaper" in run:
            moved = run["shaper"]
            quiet = ", ".join(
                f"{r['size']} " + ("not within 180 s" if r["link_quiet_s"] is None
                                   else f"{r['link_quiet_s']} s")
                for r in runs if r["link"] == run["link"])
            lines.append(f"Link {run['link']}: JupyterLab opened in {run['lab_load_s']} s "
                         f"(kernel picker answered: {run['kernel_picker'] or 'not shown'}); "
                         f"before each size the page's own traffic was waited out ({quiet}); "
                         f"{moved['bytes_down'] / 1e6:.1f} MB down, "
                         f"{moved['bytes_up'] / 1e6:.1f} MB up through the shaper.")
    misses = {f"{run['link']} {run['size']} {k}": run[k]["unreadable_stamps"] for run in runs
              for k in ("viewer", "busy", "loss", "jpeg", "naive", "webrtc")
              if run.get(k, {}).get("unreadable_stamps")}
    if misses:
        lines.append(f"Pictures painted whose stamp could not be read (not counted): {misses}.")
    offsets = [run[k]["clock_offset_ms"] for run in runs for k in ("viewer", "busy")
               if run[k]["clock_offset_ms"] is not None]
    if offsets:
        lines.append(f"performance.timeOrigin+now() - Date.now() in the page: "
                     f"{min(offsets):+.1f} .. {max(offsets):+.1f} ms (not applied).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="640x480 only, 4 s windows")
    parser.add_argument("--seconds", type=float, default=None, help="measurement window (10)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--size", action="append", default=None, metavar="WxH",
                        help="measure only this size (repeatable; default 640x480 and 1280x720)")
    parser.add_argument("--max-in-flight", type=int, default=None,
                        help="StreamViewer(max_in_flight=N) instead of the library default")
    parser.add_argument("--link", action="append", default=None, metavar="DOWN/UP/RTT",
                        help="Mbit/s, Mbit/s, ms through the link shaper, or loopback "
                             "(repeatable or comma-separated; default loopback)")
    parser.add_argument("--fixed", action="store_true",
                        help="StreamViewer(adapt=False): no adaptive bitrate")
    parser.add_argument("--start-rung", type=int, default=None, metavar="N",
                        help="StreamViewer(start_rung=N): start on that rung of the ladder")
    parser.add_argument("--no-naive", action="store_true",
                        help="leave out the naive ipywidgets.Image loop")
    args = parser.parse_args(argv)
    try:
        links = parse_links(args.link)
    except ValueError as exc:
        parser.error(str(exc))
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    sizes = [(640, 480)] if args.quick else [(640, 480), (1280, 720)]
    if args.size:
        sizes = [tuple(int(n) for n in s.lower().split("x")) for s in args.size]

    from playwright.sync_api import sync_playwright

    info = machine()
    cells: list[str] = []
    for size in sizes:
        cells += cells_for(*size, seconds, ("" if args.max_in_flight is None
                                            else f", max_in_flight={args.max_in_flight}")
                           + (", adapt=False" if args.fixed else "")
                           + ("" if args.start_rung is None
                              else f", start_rung={args.start_rung}"))
    root = Path(tempfile.mkdtemp(prefix="mezon-nb-bench-"))
    print(f"notebooks and the kernel's log (mezon_nb-kernel.log) in {root}", file=sys.stderr)
    notebooks = []
    for index in range(len(links)):
        notebooks.append(f"bench{index}.ipynb")
        (root / notebooks[-1]).write_text(json.dumps(code_notebook(cells)))
    server = JupyterServer(root)
    runs: list[dict] = []
    failed: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                for link, notebook in zip(links, notebooks):
                    try:
                        runs += run_link(browser, server, link, notebook, sizes, seconds,
                                         not args.no_naive)
                    except Exception as exc:  # noqa: BLE001 - the other links still run
                        traceback.print_exc()
                        failed.append(f"{'loopback' if link is None else link.label}: "
                                      f"{type(exc).__name__}")
                for run, size in zip([r for r in runs if r["link"] == "loopback"], sizes):
                    print(f"measuring {size[0]}x{size[1]} over WebRTC ...", file=sys.stderr,
                          flush=True)
                    run["webrtc"] = run_webrtc(browser, size, seconds)
            finally:
                browser.close()
    finally:
        server.stop()
    for name in ("max_in_flight", "start_rung"):
        if getattr(args, name) is not None:
            print(f"StreamViewer({name}={getattr(args, name)})")
    print(table(runs, info, os.getloadavg()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "runs": runs}, indent=1))
    if failed:
        print(f"Not measured (see the traceback above): {'; '.join(failed)}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
