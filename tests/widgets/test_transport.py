"""FlowControl and SharedBudget as pure state machines (time passed in; no threads, no I/O).

Not covered here: encoding and sending (test_viewer.py drives the real pump on the loop thread).
"""

from functools import partial

import pytest

from mezon_nb.widgets.transport import FlowControl, SharedBudget

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


def test_unacked_frames_expire_faster_while_kernel_busy():
    flow = visible_flow(ack_timeout=1.0, busy_ack_timeout=0.2)
    for t in (0.0, 0.0):
        flow.offer("x")
        flow.take(t)
    flow.offer("y")
    assert flow.take(0.5) is None                 # idle kernel: wait for acks up to 1 s
    assert flow.take(0.5, busy=True).payload == "y"
    assert flow.stats.expired == 2
    assert flow.in_flight == 1
    assert flow.next_wakeup(0.5, busy=True) == approx(0.2)


def test_late_ack_after_expiry_still_resolves_the_frame():
    flow = visible_flow(ack_timeout=1.0, lossless_delay=None)
    flow.offer("a")
    flow.take(0.0)
    flow.take(2.0)                                # expires frame 1
    assert flow.in_flight == 0
    assert flow.acked(1, 2.5).payload == "a"
    assert flow.in_flight == 0


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
