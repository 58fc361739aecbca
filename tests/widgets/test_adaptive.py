"""The bitrate controller wired into the frame pump, in simulated time.

A scripted 30 fps stream feeds the pump encoded frames of a chosen bit rate (and, while the
pump listens for them, decoded pictures); every message the pump sends crosses a simulated
bottleneck (``capacity`` bit/s, a one-way delay each way, first in first out) in Jupyter's
envelope (``ENVELOPE`` bytes more per message), and each ack message the kernel reads puts its
two status messages (``STATUS`` bytes) on the same link; the simulated browser paints a frame
when it arrives and batches its acks as viewer.js does (at once on ``flush``, else ``ACK_DELAY_S``
after the first). The test moves the clock; the pump's own rules decide.
The re-encoded frames are real libvpx output and are decoded with PyAV in order.
"""

from __future__ import annotations

import types

import pytest
from widget_fakes import InOrderVp8, SimClock, settle_idle

from mezon_nb.core.pattern import TestPattern
from mezon_nb.media.encoded import EncodedFrame
from mezon_nb.media.frames import Frame
from mezon_nb.widgets import cells
from mezon_nb.widgets.flow import ACK_DELAY_S
from mezon_nb.widgets.pump import DISPLAYED, FramePump

FPS = 30
STREAM_BPS = 2_200_000            # the sandbox's 720p30 VP8
ENVELOPE = 850                    # bytes Jupyter adds to a frame message (about)
STATUS = 2 * 620                  # the busy and idle status after each message to the kernel


class ScriptedStream:
    """Encoded frames of ``bps`` bit/s (a keyframe every 2 s) and decoded test-pattern
    pictures, pushed by :meth:`tick`; counts keyframe requests and decoded-frame listeners."""

    codec = "VP8"

    def __init__(self, bps: float = STREAM_BPS, size=(160, 120)) -> None:
        self.bps, self.size = bps, size
        self.encoded: list = []
        self.decoded: list = []
        self.keyframe_requests = 0
        self.index = 0
        self.pattern = TestPattern(*size, fps=FPS)
        self.loss_until = -1.0      # RTP loss before the kernel: see tick()
        self.lost = 0
        self._waits_for_key = False

    def _listen(self, listeners):
        def add(fn):
            listeners.append(fn)
            return lambda: listeners.remove(fn) if fn in listeners else None
        return add

    def listen_encoded(self, fn):
        return self._listen(self.encoded)(fn)

    def listen_frames(self, fn):
        return self._listen(self.decoded)(fn)

    def latest_frame(self, timeout=None):
        return None

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1

    def tick(self, now: float) -> None:
        """The next frame; while ``now < loss_until`` one frame in four is lost, the next one
        arrives after a gap, and the kernel's decoder waits for a keyframe."""
        lossy = now < self.loss_until
        if lossy and self.index % 4 == 1:
            self.lost += 1
            self.index += 1
            return
        gap = lossy and self.index % 4 == 2
        key = self.index % (2 * FPS) == 0 or self.keyframe_requests > 0
        self.keyframe_requests = 0
        size = int(self.bps / 8 / FPS) * (3 if key else 1)
        frame = EncodedFrame("vp8", bytes([0x10 if key else 0x11]) + bytes(size - 1), key,
                             self.index * 3000, self.index, gap=gap, received_at=now)
        for fn in list(self.encoded):
            fn(frame)
        self._waits_for_key = (self._waits_for_key or gap) and not key
        if self.decoded and not self._waits_for_key:
            picture = self.pattern.video_frame(self.index).to_ndarray(format="rgb24")
            decoded = Frame.from_array(picture, index=self.index, captured_at=now)
            for fn in list(self.decoded):
                fn(decoded)
        self.index += 1


