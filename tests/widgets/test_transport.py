"""FlowControl and SharedBudget as pure state machines (time passed in; no threads, no I/O).

The busy-cell tests play a simulated browser against the flow in 1 ms steps: frames from a
30 fps source, acks that wait while a cell runs. Not covered here: encoding and sending
(test_viewer.py drives the real pump on the loop thread).
"""

import math
from functools import partial

import pytest

from mezon_nb.widgets.flow import ACK_DELAY_S, OVERDUE_S, FlowControl, SharedBudget

approx = partial(pytest.approx, abs=1e-9)


def visible_flow(**options) -> FlowControl:
    flow = FlowControl(**options)
    flow.set_visible(True)
    return flow


def test_window_of_two_newest_frame_wins():
    flow = visible_flow()
    flow.offer("a")
    assert flow.take(0.0).payload == "a"
    flow.offer("b")
    assert flow.take(0.0).payload == "b"
    flow.offer("c")
    flow.offer("d")                      # c is superseded while the window is full
    assert flow.take(0.01) is None
    assert flow.in_flight == 2
    flow.acked(1, 0.02)
    job = flow.take(0.02)
    assert (job.frame_id, job.payload) == (3, "d")
    assert flow.stats.superseded == 1


def test_nothing_sent_while_hidden_and_last_frame_resent_when_shown():
    flow = FlowControl()
    flow.offer("a")
    assert flow.take(0.0) is None
    flow.set_visible(True)
    assert flow.take(0.0).payload == "a"
    flow.acked(1, 0.01)
    flow.set_visible(False)
    assert flow.take(5.0) is None       # no PNG either while hidden
    flow.set_visible(True)
    job = flow.take(5.0)
    assert (job.payload, job.mime) == ("a", "image/jpeg")


def test_lossless_png_once_after_pause_and_cancelled_by_new_frame():
    flow = visible_flow(lossless_delay=0.3)
    flow.offer("a")
    flow.take(0.0)
    flow.acked(1, 0.01)
    flow.offer("b")
    flow.take(0.2)                       # a new frame before 0.3 s: no PNG of "a"
    flow.acked(2, 0.21)
    assert flow.take(0.45) is None
    assert flow.next_wakeup(0.45) == approx(0.05)
    job = flow.take(0.5)
    assert (job.payload, job.mime) == ("b", "image/png")
    flow.acked(job.frame_id, 0.52)
    assert flow.take(10.0) is None       # only once
    assert flow.stats.lossless == 1


class Browser:
    """Paints the newest frame that has arrived, at most one per ``paint_s`` (older waiting
    frames are skipped); frames and acks each take ``latency`` s, and acks wait while busy."""

    def __init__(self, flow: FlowControl, paint_s: float, latency: float) -> None:
        self.flow, self.paint_s, self.latency = flow, paint_s, latency
        self.arriving: list = []          # (arrives_at, frame_id)
        self.newest: int | None = None    # arrived, not yet painted
        self.last_paint = -math.inf
        self.acks: list = []              # (due_at, frame_id, painted_at or None if skipped)
        self.painted: list = []           # (painted_at, frame_id)

    def receive(self, frame_id: int, now: float) -> None:
        self.arriving.append((now + self.latency, frame_id))

    def tick(self, now: float, busy: bool) -> None:
        while self.arriving and self.arriving[0][0] <= now:
            if self.newest is not None:
                self.acks.append((now + self.latency, self.newest, None))
            self.newest = self.arriving.pop(0)[1]
        if self.newest is not None and now >= self.last_paint + self.paint_s:
            self.acks.append((now + self.latency, self.newest, now))
            self.painted.append((now, self.newest))
            self.newest, self.last_paint = None, now
        while not busy and self.acks and self.acks[0][0] <= now:
            _due, frame_id, painted = self.acks.pop(0)
            if painted is None:
                self.flow.skipped(frame_id)
            else:
                self.flow.acked(frame_id, now, painted)


def play(flow: FlowControl, browser: Browser, start: float, end: float,
         busy: bool = False) -> tuple[list, int]:
    """Run from ``start`` to ``end`` with a 30 fps source; returns (jobs sent, max in flight)."""
    sent, most = [], 0
    for tick in range(round(start * 1000), round(end * 1000)):
        now = tick / 1000
        if tick % 100 in (0, 33, 67):
            flow.offer(now)
        browser.tick(now, busy)
        while (job := flow.take(now, busy)) is not None:
            sent.append(job)
            browser.receive(job.frame_id, now)
        most = max(most, flow.in_flight)
    return sent, most


