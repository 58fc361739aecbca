"""notebooks/01-quickstart.ipynb in a real JupyterLab and a real Notebook 7, in Chromium.

For each UI (JupyterLab, Notebook 7) and each sandbox codec (VP8, and H.264: the notebook's
``Sandbox.start`` gets ``stream_codec="h264"`` in the copy): a Jupyter server on 127.0.0.1 over
a temp root holding a copy of the notebook (plus cells of ours before the clean-up cell: a
probe that prints what the kernel's viewer and sessions say, a second display of the viewer,
and a packet loss), a token made here and typed into the login form only. The test runs every
cell above the probe from the Run menu, then asserts from the page:

* the StreamViewer's picture changes (the stamped frame counter advances, screenshots of its
  canvas differ), its overlay shows a frame rate and ``webcodecs vp8`` / ``webcodecs h264``
  (pass-through, nothing decoded in the kernel), its status is live and no cell shows an
  exception;
* the participants panel counts more than 0 viewers;
* scrolled out of sight: once the kernel knows, it sends not one frame while it receives 15
  more; back in sight it plays on;
* the sandbox drops 30 % of the video packets for 2 s, lost for good (``drop_packets``): every
  picture the browser paints meanwhile and after (each one's stamp corner is recorded by an
  init script as it is drawn) reads back, in order, and one captured after the loss is painted;
* a second view of the viewer, opened mid-stream, paints a stamped picture, and the decoder of
  the first one was not configured again for the keyframe that brought (one configure per
  decoder, more keyframes than decoders);
* re-running the viewer cell while it plays leaves one live session in the kernel, not two;
* Leave stops the picture (across two later probe cells the kernel sent nothing, the stamped
  frame counter stands still, screenshots match) and leaves no live session, no open peer
  connection and no open VideoDecoder in the page;
* the clean-up cell runs without error and stops the sandbox child process.

Progress, not rates: every wait is for something to happen (bounded), never a fixed sleep
followed by a count, so the test holds on a busy machine. Screenshots go to the browser
artifacts folder (a temp dir, see browserkit); ``MEZON_NB_UPDATE_DOCS=1`` also refreshes the
curated docs/viewer.png (viewer and participants panel) from the JupyterLab run.

Not covered: frame rates and latency as numbers (benchmarks/browser.py), other notebooks,
Colab/VS Code frontends, a widget saved and reloaded without a kernel, a hidden browser tab
(headless Chromium does not hide one; the viewer treats it as out of sight).
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from browserkit import (
    REPO,
    JupyterServer,
    NotebookUI,
    descendants,
    pixel_difference,
    png_array,
    save,
    wait_for,
)

from mezon_nb.media import Stamp, read_stamp

pytestmark = pytest.mark.browser

NOTEBOOK = REPO / "notebooks" / "01-quickstart.ipynb"
PROBE = """\
# browser-test probe (added by tests/browser to its temp copy; not part of the tutorial)
import gc as _gc, json as _json
from mezon_nb.media import StreamSession as _Session
_live = [s for s in _gc.get_objects()  # type(), not isinstance(): dead weak proxies
         if issubclass(type(s), _Session) and s.state not in ("closed", "ended", "error")]
from aiortc import RTCPeerConnection as _PC
_peers = [p for p in _gc.get_objects()
          if issubclass(type(p), _PC) and p.connectionState != "closed"]
_viewer = globals().get("viewer")
_stats = _viewer.get_stats() if _viewer is not None else {}
_joined = getattr(_viewer, "session", None)
print("MZ-PROBE " + _json.dumps({"sessions": len(_live), "peers": len(_peers), **{
    k: _stats.get(k) for k in ("sent", "acked", "ack_messages", "skipped", "path",
                               "decode_errors")},
    "visible": _viewer._mz_pump.flow.visible if _viewer is not None else None,
    "views": sorted(_viewer._mz_pump._views) if _viewer is not None else None,
    "in_flight": _viewer._mz_pump.flow.in_flight if _viewer is not None else None,
    "expired": _viewer._mz_pump.flow.stats.expired if _viewer is not None else None,
    "received": _joined.stats.frames_received if _joined else None,
    "decoded": _joined.stats.frames_decoded if _joined else None}))