class LinkAndBrowser:
    """Carries the pump's messages over a simulated bottleneck; paints and acks them."""

    def __init__(self, clock: SimClock, capacity: float, one_way: float = 0.04,
                 codecs=("vp8",)) -> None:
        self.clock, self.capacity, self.one_way = clock, capacity, one_way
        self.codecs = list(codecs) if codecs is not None else None
        self.pump: FramePump | None = None
        self.messages: list[tuple[dict, bytes]] = []
        self._free_at = 0.0
        self._arrivals: list[tuple[float, dict]] = []     # (painted at, message)
        self._acks: list[tuple[float, dict]] = []         # (reaches the kernel, message)
        self._batch: list = []
        self._batch_due: float | None = None
        self.vp8 = InOrderVp8()
        self.pictures: list[tuple[int, int]] = []
        self.shell_blocked = False
        self.rendered = True        # False: the page has no view yet, what arrives is lost

    def send(self, content: dict, buffers: list) -> None:     # the pump's loop thread
        data = bytes(buffers[0]) if buffers else b""
        done = self._carry(len(data or content.get("data", "")) + ENVELOPE)
        self.messages.append((content, data))
        self._arrivals.append((done + self.one_way, content))
        if content.get("type") == "video" and "display_width" in content:
            self._decode(content, data)

    def _carry(self, nbytes: int) -> float:
        """``nbytes`` onto the link now: when their last bit has crossed it."""
        self._free_at = max(self.clock(), self._free_at) + 8 * nbytes / self.capacity
        return self._free_at

    def _decode(self, content: dict, data: bytes) -> None:
        for picture in self.vp8.feed(content, data):
            self.pictures.append((picture.width, picture.height))

    def advance(self) -> None:
        """Paint what arrived by now, send the acks that are due, deliver those that arrived."""
        now = self.clock()
        for painted, content in [a for a in self._arrivals if a[0] <= now]:
            self._arrivals.remove((painted, content))
            if not self.rendered:
                continue
            self._batch.append([content["id"], painted * 1000.0])
            if self._batch_due is None:
                self._batch_due = painted + ACK_DELAY_S
            if content.get("flush"):
                self._batch_due = painted
        if self._batch and self._batch_due is not None and self._batch_due <= now:
            self._acks.append((now + self.one_way,
                               {"painted": self._batch, "flushed_at": now * 1000.0}))
            self._batch, self._batch_due = [], None
        if self.shell_blocked:      # a cell runs: acks wait in the kernel's shell queue
            return
        for arrives, ack in [a for a in self._acks if a[0] <= now]:
            self._acks.remove((arrives, ack))
            self.pump.acks([tuple(p) for p in ack["painted"]], [], ack["flushed_at"])
            self._carry(STATUS)         # the kernel's busy and idle status, on their way


def run(pump, stream, link, clock, seconds: float, capacity=None) -> list[str]:
    """``seconds`` of simulated time in 1/FPS steps; returns the pump's path at each step."""
    paths = []
    for _ in range(int(seconds * FPS)):
        clock.advance(1 / FPS)
        if capacity is not None:
            link.capacity = capacity
        stream.tick(clock())
        widget = types.SimpleNamespace(_mz_pump=pump)
        assert settle_idle(widget, timeout=20)
        link.advance()
        assert settle_idle(widget, timeout=20)
        paths.append(pump.path)
    return paths


@pytest.fixture
def rig():
    made = []

    def make(capacity: float, codecs=("vp8",), bps: float = STREAM_BPS, size=(160, 120),
             shown: bool = True, **options):
        clock = SimClock()
        link = LinkAndBrowser(clock, capacity, codecs=codecs)
        pump = FramePump(link.send, clock=clock, **options)
        link.pump = pump
        made.append(pump)
        stream = ScriptedStream(bps, size)
        pump.set_source(stream)
        if shown:
            pump.set_visible("v1", True, 640, codecs)
        return pump, stream, link, clock

    yield make
    for pump in made:
        pump.close()


def test_a_link_wider_than_the_stream_keeps_pass_through_and_decodes_nothing(rig):
    pump, stream, link, clock = rig(capacity=10_000_000)
    paths = run(pump, stream, link, clock, 20)
    assert set(paths) == {"webcodecs vp8"}
    assert pump.target.rung == 0 and pump.bitrate is not None and pump.bitrate.steps_down == 0
    assert stream.decoded == []                     # nothing asked the kernel to decode
    assert all(m[0]["type"] == "video" and "display_width" not in m[0] for m in link.messages)