def test_a_busy_cell_paces_a_fast_browser_at_the_rate_it_painted_before():
    flow = visible_flow()
    browser = Browser(flow, paint_s=0.0, latency=0.03)      # 60 ms roundtrip, paints at once
    play(flow, browser, 0.0, 3.0)
    assert flow.capacity() == pytest.approx(30.0, abs=1.0)
    assert flow.busy_rate() == flow.capacity()               # the source set the rate
    sent, most = play(flow, browser, 3.0, 13.0, busy=True)
    assert 25 * 10 <= len(sent) <= 30 * 10
    assert most <= math.ceil(flow.busy_rate() * flow.ack_timeout)
    painted = [t for t, _ in browser.painted if 3.0 <= t < 13.0]
    assert len(painted) >= 25 * 10
    after, most = play(flow, browser, 13.0, 14.0)            # the cell ended: acks flow again
    assert len(after) >= 25 and after[0].sent_at < 13.1 and not after[0].paced
    assert flow.in_flight <= 2 and flow.stats.expired > 0
    assert flow.capacity() == pytest.approx(30.0, abs=1.0)  # paced frames are not evidence


def test_a_slow_browser_is_paced_just_under_its_own_rate_during_a_busy_cell():
    flow = visible_flow()
    browser = Browser(flow, paint_s=0.1, latency=0.005)
    play(flow, browser, 0.0, 3.0)
    assert flow.capacity() == pytest.approx(10.0, abs=0.5)
    assert flow.busy_rate() == pytest.approx(0.9 * flow.capacity())   # the browser set it
    sent, most = play(flow, browser, 3.0, 13.0, busy=True)
    assert 87 <= len(sent) <= 92
    assert most <= 10
    skipped = len(sent) - len([t for t, _ in browser.painted if 3.0 <= t < 13.1])
    assert skipped <= 2                                      # fewer frames, not a flood


def test_a_busy_cell_before_any_ack_paces_at_busy_fps():
    flow = visible_flow(busy_fps=10.0)
    sent, most = play(flow, Browser(flow, paint_s=0.0, latency=0.01), 0.0, 2.0, busy=True)
    assert 19 <= len(sent) <= 22 and most <= 10


def test_paced_frames_ask_for_no_quick_ack():
    # Big pass-through frames during a cell: the bytes in flight soon pass half the byte
    # window (nothing is acked), which marks a frame `flush` outside a cell. Paced, each such
    # frame would make the browser send an ack message that only queues behind the cell.
    flow = visible_flow(lossless_delay=None)
    flow.byte_window = 100_000
    flow.offer("before", size=10_000)
    assert not flow.take(0.0).paced
    paced = []
    for i in range(1, 60):
        flow.offer(i, size=20_000)
        job = flow.take(i / 30, busy=True)
        if job is not None:
            paced.append(job)
    assert len(paced) > 20 and all(job.paced for job in paced)
    assert flow.bytes_in_flight * 2 >= flow.byte_window
    assert not any(job.flush for job in paced)
    for done in paced:                              # the cell ended, its acks came
        flow.acked(done.frame_id, 2.0)
    flow.offer("after", size=60_000)                # half the byte window: flush again
    job = flow.take(2.0)
    assert job is not None and not job.paced and job.flush


def test_paced_frames_neither_take_nor_release_budget_slots():
    budget = SharedBudget(1)
    flow = visible_flow(budget=budget, lossless_delay=None)
    flow.offer("a")
    flow.take(0.0)
    for i in range(1, 5):
        flow.offer(i)
        assert flow.take(i * 0.1, busy=True).paced
    assert budget.in_flight == 1
    flow.take(2.0, busy=True)                    # all expire; only frame 1 held a slot
    assert (flow.in_flight, budget.in_flight) == (0, 0)


def test_late_ack_after_expiry_still_resolves_the_frame():
    flow = visible_flow(ack_timeout=1.0, lossless_delay=None)
    flow.offer("a")
    flow.take(0.0)
    flow.take(2.0)                                # expires frame 1
    assert flow.in_flight == 0
    assert flow.acked(1, 2.5).payload == "a"
    assert flow.in_flight == 0


