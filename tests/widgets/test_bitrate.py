"""BitrateController against a simulated bottleneck, in simulated time.

The link model: the view sends at its rung's rate; a bottleneck of ``capacity`` bit/s with a
queue of ``buffer`` seconds delivers at most its capacity, the excess waits in the queue (its
round trip grows by the queue's delay); what does not fit the buffer is lost. One ack report
every ``step`` seconds.
"""

from __future__ import annotations

import itertools
import random

import pytest

from mezon_nb.widgets.bitrate import LADDER, BitrateController, RateMeter

STREAM = 2_200_000  # the sandbox's 720p30 VP8


class Link:
    def __init__(self, capacity: float, base_rtt: float = 0.08, buffer: float = 1.0) -> None:
        self.capacity, self.base_rtt, self.buffer = capacity, base_rtt, buffer
        self.queue = 0.0  # bits waiting

    def carry(self, rate: float, dt: float) -> tuple[float, float]:
        """Send at ``rate`` for ``dt`` s: (delivered bit/s, round trip at the end)."""
        offered = self.queue + rate * dt
        delivered = min(offered, self.capacity * dt)
        self.queue = min(offered - delivered, self.capacity * self.buffer)
        return delivered / dt, self.base_rtt + self.queue / self.capacity


def run(ctl: BitrateController, capacity, seconds: float, step: float = 0.25, start=0.0,
        link: Link | None = None, overhead: float = 0.0):
    """Reports every ``step`` s; ``capacity`` is a number or a function of time; the link
    carries ``overhead`` bit/s besides the rung's rate (envelopes), and the controller is told.
    Returns the rung at every report and the link."""
    link = link or Link(capacity(0) if callable(capacity) else capacity)
    rungs = []
    for i in range(int(seconds / step)):
        now = start + (i + 1) * step
        link.capacity = capacity(now) if callable(capacity) else capacity
        delivered, rtt = link.carry(ctl.rate() + overhead, step)
        rungs.append(ctl.update(now, delivered, rtt, overhead_bps=overhead).rung)
    return rungs, link


def test_a_link_wider_than_the_stream_keeps_pass_through():
    ctl = BitrateController(STREAM)
    rungs, _link = run(ctl, 10_000_000, 120)
    assert set(rungs) == {0} and ctl.steps_down == 0
    assert ctl.target().passthrough and ctl.target().label == "pass-through"


@pytest.mark.parametrize("overhead", [0, 200_000])
@pytest.mark.parametrize("capacity", [2_000_000, 1_000_000, 500_000])
def test_a_narrow_link_settles_on_a_rung_that_fits_and_probes_rarely(capacity, overhead):
    ctl = BitrateController(STREAM)
    rungs, link = run(ctl, capacity, 300, overhead=overhead)
    fits = [rung for rung in range(len(LADDER))
            if STREAM * LADDER[rung].fraction + overhead <= capacity]
    assert fits, "the ladder goes low enough"
    settled = rungs[len(rungs) // 3:]  # after the first 100 s
    share_fitting = sum(r >= fits[0] for r in settled) / len(settled)
    assert share_fitting > 0.9
    # probing waits longer after each failed try: few tries in 300 s
    assert ctl.steps_up <= 10
    # a failed try goes back to the rung it came from, not below it
    assert min(settled) == fits[0] - 1 or min(settled) >= fits[0]
    assert max(settled) == fits[0]
    assert link.queue / link.capacity < 0.5  # the queue did not stay full


def test_quality_and_scale_go_before_the_frame_rate():
    for a, b in itertools.pairwise(LADDER):
        assert b.fraction < a.fraction and b.scale <= a.scale and b.fps_divisor >= a.fps_divisor
        assert b.jpeg_quality <= a.jpeg_quality
    first_fps = next(i for i, r in enumerate(LADDER) if r.fps_divisor > 1)
    assert LADDER[first_fps - 1].scale == min(r.scale for r in LADDER)
    ctl = BitrateController(STREAM)
    rungs, _ = run(ctl, 150_000, 60)
    assert rungs[-1] == len(LADDER) - 1 and ctl.target().fps_divisor > 1


def test_one_step_down_can_skip_rungs_and_the_way_back_up_is_hysteretic():
    ctl = BitrateController(STREAM, probe_after=5.0)

    def capacity(now):  # 10 Mbit/s, then 0.6 Mbit/s from 20 s to 80 s, then 10 again
        return 600_000 if 20 <= now < 80 else 10_000_000

    rungs, _ = run(ctl, capacity, 200)
    at = {round((i + 1) * 0.25, 2): r for i, r in enumerate(rungs)}
    assert at[19.75] == 0
    first_drop = next(t for t, r in sorted(at.items()) if r > 0)
    assert at[first_drop] >= 2  # 0.6 Mbit/s: straight past rung 1
    assert at[79.75] > 0
    # back up one rung at a time, each after at least probe_after without congestion
    climb = [t for t, r in sorted(at.items()) if t >= 80 and r < at[round(t - 0.25, 2)]]
    assert climb and all(b - a >= 5.0 for a, b in itertools.pairwise(climb))
    assert rungs[-1] == 0


def test_a_step_down_says_why():
    short = BitrateController(STREAM)
    for t in (0.5, 1.0, 1.5, 2.0):    # a steady round trip, half of the stream delivered
        short.update(t, STREAM / 2, 0.05)
    assert short.steps_down == 1 and short.last_step_down == "1.1 of 2.2 Mbit/s delivered"
    queued = BitrateController(STREAM)
    for t in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0):    # all delivered, a queue growing in front
        queued.update(t, STREAM, 0.05 + 0.1 * t)
    assert queued.steps_down == 1 and queued.last_step_down == "round trip 250 ms above its low"
    assert BitrateController(STREAM).last_step_down is None