"""
SECOND_VIEW = """\
# browser-test: the same viewer displayed a second time, mid-stream (added by tests/browser)
viewer
"""
LOSS = """\
# browser-test: the sandbox drops 30 % of the video packets for 2 s (added by tests/browser)
import time as _time
sandbox.control("drop_packets", share=0.3, seconds=2)
for _ in range(400):                       # 20 s at most
    if not sandbox.control("state")["stream"]["loss"]["active"]:
        break
    _time.sleep(0.05)
print("MZ-LOSS-END", _time.time())
"""
RUNG = """\
# browser-test: a new viewer that starts on re-encoded rung 2 (VP8 x0.75) of a link that is in
# fact wide, so the controller probes up to pass-through (added by tests/browser)
viewer.close()
viewer = client.viewer(sandbox.stream_channel_id, start_rung=2)
display(viewer)
"""
#: Init script: records the stamp corner (green channel) of every picture drawn on a viewer's
#: canvas while ``window.__mzPaints`` is a list, with the canvas size and the CSS width it is
#: shown at (a re-encoded rung is smaller than the stream); counts VideoDecoders and their
#: configure() and keyframe decode() calls; ``window.__mzDiag`` counts image decodes started and
#: settled and keeps the last intersection an observer saw (for failure messages).
RECORDER = """(() => {
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  window.__mzPaints = null;
  let canvases = 0;
  CanvasRenderingContext2D.prototype.drawImage = function (...args) {
    const out = draw.apply(this, args);
    const c = this.canvas, rec = window.__mzPaints;
    if (rec && c.classList && c.classList.contains("mz-canvas") && rec.length < 5000) {
      c.dataset.mzRecorded = c.dataset.mzRecorded || String(++canvases);
      const side = Math.max(8, Math.floor(c.height / 45));
      const { data } = this.getImageData(0, 0, 10 * side, 6 * side);
      let green = "";
      for (let i = 1; i < data.length; i += 4) green += String.fromCharCode(data[i]);
      rec.push({ canvas: c.dataset.mzRecorded, height: c.height, width: c.width,
                 shown: parseFloat(c.style.width) || c.width, side, green: btoa(green),
                 at: Date.now() });
    }
    return out;
  };
  // for the failure message: image decodes started and settled, the last intersection seen
  const diag = window.__mzDiag = { bitmaps: 0, settled: 0, intersecting: null, seen: 0 };
  const bitmap = window.createImageBitmap;
  window.createImageBitmap = function (...args) {
    diag.bitmaps += 1;
    const done = () => { diag.settled += 1; };
    const out = bitmap.apply(this, args);
    out.then(done, done);
    return out;
  };
  const Observer = window.IntersectionObserver;
  window.IntersectionObserver = class extends Observer {
    constructor(callback, options) {
      super((entries, observer) => {
        diag.seen += 1;
        diag.intersecting = entries[entries.length - 1].isIntersecting;
        return callback(entries, observer);
      }, options);
    }
  };
  if (typeof VideoDecoder !== "undefined") {
    const Base = VideoDecoder;
    window.__mzDecoders = [];
    window.__mzCounts = { configure: 0, keys: 0, repeated: 0 };
    window.VideoDecoder = class extends Base {
      constructor(init) { super(init); window.__mzDecoders.push(this); }
      configure(config) {
        const c = window.__mzCounts, key = JSON.stringify(config);
        c.configure += 1;
        if (key === this.__mzLast) c.repeated += 1;   // the same configuration again
        this.__mzLast = key;
        return super.configure(config);
      }
      decode(chunk) { if (chunk.type === "key") window.__mzCounts.keys += 1;
                      return super.decode(chunk); }
    };
  }
})();"""


def prepare(root: Path, codec: str | None = None) -> dict:
    """Copy the notebook into ``root`` with our cells (probe, second view, loss) before the
    clean-up cell, its sandbox streaming in ``codec`` if given; returns the cell indexes the
    test needs."""
    nb = json.loads(NOTEBOOK.read_text())
    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    source = ["".join(nb["cells"][i]["source"]) for i in range(len(nb["cells"]))]
    viewer = next(i for i in code if re.search(r"\.viewer\(", source[i]))
    panel = next(i for i in code if re.search(r"\.participants_panel\(", source[i]))
    start = next(i for i in code if "Sandbox.start(" in source[i])
    cleanup = code[-1]
    assert "close()" in source[cleanup], "the quickstart's last code cell should clean up"
    if codec is not None:
        text = source[start].replace("Sandbox.start(", f"Sandbox.start(stream_codec={codec!r}, ")
        nb["cells"][start]["source"] = text.splitlines(keepends=True)
    ours = [{"cell_type": "code", "execution_count": None, "id": f"browser-test-{name}",
             "metadata": {}, "outputs": [], "source": text.splitlines(keepends=True)}
            for name, text in (("probe", PROBE), ("second-view", SECOND_VIEW), ("loss", LOSS),
                               ("rung", RUNG))]
    nb["cells"][cleanup:cleanup] = ours
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (root / NOTEBOOK.name).write_text(json.dumps(nb, indent=1))
    return {"viewer": viewer, "panel": panel, "probe": cleanup, "second_view": cleanup + 1,
            "loss": cleanup + 2, "rung": cleanup + 3, "cleanup": cleanup + 4,
            "first_code": code[0],
            "last_above": max(i for i in code if i < cleanup)}


def probe(ui: NotebookUI, index: int, timeout: float = 30) -> dict:
    text = ui.run(index, timeout=timeout)
    match = re.search(r"MZ-PROBE (\{.*\})", text)
    assert match, f"probe printed {text!r}"
    return json.loads(match.group(1))


def overlay_fps(page) -> float | None:
    text = page.locator(".mz-viewer .mz-overlay").first.text_content() or ""
    match = re.search(r"([\d.]+) fps", text)
    return float(match.group(1)) if match else None


def canvas_stamp(page, nth: int = 0) -> int | None:
    """The frame counter stamped in the picture the ``nth`` viewer canvas holds now (its own
    pixels, read with toDataURL, so the overlay on top does not matter)."""
    url = page.locator(".mz-viewer .mz-canvas").nth(nth).evaluate(
        "c => c.toDataURL('image/png')")
    stamp = read_stamp(png_array(base64.b64decode(url.split(",", 1)[1])))
    return None if stamp is None else stamp.index


def painted(page) -> list[tuple[str, Stamp | None]]:
    """(canvas, stamp or None) of each picture drawn since the last call, as RECORDER saw it.

    The stamp is read at the size the picture is shown at: a rung re-encoded at ×0.75 holds
    the stream's stamp at ×0.75 too, so its corner is scaled back up (nearest pixel) first."""
    records = page.evaluate("() => { const r = window.__mzPaints || [];"
                            " window.__mzPaints = window.__mzPaints && []; return r; }")
    out = []
    for r in records:
        side = r["side"]
        corner = np.frombuffer(base64.b64decode(r["green"]), np.uint8).reshape(6 * side, -1)
        scale = r["shown"] / r["width"]
        height = round(r["height"] * scale)
        if scale != 1:
            corner = corner[_nearest(corner.shape[0], scale)][:, _nearest(corner.shape[1], scale)]
        image = np.zeros((max(height, corner.shape[0]), corner.shape[1]), np.uint8)
        image[:corner.shape[0]] = corner
        out.append((r["canvas"], read_stamp(image, now=r["at"] / 1000)))
    return out


