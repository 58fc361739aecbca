"""The viewer and the grid on the sandbox's real stream (aiortc, stamped test pattern).

The frontend is scripted (no browser): it acks frames as painted from its own thread, like a
JupyterLab frontend sending acks on a comm subshell. Not covered: a real browser's decode/paint.
"""

import threading
import time

import pytest
from widget_fakes import Frontend, poll_until, settle

from mezon_nb.media import read_stamp
from mezon_nb.widgets import StreamGrid

pytestmark = pytest.mark.media


class Painter(threading.Thread):
    """Acks every frame shortly after it arrives, until stopped."""

    def __init__(self, frontend: Frontend) -> None:
        super().__init__(daemon=True)
        self.frontend = frontend
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.frontend.paint_all()
            time.sleep(0.005)


def test_live_frames_reach_the_frontend_while_the_main_thread_blocks(real_client, sandbox):
    viewer = real_client.viewer(sandbox.stream_channel_id)
    frontend = Frontend(viewer)
    painter = Painter(frontend)
    try:
        frontend.show()
        painter.start()
        assert settle(viewer, lambda: len(frontend.frames()) >= 3, timeout=10)
        before = len(frontend.frames())
        # A blocking cell: this thread only sleeps (no settle, nothing driven from here) while
        # the loop thread keeps sending; progress, not a rate: 8 more frames, however slowly.
        assert poll_until(lambda: len(frontend.frames()) - before >= 8, timeout=60)
        assert frontend.max_seen_in_flight <= 2
        assert viewer.status == "live"
        stats = viewer.get_stats()
        assert stats["expired"] == 0 and stats["glass_to_glass_ms"] is not None
        frame = viewer.snapshot()
        assert frame.shape == (240, 320, 3)
        assert read_stamp(frame) is not None          # the publisher's stamp survived
        assert settle(viewer, lambda: viewer.overlay.get("width") == 320, timeout=3)
    finally:
        painter.stop.set()
        painter.join()
        session = viewer.session
        viewer.close()
    assert session.state == "closed"
    deadline = time.monotonic() + 3
    while any(t.name == "mezon_nb-on_frame" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the frame callback thread outlived the viewer"
        time.sleep(0.02)


def test_grid_shares_one_in_flight_budget(real_client, sandbox):
    grid = StreamGrid(real_client, [sandbox.stream_channel_id] * 3)
    frontends = [Frontend(v) for v in grid.viewers]
    try:
        assert grid.budget.limit == 4
        for frontend in frontends:
            frontend.show()
        peak, sent = 0, [0]
        deadline = time.monotonic() + 60          # progress, not a rate: until all have sent 5
        for _round in range(500):
            peak = max(peak, sum(len(f._unacked) for f in frontends))
            sent = [s["sent"] for s in grid.get_stats()]
            if min(sent) >= 5 or time.monotonic() > deadline:
                break
            for frontend in frontends:
                frontend.paint_all()
            # a browser that cannot keep up: frames wait 120 ms for their paint (> 0.1 s, so
            # no viewer counts as painting fast, and every frame needs a budget slot)
            time.sleep(0.12)
        assert peak <= 4
        assert min(sent) >= 5 and max(sent) <= 3 * min(sent), sent   # nobody starves
    finally:
        grid.close()
    assert all(v.status == "closed" for v in grid.viewers)