def test_two_frames_of_the_streams_own_video_dropped_within_5_s_are_one_rung_down():
    ctl = BitrateController(STREAM)
    for t in (1.0, 7.0, 13.0):          # one now and then: a keyframe that queued, no more
        assert ctl.dropped(t).rung == 0
    assert ctl.dropped(16.0).rung == 1 and ctl.steps_down == 1    # 3 s after the last
    assert ctl.last_step_down == "2 frames dropped for a full window in 5 s"
    assert ctl.dropped(16.5).rung == 1 and ctl.dropped(17.0).rung == 1   # re-encoded: no gaps
    wide = BitrateController(STREAM)
    for t in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5):    # the round trip at its low, all delivered
        wide.update(t, STREAM, 0.05)
    assert wide.rung == 0


def test_frames_dropped_on_a_try_upwards_go_back_and_double_the_wait():
    ctl = BitrateController(STREAM, start=1, probe_after=5.0)
    for t in (0.0, 1.0, 2.0, 3.0, 4.0, 5.0):
        ctl.update(t, 0.6 * STREAM, 0.05)    # quiet on rung 1: after 5 s, a try of rung 0
    assert ctl.rung == 0
    ctl.dropped(5.5)
    assert ctl.dropped(6.0).rung == 1 and ctl.probe_after == 10.0


def test_a_failed_probe_doubles_the_wait():
    ctl = BitrateController(STREAM, probe_after=4.0, max_probe_after=32.0)
    run(ctl, 1_000_000, 200)
    assert ctl.probe_after > 4.0
    assert ctl.probe_after <= 32.0


@pytest.mark.parametrize(("name", "value"), [
    ("delivered_bps", -5), ("delivered_bps", float("nan")), ("rtt", -0.1), ("rtt", "fast")])
def test_bad_measurements_are_refused(name, value):
    ctl = BitrateController(STREAM)
    args = {"delivered_bps": 1e6, "rtt": 0.05, name: value}
    with pytest.raises(ValueError, match=name):
        ctl.update(0.0, **args)
    assert ctl.rung == 0


@pytest.mark.parametrize("every", [0.25, 0.5, 0.6])
def test_the_delivered_rate_is_exact_between_batched_acks(every):
    """Acks every ``every`` s plus up to a frame's jitter, each with the bytes since the last:
    the rate read at each ack is the link's rate, wherever the window's edge falls (counting
    whole samples read up to one sample's share too high: 10 % here with acks every quarter
    second, up to a quarter of the rate with acks every half second)."""
    rng, meter, rate, now, last = random.Random(7), RateMeter(window=2.0), 275_000.0, 0.0, 0.0
    meter.add(now, 0)
    readings = []
    for _ in range(200):
        now += every + rng.uniform(0, 1 / 30)
        meter.add(now, rate * (now - last))
        last = now
        readings.append(meter.rate(now))
    measured = [r for r in readings if r is not None]
    assert len(measured) > 190
    assert min(measured) == pytest.approx(rate) and max(measured) == pytest.approx(rate)


def test_a_pause_lowers_the_rate_read_after_it():
    meter = RateMeter(window=2.0)
    for i in range(11):
        meter.add(i * 0.5, 1000)
    assert meter.rate(5.0) == pytest.approx(2000)
    assert meter.rate(6.0) == pytest.approx(1000)     # nothing for 1 s of the 2 s window
    assert meter.rate(8.0) == 0.0