def _nearest(length: int, scale: float) -> np.ndarray:
    """The source index of each pixel of ``length`` pixels scaled by ``scale`` (nearest)."""
    return np.minimum((np.arange(round(length * scale)) / scale).astype(int), length - 1)


def canvas_shot(page) -> bytes:
    """A screenshot of the viewer's canvas, the overlay text masked (it changes on its own:
    viewer counts)."""
    canvas = page.locator(".mz-viewer .mz-canvas").first
    canvas.scroll_into_view_if_needed()
    return canvas.screenshot(mask=[page.locator(".mz-viewer .mz-overlay")])


def next_different_shot(page, previous: bytes, timeout: float = 30) -> bytes | None:
    """The first canvas screenshot that differs from ``previous`` (within ``timeout`` s)."""
    before = png_array(previous)

    def changed() -> bytes | None:
        shot = canvas_shot(page)
        return shot if pixel_difference(png_array(shot), before) > 1.0 else None

    return wait_for(changed, timeout, 0.2)


@pytest.fixture(scope="module")
def quickstart():
    assert NOTEBOOK.is_file(), f"{NOTEBOOK.relative_to(REPO)} is missing from this checkout"
    return NOTEBOOK


@pytest.fixture
def opened(chromium, quickstart, tmp_path, request):
    """A function ``(ui_name) -> (ui, cells, server, page_errors)``: a Jupyter server over a
    temp copy of the notebook, logged in, the notebook open and run above the probe cell.
    Everything it started is stopped at teardown."""
    started = []

    def open_(ui_name, init_script=None, codec=None):
        root = tmp_path / "root"
        root.mkdir()
        cells = prepare(root, codec)
        server = JupyterServer(root, log_path=tmp_path / "jupyter.log")
        context = chromium.new_context(viewport={"width": 1280, "height": 1000})
        context.add_init_script(RECORDER)
        if init_script:
            context.add_init_script(init_script)
        started.append((context, server))
        context.set_default_timeout(30_000)
        page_errors: list[str] = []
        page = context.new_page()
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        server.login(page)
        ui = NotebookUI(page, server, NOTEBOOK.name, ui_name)
        assert len(wait_for(server.kernel_pids, 30)) == 1
        # Notebook 7.6.5 itself throws "Cannot read properties of undefined (reading 'schema')"
        # while its page loads (with or without our notebook): count errors from here on.
        page_errors.clear()
        # Run everything above the probe (the tutorial minus its clean-up), from the menu.
        ui.run_all_above(cells["probe"], cells["first_code"])
        ui.wait_done(cells["last_above"], timeout=150)
        assert ui.errors() == []
        return ui, cells, server, page_errors

    yield open_
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for context, server in started:
        if failed:
            for n, page in enumerate(context.pages):
                save(f"FAILED_{request.node.name}_{n}.png", page.screenshot())
            save(f"FAILED_{request.node.name}_kernel_stacks.txt",
                 server.kernel_stacks().encode())
        context.close()
        server.stop()
        if failed:
            log = tmp_path / "jupyter.log"
            if log.exists():
                text = log.read_bytes().replace(server.token.encode(), b"<token>")
                save(f"FAILED_{request.node.name}_jupyter.log", text)