def test_a_narrow_link_steps_down_to_reencoded_vp8_from_a_keyframe_and_back_up(rig):
    pump, stream, link, clock = rig(capacity=2_000_000)
    paths = run(pump, stream, link, clock, 15)
    assert paths[0] == "webcodecs vp8"
    assert pump.target.rung >= 1 and pump.bitrate.steps_down >= 1, pump.adapt_stats()
    assert paths[-1].startswith("vp8 ") and stream.decoded     # the kernel decodes now
    reencoded = [m for m, _ in link.messages if "display_width" in m]
    assert reencoded and reencoded[0]["key"]         # the browser's decoder starts on a key
    assert link.vp8.corrupt == 0 and link.pictures       # and every frame after it decodes
    keys = sum(m["key"] for m in reencoded)
    assert keys <= pump.bitrate.steps_down + pump.bitrate.steps_up   # one per change, no more
    first_rung = pump.target
    assert reencoded[-1]["width"] == round(160 * first_rung.scale / 2) * 2
    # the link widens: the controller probes up and comes back to the stream's own frames
    paths = run(pump, stream, link, clock, 60, capacity=20_000_000)
    assert paths[-1] == "webcodecs vp8" and pump.target.rung == 0, pump.adapt_stats()
    back = paths.index("webcodecs vp8")
    assert stream.decoded == []                      # decoding stopped with pass-through
    passed = [m for m, _ in link.messages if m["type"] == "video" and "display_width" not in m]
    after = [m for m in passed if m["id"] > reencoded[-1]["id"]]
    assert after and after[0]["key"], back           # the stream's own video from a keyframe


def test_a_link_the_stream_fills_to_the_brim_steps_down_before_it_freezes_again(rig):
    """1.75 Mbit/s of the stream's own video and its envelopes fill a 2 Mbit/s link: every
    keyframe queues, the window fills, a frame is dropped and the view waits for a keyframe
    (larger still). Neither the round trip (up and down) nor the delivered rate (all of the
    link) says congested for long; the second such drop does: one rung down, and the round
    trip comes back to its low."""
    pump, stream, link, clock = rig(capacity=2_000_000, bps=1_750_000)
    paths = run(pump, stream, link, clock, 6)
    assert paths[0] == "webcodecs vp8" and pump.target.rung == 1, pump.adapt_stats()
    assert pump.adapt_stats()["last_step_down"] == "2 frames dropped for a full window in 5 s"
    assert pump.flow.stats.overflowed >= 2
    run(pump, stream, link, clock, 1.5)
    assert pump.target.rung == 1 and link.vp8.corrupt == 0
    assert max(list(pump.flow.stats.roundtrips)[-10:]) < 0.2        # no queue now
    # a try of pass-through after 5 s meets the same drops: back, and the next try waits longer
    run(pump, stream, link, clock, 12)
    controller = pump.bitrate            # simulated time: the waits are the controller's own
    assert controller.steps_up >= 1 and controller.probe_after > 5.0, pump.adapt_stats()


def test_the_delivered_rate_counts_jupyters_envelopes_and_status_messages(rig):
    """A 640x360 stream (0.55 Mbit/s) over a 0.6 Mbit/s link, no adaptation: the link is
    full, and the pump's delivered rate is the link's rate, because the frames' envelopes and
    the status messages of the acks count (a third of it at 30 fps); so do the bytes in
    flight."""
    pump, stream, link, clock = rig(capacity=600_000, bps=550_000, adapt=False)
    run(pump, stream, link, clock, 8)
    delivered = pump.adapt_stats()["delivered_kbps"]
    assert delivered is not None and 500 <= delivered <= 630, delivered   # without: 0.36
    sizes = [len(data) for content, data in link.messages if content["type"] == "video"]
    assert pump.flow.stats.bytes_sent == sum(sizes) + len(sizes) * 800   # FRAME_ENVELOPE


def test_packet_loss_before_the_kernel_is_not_taken_for_a_narrow_link(rig):
    """RTP loss between the stream server and the kernel sends the browser less (the video
    waits for a keyframe), but the link is as wide as before: no step down, and the stream's
    own video comes back from a keyframe."""
    pump, stream, link, clock = rig(capacity=10_000_000)
    run(pump, stream, link, clock, 4)
    assert pump.bitrate is not None and pump.mode == "passthrough"
    sent = len(link.messages)
    stream.loss_until = clock() + 3.0
    paths = run(pump, stream, link, clock, 10)
    assert stream.lost > 20
    assert set(paths) == {"webcodecs vp8"}, paths
    assert pump.bitrate.steps_down == 0 and pump.target.rung == 0, pump.adapt_stats()
    after = [m for m, _ in link.messages[sent:] if m["type"] == "video"]
    resumed = [m for m in after if m["seq"] > stream.index - 5 * FPS]   # frames of the last 5 s
    assert resumed and any(m["key"] for m in after)