def test_bytes_of_frames_acknowledged_late_still_bound_what_is_sent():
    """A link slower than the stream: acks come back later than ``ack_timeout`` because the
    bytes are queued. The overdue frames free their slots, but their bytes keep the byte
    window closed, so the queue does not grow (it did: 20 s of latency over 2 Mbit/s)."""
    flow = visible_flow()
    # 10 frames/s fit, 30 are offered; the window holds 2.5 s of the link: acks come late
    flow.byte_window, size, link_bps = 200_000, 8_000, 80_000
    queue: list[tuple[float, int]] = []                        # (delivered at, frame id)
    link_free, outstanding, most = 0.0, 0, 0
    for tick in range(20_000):                                 # 20 s of simulated time
        now = tick / 1000
        if tick % 100 in (0, 33, 67):
            flow.offer(now, size=size)
        while queue and queue[0][0] <= now:
            flow.acked(queue.pop(0)[1], now)
            outstanding -= size
        while (job := flow.take(now)) is not None:
            flow.transmitted(job.frame_id, now, size, 0.0)
            link_free = max(link_free, now) + size / link_bps
            queue.append((link_free + 0.04, job.frame_id))
            outstanding += size
        most = max(most, outstanding)
    assert flow.stats.expired > 0                      # acks did come after ack_timeout
    assert most <= flow.byte_window + size             # the queue stayed at the window
    assert queue[-1][0] - 20.0 < 2.6                    # what is queued drains in the window
    assert flow.stats.sent >= 9 * 20                   # and the link stayed busy


def test_overdue_bytes_stop_counting_when_an_ack_is_lost():
    flow = visible_flow()
    flow.byte_window = 10_000
    flow.offer(0.0, size=10_000)
    job = flow.take(0.0)
    flow.transmitted(job.frame_id, 0.0, 10_000, 0.0)
    flow.offer(0.5, size=100)
    assert flow.take(2.0) is None                      # expired, but its bytes still count
    assert flow.take(OVERDUE_S + 0.1) is not None      # its ack is given up for lost


def test_clear_forgets_frames_and_releases_budget():
    budget = SharedBudget(2)
    flow = visible_flow(budget=budget)
    flow.offer("a")
    flow.take(0.0)
    assert budget.in_flight == 1
    flow.clear()
    assert (flow.in_flight, budget.in_flight) == (0, 0)
    assert flow.take(10.0) is None


def test_shared_budget_is_granted_in_turn():
    budget = SharedBudget(1)
    woken = []
    budget.listeners.append(lambda: woken.append(1))
    a, b = visible_flow(budget=budget), visible_flow(budget=budget)
    for flow in (a, b):
        flow.offer("frame")
    assert a.take(0.0) is not None
    assert b.take(0.0) is None                    # b queues
    a.offer("next")
    a.acked(1, 0.01)
    assert woken
    assert a.take(0.01) is None                   # b was waiting first
    assert b.take(0.01) is not None
    assert budget.in_flight == 1


def test_hidden_member_leaves_the_budget_queue():
    budget = SharedBudget(1)
    a, b, c = (visible_flow(budget=budget) for _ in range(3))
    for flow in (a, b, c):
        flow.offer("frame")
    a.take(0.0)
    b.take(0.0)
    c.take(0.0)                                   # queue: b, c
    b.set_visible(False)
    a.acked(1, 0.01)
    assert c.take(0.01) is not None


def test_fps_uses_paint_times_so_a_burst_of_late_acks_does_not_inflate_it():
    flow = visible_flow(lossless_delay=None)
    for i in range(11):                       # painted at 10 fps, acks all arrive at t=5
        flow.offer(i)
        flow.take(i * 0.1, busy=True)
    for frame_id in range(1, 12):
        flow.acked(frame_id, now=5.0, painted=1000.0 + (frame_id - 1) * 0.1)
    assert flow.fps(now=5.0) == approx(10.0)


def test_skipped_frames_free_their_slot_without_counting_as_painted():
    flow = visible_flow()
    flow.offer("a")
    flow.take(0.0)
    flow.skipped(1)
    assert (flow.in_flight, flow.stats.acked, flow.stats.skipped) == (0, 0, 1)


def paint_fast(flow, frames: int, start: float = 0.0) -> float:
    """Offer, send and ack ``frames`` frames, each painted 30 ms after it was sent."""
    now = start
    for _ in range(frames):
        flow.offer("frame")
        job = flow.take(now)
        assert job is not None
        flow.acked(job.frame_id, now + 0.03)
        now += 1 / 30
    return now