@pytest.mark.timeout(900)   # the bounded waits add up to more than the default 120 s
@pytest.mark.parametrize("codec", ["vp8", "h264"])
@pytest.mark.parametrize("ui_name", ["lab", "notebook"])
def test_quickstart_runs_and_plays(opened, ui_name, codec):
    ui, cells, server, page_errors = opened(ui_name, codec=None if codec == "vp8" else codec)
    page = ui.page
    kernels = server.kernel_pids()

    viewer = page.locator(".mz-viewer").first
    viewer.scroll_into_view_if_needed()
    status = viewer.locator(".mz-status")
    assert wait_for(lambda: status.get_attribute("data-state") == "live", 20), \
        status.text_content()
    if not wait_for(lambda: (overlay_fps(page) or 0) > 0, 60):          # it reports a rate
        pytest.fail(f"overlay {page.locator('.mz-viewer .mz-overlay').first.text_content()!r} "
                    f"(load average {os.getloadavg()}); page {page.evaluate('window.__mzDiag')}"
                    f"; kernel {probe(ui, cells['probe'])}")
    assert wait_for(lambda: canvas_stamp(page) is not None, 30), "no stamped picture"
    first = canvas_stamp(page)
    shots = [canvas_shot(page)]
    for _ in range(2):
        shots.append(next_different_shot(page, shots[-1]))
        assert shots[-1] is not None, "the picture did not change"
    assert wait_for(lambda: canvas_stamp(page) > first, 30), "the frame counter stood still"
    assert png_array(shots[0]).shape[0] > 100 and png_array(shots[0]).std() > 10, \
        "the canvas is blank"
    save(f"quickstart_{ui_name}_{codec}_canvas.png", shots[-1])
    cell_shot = ui.cell(cells["viewer"]).screenshot()
    save(f"quickstart_{ui_name}_{codec}_viewer_cell.png", cell_shot)

    panel = page.locator(".mz-panel").first
    panel.scroll_into_view_if_needed()
    count = panel.locator("b").first
    assert wait_for(lambda: int(count.text_content() or 0) > 0, 20), panel.text_content()
    save(f"quickstart_{ui_name}_{codec}_panel.png", panel.screenshot())
    if ui_name == "lab" and codec == "vp8" and os.environ.get("MEZON_NB_UPDATE_DOCS") == "1":
        docs_picture(page, ui, cells)
    save(f"quickstart_{ui_name}_{codec}_page.png", page.screenshot())

    # Scrolled out of sight, the viewer sends nothing; back in sight, it plays on.
    before = wait_for(lambda: (p := probe(ui, cells["probe"]))["acked"] > 20 and p, 90, 0.5)
    assert before and before["sessions"] == 1, before
    # the browser batches its acks (each message costs the page a kernel status round): fewer
    # messages than frames acknowledged (how many per message depends on the browser's speed)
    assert before["ack_messages"] < before["acked"] + before["skipped"], before
    # the stream's own video goes to WebCodecs, and the kernel decodes nothing for it (on a
    # machine so busy that the browser drops frames the controller may try a re-encoded rung
    # first: it probes back within seconds)
    before = wait_for(lambda: (p := probe(ui, cells["probe"]))["path"] == f"webcodecs {codec}"
                      and p, 60, 0.5) or probe(ui, cells["probe"])
    assert before["path"] == f"webcodecs {codec}" and before["decode_errors"] == 0, before
    assert f"webcodecs {codec}" in (page.locator(".mz-viewer .mz-overlay").first.text_content()
                                    or "")
    decoded = before["decoded"]
    assert viewer.evaluate("e => { const r = e.getBoundingClientRect();"
                           " return r.bottom < 0 || r.top > innerHeight; }"), "still on screen"
    # markers: the kernel knows no view is on screen; then it receives 15 more frames (1 s of
    # stream, however long they take) and sends not one of them
    hidden = wait_for(lambda: (p := probe(ui, cells["probe"]))["visible"] is False and p, 30, 0.5)
    assert hidden, "the kernel was not told that the viewer went out of sight"
    after = wait_for(lambda: (p := probe(ui, cells["probe"]))["received"]
                     >= hidden["received"] + 15 and p, 60, 0.5)
    assert after, "the kernel received no more frames"
    assert after["sent"] == hidden["sent"], f"sent frames off screen: {hidden} -> {after}"
    assert after["decoded"] == decoded, "the kernel decoded frames nobody in Python takes"
    viewer.scroll_into_view_if_needed()
    resumed = canvas_stamp(page)
    assert wait_for(lambda: (canvas_stamp(page) or 0) > (resumed or 0) + 5, 10), \
        "the picture did not resume on screen"

    # Packet loss: every picture painted meanwhile and after reads back, in order, and the
    # picture comes back (a frame captured after the loss is painted).
    page.evaluate("() => { window.__mzPaints = []; }")
    ui.start(cells["loss"])                 # selecting the cell scrolled the viewer away
    viewer.scroll_into_view_if_needed()
    ui.wait_done(cells["loss"], timeout=60)
    text = ui.output_text(cells["loss"])
    loss_end = float(re.search(r"MZ-LOSS-END ([\d.]+)", text).group(1))
    seen: list[tuple[str, Stamp | None]] = []

    def recovered() -> bool:
        seen.extend(painted(page))
        return any(s is not None and s.captured_at > loss_end for _, s in seen)

    decoders = "() => [window.__mzCounts, window.__mzDecoders.map(d => d.state)]"
    assert wait_for(recovered, 30, 0.3), (
        f"no picture after the loss ({len(seen)} painted; kernel {probe(ui, cells['probe'])}; "
        f"decoders {page.evaluate(decoders)})")
    moving = max(s.index for _, s in seen if s is not None)
    assert wait_for(lambda: (seen.extend(painted(page)) or True) and any(
        s is not None and s.index > moving + 5 for _, s in seen), 30, 0.3), "it stopped again"
    page.evaluate("() => { window.__mzPaints = null; }")
    assert seen and all(s is not None for _, s in seen), \
        f"{sum(s is None for _, s in seen)} of {len(seen)} painted pictures are damaged"
    indexes = [s.index for _, s in seen]
    assert indexes == sorted(indexes), "pictures painted out of order"

    # A second view of the same viewer, opened mid-stream, starts on a keyframe and paints.
    ui.run(cells["second_view"], timeout=60)
    second = page.locator(".mz-viewer").nth(1)
    second.scroll_into_view_if_needed()
    assert wait_for(lambda: canvas_stamp(page, 1) is not None, 30), "the new view paints nothing"
    counts = page.evaluate("() => ({...window.__mzCounts, decoders: window.__mzDecoders.length})")
    # a decoder is configured again only for another configuration (a rung of another size),
    # not for each keyframe (the start, the loss and the new view brought some)
    assert counts["repeated"] == 0 and counts["decoders"] <= counts["configure"] \
        < counts["keys"], counts

    # Re-running the viewer cell while it plays must not leave the first session behind.
    ui.run(cells["viewer"], timeout=60)
    viewer = page.locator(".mz-viewer").first
    status = viewer.locator(".mz-status")
    viewer.scroll_into_view_if_needed()
    assert wait_for(lambda: status.get_attribute("data-state") == "live", 20)
    moving = canvas_stamp(page)
    assert wait_for(lambda: (canvas_stamp(page) or 0) > (moving or 0) + 5, 10), \
        "the new viewer's picture does not move"
    assert probe(ui, cells["probe"])["sessions"] == 1, "re-running the cell leaked a session"

    # Leave stops the picture and the session.
    viewer.scroll_into_view_if_needed()
    viewer.locator(".mz-leave").click()
    assert wait_for(lambda: status.get_attribute("data-state") == "idle", 30), \
        status.text_content()
    # Markers, not sleeps: each probe's output comes after every frame sent before it (one
    # IOPub channel); between the three probes the kernel sent nothing, and the frames sent
    # before the first one were drawn while the second ran.
    left = probe(ui, cells["probe"])
    assert left["sessions"] == 0 and left["received"] is None and left["peers"] == 0, left
    assert probe(ui, cells["probe"])["sent"] == left["sent"]
    before, still = canvas_stamp(page), png_array(canvas_shot(page))
    assert probe(ui, cells["probe"])["sent"] == left["sent"], "frames sent after Leave"
    assert canvas_stamp(page) == before, "the picture moves after Leave"
    assert pixel_difference(still, png_array(canvas_shot(page))) < 0.5, \
        "the picture moves after Leave"
    assert page.evaluate("() => window.__mzDecoders.filter(d => d.state !== 'closed').length")\
        == 0, "a VideoDecoder is still open after Leave"

    # The tutorial's own clean-up.
    sandbox_children = [p for k in kernels for p in descendants(k)
                        if b"mezon_nb.sandbox" in _cmdline(p)]
    assert sandbox_children, "the notebook's sandbox runs in a child of the kernel"
    ui.run(cells["cleanup"], timeout=60)
    assert ui.errors() == []
    assert wait_for(lambda: not any(Path(f"/proc/{p}").exists() for p in sandbox_children),
                    10), "sandbox.stop() left its child process running"
    assert page_errors == []