def test_acks_that_waited_behind_a_cell_are_no_round_trip(rig):
    """A cell blocks the kernel for 2.5 s: acks wait in the shell queue, those of the frames
    sent while the cell's request waited in front of them too. None of those waits reaches the controller as a round trip
    (the frames sent during the cell are paced, and the pump saw the cell start and end)."""
    pump, stream, link, clock = rig(capacity=10_000_000)
    run(pump, stream, link, clock, 4)
    measured = []
    update = pump.bitrate.update

    def recording(now, delivered, rtt, *rest):
        measured.append(rtt)
        return update(now, delivered, rtt, *rest)

    pump.bitrate.update = recording
    link.shell_blocked = True   # the cell's request is in the shell queue, acks queue behind it
    try:
        run(pump, stream, link, clock, 0.3)
        cells.pre_run_cell(types.SimpleNamespace(cell_id=None))
        run(pump, stream, link, clock, 2.5)
    finally:
        cells.post_run_cell(None)
        link.shell_blocked = False
    run(pump, stream, link, clock, 4)
    assert measured and max(measured) < 0.5, max(measured)
    assert pump.bitrate.steps_down == 0 and pump.target.rung == 0, pump.adapt_stats()


def test_a_view_that_renders_late_gets_the_streams_own_video_from_its_first_frame(rig):
    """display() in an idle kernel; the page renders the view 3 s later (over 1 Mbit/s it
    is still loading the widget's code). Nothing goes before the view speaks: its first
    picture is the stream's own keyframe, not one behind seconds of JPEG sent to a view that
    was not there (at 640x360 about 2 a second, one per ack timeout), and a stream that fits
    the link keeps pass-through."""
    pump, stream, link, clock = rig(capacity=1_000_000, bps=550_000, size=(640, 360),
                                    shown=False)
    link.rendered = False
    pump.set_visible(DISPLAYED, True)
    run(pump, stream, link, clock, 3)
    assert link.messages == []
    link.rendered = True
    pump.set_visible(DISPLAYED, False)          # the frontend speaks for itself now
    pump.set_visible("v1", True, 640, ["vp8"])
    paths = run(pump, stream, link, clock, 10)
    first = link.messages[0][0]
    assert first["type"] == "video" and first["key"], first
    assert pump.images_sent == 0
    assert set(paths) == {"webcodecs vp8"}, paths
    assert pump.bitrate.steps_down == 0, pump.adapt_stats()


def test_a_change_of_path_does_not_show_the_kernels_old_picture(rig):
    """While the video passes through, the kernel decodes nothing: its newest decoded picture
    is old. Leaving pass-through for a re-encoded rung must not send that one (it was painted
    seconds after newer pictures, out of order)."""
    pump, stream, link, clock = rig(capacity=10_000_000)
    run(pump, stream, link, clock, 2)
    assert pump.mode == "passthrough"
    old = Frame.from_array(stream.pattern.video_frame(0).to_ndarray(format="rgb24"), index=0,
                           captured_at=-1.0)
    stream.latest_frame = lambda timeout=None: old
    sent = len(link.messages)
    paths = run(pump, stream, link, clock, 15, capacity=2_000_000)
    assert any(p.startswith("vp8 ") for p in paths), paths     # the path did change
    assert all(m[0].get("captured_at") != -1.0 for m in link.messages[sent:])


def test_without_webcodecs_the_jpeg_quality_and_scale_follow_the_link(rig):
    pump, stream, link, clock = rig(capacity=300_000, codecs=None)
    paths = run(pump, stream, link, clock, 30)
    assert paths[0] == "jpeg q80"
    assert pump.target.rung >= 1 and paths[-1] != "jpeg q80", pump.adapt_stats()
    frames = [m for m, _ in link.messages if m["type"] == "frame"]
    assert frames and all(m["width"] == 160 for m in frames)    # shown at the stream's size


def test_adapt_false_keeps_the_streams_own_video_on_a_narrow_link(rig):
    pump, stream, link, clock = rig(capacity=1_000_000, adapt=False)
    paths = run(pump, stream, link, clock, 10)
    assert set(paths) == {"webcodecs vp8"} and pump.bitrate is None


def test_a_bad_start_rung_is_refused():
    with pytest.raises(ValueError, match="start_rung must be a rung"):
        FramePump(lambda content, buffers: None, start_rung=-1)