def test_the_window_grows_while_frames_are_painted_fast_and_shrinks_on_a_skip():
    flow = visible_flow(lossless_delay=None)
    assert flow.window == 2
    now = paint_fast(flow, 8)
    assert flow.window == 22
    jobs = []
    for i in range(22):                           # the browser holds its acks (a batch)
        flow.offer(i)
        jobs.append(flow.take(now + i / 30))
    assert all(jobs) and [j.flush for j in jobs].index(True) == 19  # 2 before the window is full
    # at 30 fps the frames of one held batch (ACK_DELAY_S) come before any is marked flush
    assert 19 / 30 > ACK_DELAY_S
    flow.offer("more")
    assert flow.take(now + 0.8) is None           # the window is full
    flow.skipped(jobs[0].frame_id)                # the browser fell behind
    assert flow.window == 2


def test_a_slow_frame_keeps_the_window_small():
    flow = visible_flow(lossless_delay=None)
    now = paint_fast(flow, 7)
    flow.offer("slow")
    job = flow.take(now)
    flow.acked(job.frame_id, now + 0.3, held=0.1)  # 0.2 s without the held time: slow
    assert flow.window == 2
    now = paint_fast(flow, 7, now + 0.3)
    assert flow.window == 2                       # not yet 8 fast in a row
    flow.offer("held")
    job = flow.take(now)
    flow.acked(job.frame_id, now + 0.53, held=0.5)    # held back to batch: still fast
    assert flow.window == 22


def test_a_fast_frontend_may_hold_three_byte_windows_and_a_slow_one_one():
    """Pass-through at 30 fps, 9 kB frames, a 128 KiB byte window: painted fast, half a second
    of acks held back (the batch) is 135 kB in flight, more than one window; once a frame is
    slow the window is one again and flush comes at half of it."""
    flow = visible_flow(lossless_delay=None)
    flow.byte_window = 128 * 1024
    now = paint_fast(flow, 8)
    jobs = []
    for i in range(int(ACK_DELAY_S * 30)):       # one batch, acks held
        flow.offer(i, size=9_000)
        jobs.append(flow.take(now + i / 30))
    assert all(jobs) and not any(j.flush for j in jobs)
    assert flow.bytes_in_flight > flow.byte_window
    for job in jobs:
        flow.acked(job.frame_id, now + ACK_DELAY_S + 0.01, held=ACK_DELAY_S)
    now += ACK_DELAY_S + 0.01
    flow.offer("slow", size=9_000)
    job = flow.take(now)
    flow.acked(job.frame_id, now + 0.2)           # 0.2 s: the link queues
    sent = []
    flow.offer(0, size=9_000)
    while (job := flow.take(now + 0.2)) is not None:
        sent.append(job)
        flow.offer(len(sent), size=9_000)
    assert flow.byte_window <= flow.bytes_in_flight < flow.byte_window + 9_000
    assert [j.flush for j in sent].index(True) == 7   # 8 × 9 kB: half the window


def test_one_flush_frame_at_a_time_on_a_link_that_queues():
    """Over 2 Mbit/s at 720p the bytes in flight stay above half the byte window for a round
    trip: each frame sent then would ask for an ack message of its own. Only the first does;
    once its ack is in (or it expired) the next frame asks again."""
    flow = visible_flow(lossless_delay=None)
    flow.byte_window = 100_000
    sent = []
    for i in range(8):                            # 8 × 10 kB, nothing acked: a round trip
        flow.offer(i, size=10_000)
        sent.append(flow.take(i / 30))
    assert all(sent) and [j.flush for j in sent] == [False] * 4 + [True] + [False] * 3
    flow.acked(sent[4].frame_id, 0.2)            # its batch: 1 to 5
    for job in sent[:4]:
        flow.acked(job.frame_id, 0.2)
    flow.offer("next", size=30_000)              # 30 + 30 kB in flight: past half again
    job = flow.take(0.2)
    assert job.flush
    flow.offer("late", size=10_000)
    assert not flow.take(0.21).flush
    flow.offer("after expiry", size=10_000)      # the flush frame's ack never came
    assert flow.take(0.2 + flow.ack_timeout + 0.01).flush


def test_a_fast_frontend_does_not_use_the_shared_budget():
    budget = SharedBudget(1)
    a, b = visible_flow(budget=budget, lossless_delay=None), visible_flow(budget=budget)
    paint_fast(a, 8)
    assert budget.in_flight == 0
    a.offer("x")
    b.offer("y")
    assert a.take(1.0) is not None and budget.in_flight == 0   # fast: outside the budget
    job = b.take(1.0)
    assert job.budgeted and job.flush and budget.exhausted   # slow b took the only slot