def docs_picture(page, ui: NotebookUI, cells: dict) -> None:
    """docs/viewer.png for the README: the viewer cell down to the participants panel."""
    page.set_viewport_size({"width": 1280, "height": 1700})
    try:
        ui.cell(cells["viewer"]).evaluate("e => e.scrollIntoView({block: 'start'})")
        wait_for(lambda: (overlay_fps(page) or 0) >= 28, 30)   # a representative moment, if any
        top = ui.cell(cells["viewer"]).bounding_box()
        bottom = ui.cell(cells["panel"]).bounding_box()
        clip = {"x": top["x"], "y": top["y"], "width": top["width"],
                "height": min(bottom["y"] + bottom["height"], 1700) - top["y"]}
        (REPO / "docs").mkdir(exist_ok=True)
        (REPO / "docs" / "viewer.png").write_bytes(page.screenshot(clip=clip))
    finally:
        page.set_viewport_size({"width": 1280, "height": 1000})


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


@pytest.mark.timeout(600)   # the bounded waits below add up to more than the default 120 s
def test_rung_changes_paint_every_picture_readable_and_in_order(opened):
    """A viewer started on a re-encoded rung climbs to pass-through (the link is wide): the
    browser's decoder follows each change (another size, another bitstream) and every picture
    it paints on the way reads back at the size it is shown, newer than the one before."""
    ui, cells, _server, page_errors = opened("lab")
    page = ui.page
    page.evaluate("() => { window.__mzPaints = []; }")
    ui.run(cells["rung"], timeout=60)
    viewer = page.locator(".mz-viewer").last
    viewer.scroll_into_view_if_needed()
    overlay = viewer.locator(".mz-overlay")
    seen: list[tuple[str, Stamp | None]] = []
    paths: list[str] = []

    def on_path(*words: str) -> Callable[[], bool]:   # the overlay says it: no cell runs
        def check() -> bool:
            seen.extend(painted(page))
            text = overlay.text_content() or ""
            if not paths or paths[-1] != text:
                paths.append(text)
            return all(w in text for w in words)
        return check

    # the controller takes its start rung with the stream's first measured rate (its first
    # ack), then finds the link quiet and climbs
    assert wait_for(on_path("vp8 ", "×0.75"), 30, 0.2), f"never on rung 2: {paths}"
    assert wait_for(on_path("webcodecs vp8"), 120, 0.5), f"never back to pass-through: {paths}"
    moving = max((s.index for _, s in seen if s is not None), default=0)
    assert wait_for(lambda: (seen.extend(painted(page)) or True) and any(
        s is not None and s.index > moving + 15 for _, s in seen), 30, 0.3), "it stopped"
    page.evaluate("() => { window.__mzPaints = null; }")
    assert seen and all(s is not None for _, s in seen), \
        f"{sum(s is None for _, s in seen)} of {len(seen)} painted pictures do not read back"
    indexes = [s.index for _, s in seen if s is not None]
    assert indexes == sorted(indexes), "a picture painted after a newer one"
    counts = page.evaluate("() => window.__mzCounts")
    assert counts["configure"] >= 2 and counts["repeated"] == 0, counts   # x0.75, then x1
    stats = probe(ui, cells["probe"])
    assert stats["decode_errors"] == 0 and stats["sessions"] == 1, stats
    ui.run(cells["cleanup"], timeout=60)
    assert ui.errors() == [] and page_errors == []


NO_WEBCODECS = "delete window.VideoDecoder; delete window.EncodedVideoChunk;"


@pytest.mark.timeout(600)   # the bounded waits below add up to more than the default 120 s
@pytest.mark.parametrize("ui_name", ["lab", "notebook"])
def test_without_webcodecs_the_viewer_falls_back_to_jpeg_and_plays(opened, ui_name):
    """A browser without WebCodecs (an init script removes it): the kernel sends JPEG."""
    ui, cells, _server, page_errors = opened(ui_name, init_script=NO_WEBCODECS)
    page = ui.page
    viewer = page.locator(".mz-viewer").first
    viewer.scroll_into_view_if_needed()
    overlay = page.locator(".mz-viewer .mz-overlay").first
    # the JPEG path, at the quality the link and the browser's pace allow (q80 at the start)
    assert wait_for(lambda: "jpeg q" in (overlay.text_content() or ""), 30), \
        overlay.text_content()
    assert overlay_fps(page) is not None, overlay.text_content()  # the overlay shows its rate
    # Progress, not a rate: the painted stamp advances by 5 frames (bounded; on a loaded
    # machine the fallback has painted under one frame per 2 s, the overlay's window, for 45 s).
    moving = canvas_stamp(page)
    assert wait_for(lambda: (canvas_stamp(page) or 0) > (moving or 0) + 5, 60), \
        "the picture does not move"
    # the kernel decodes and encodes every frame here: on a loaded 2-core machine (Python 3.10
    # the slowest) a cell waits its turn for up to a minute
    stats = probe(ui, cells["probe"], timeout=120)
    assert stats["path"].startswith("jpeg q") and stats["decoded"] > 0, stats
    ui.run(cells["cleanup"], timeout=120)
    assert ui.errors() == [] and page_errors == []
