"""How much picture a view's link carries: pass the stream's own video through, or a lighter one.

A :class:`BitrateController` reads what the viewer's acks say — bytes delivered per second and
the round trip — and picks a rung of :data:`LADDER`: rung 0 is pass-through (the stream's own
encoded video); lower rungs are a re-encoded (or JPEG) picture at a fraction of the stream's
bitrate, stepping quality first, then scale, and the frame rate last.

The rules, in the caller's time (nothing here does I/O):

* The link is *congested* when the round trip stands ``queue_limit`` above the lowest one seen
  in the last ``rtt_window`` seconds and is not falling (a queue is building in front of the
  link, not draining), or when less arrives than the rung would send (delivered <
  ``loss_ratio`` × the demand: the caller's measure of it, else the rung's rate).
* Congested for ``hold`` seconds: step down at once to the highest rung whose rate fits
  ``headroom`` × the delivered rate, less what the link carries besides the picture (the
  caller's ``overhead_bps``: message envelopes, status messages), by at least one rung.
* On rung 0 the stream's own video has no frame to spare: a frame flow control drops because
  the window is full leaves the view waiting for a keyframe, which is larger still. Two such
  drops (:meth:`~BitrateController.dropped`) within ``drop_window`` seconds: one rung down at
  once, however the round trip looks (a link filled to the brim queues on every keyframe).
* Quiet (round trip within ``queue_limit / 3`` of the lowest) for ``probe_after`` seconds
  since the last change: try one rung up. A try that meets congestion goes back to the rung
  it came from and doubles the wait before the next try of that rung (up to
  ``max_probe_after``); one that holds for its wait halves it again. So a link that just fits
  is not probed every few seconds, and a link that got faster is found again.

The frame pump (:mod:`.pump`) feeds it from the acks of each view: bytes acknowledged per
second (a :class:`RateMeter`) and the round trip of the frames in each ack message.

>>> ctl = BitrateController(source_bps=2_200_000)
>>> ctl.update(now=0.0, delivered_bps=2_200_000, rtt=0.04).label
'pass-through'
>>> for t in (2.0, 2.5, 3.0):                 # a 2 Mbit/s link, its queue filling
...     target = ctl.update(now=t, delivered_bps=1_950_000, rtt=0.04 + 0.1 * t)
>>> target.label, target.describe(jpeg=True)
('vp8 1.3 Mbit/s ×1', 'jpeg q70')
>>> ctl.last_step_down
'round trip 300 ms above its low'
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    """One step: picture ``scale`` (of each side), bitrate as a ``fraction`` of the stream's,
    the JPEG ``jpeg_quality`` of the fallback path, and a frame-rate ``fps_divisor``.

    >>> Rung(0.5, 0.2, 60).fps_divisor
    1
    """

    scale: float
    fraction: float
    jpeg_quality: int
    fps_divisor: int = 1


#: Quality first, then scale, then frame rate; rung 0 is pass-through.
LADDER: tuple[Rung, ...] = (
    Rung(1.0, 1.0, 80),
    Rung(1.0, 0.6, 70),
    Rung(0.75, 0.35, 65),
    Rung(0.5, 0.2, 60),
    Rung(0.5, 0.12, 50),
    Rung(0.5, 0.07, 45, fps_divisor=2),
)


@dataclass(frozen=True)
class Target:
    """What to send now: ``passthrough`` or a picture of ``bitrate`` bit/s at ``scale``,
    ``jpeg_quality`` for the JPEG path, every ``fps_divisor``-th frame; ``rung`` in
    :data:`LADDER`.

    >>> target = Target(rung=3, passthrough=False, bitrate=440_000, scale=0.5, jpeg_quality=60,
    ...                 fps_divisor=1)
    >>> target.label, target.describe(jpeg=True)
    ('vp8 0.44 Mbit/s ×0.5', 'jpeg q60 ×0.5')
    """

    rung: int
    passthrough: bool
    bitrate: int
    scale: float
    jpeg_quality: int
    fps_divisor: int

    @property
    def label(self) -> str:
        """For the overlay and ``get_stats()``: ``pass-through`` or the re-encode's numbers."""
        return "pass-through" if self.passthrough else self.describe(jpeg=False)

    def describe(self, jpeg: bool) -> str:
        """The re-encoded picture as the overlay says it: ``vp8 1.3 Mbit/s ×1`` or, on the JPEG
        path, ``jpeg q70`` (``×0.5`` when scaled); ``fps ÷2`` when frames are left out.

        >>> targets = [BitrateController(2e6, start=r).target() for r in (0, 5)]
        >>> [t.describe(jpeg=True) for t in targets]
        ['jpeg q80', 'jpeg q45 ×0.5, fps ÷2']
        """
        fps = f", fps ÷{self.fps_divisor}" if self.fps_divisor > 1 else ""
        scale = f" ×{self.scale:g}" if self.scale != 1 or not jpeg else ""
        what = (f"jpeg q{self.jpeg_quality}" if jpeg
                else f"vp8 {self.bitrate / 1e6:.2g} Mbit/s")
        return f"{what}{scale}{fps}"


class BitrateController:
    """The rung choice for one view; see the module docstring for the rules.

    >>> BitrateController(source_bps=0)
    Traceback (most recent call last):
    ...
    ValueError: source_bps must be a positive number of bit/s, got 0
    """

    def __init__(self, source_bps: float, *, queue_limit: float = 0.1, headroom: float = 0.85,
                 loss_ratio: float = 0.8, hold: float = 1.0, probe_after: float = 5.0,
                 max_probe_after: float = 60.0, rtt_window: float = 10.0,
                 drop_window: float = 5.0, start: int = 0) -> None:
        self.source_bps = _positive("source_bps", source_bps)
        if not 0 <= start < len(LADDER):
            raise ValueError(f"start must be a rung of LADDER (0..{len(LADDER) - 1}), "
                             f"got {start!r}")
        self.queue_limit, self.headroom, self.loss_ratio = queue_limit, headroom, loss_ratio
        self.hold, self.rtt_window, self.drop_window = hold, rtt_window, drop_window
        self.base_probe_after, self.max_probe_after = probe_after, max_probe_after
        self._waits = [probe_after] * len(LADDER)  # before a try of each rung
        self.rung = start
        self.steps_down = 0
        self.steps_up = 0
        self.last_step_down: str | None = None   # why the controller last stepped down
        self._rtts: deque[tuple[float, float]] = deque()
        self._last_queue: float | None = None
        self._congested_since: float | None = None
        self._changed_at: float | None = None
        self._probing = False  # the last change was a try upwards
        self._drops: deque[float] = deque()  # when rung 0 lost a frame to a full window

    @property
    def probe_after(self) -> float:
        """Seconds without congestion before the next try one rung up.

        >>> BitrateController(1e6, probe_after=5.0).probe_after
        5.0
        """
        return self._waits[max(0, self.rung - 1)]

    def rate(self, rung: int | None = None) -> float:
        """The bit rate of ``rung`` (default: the current one)."""
        return self.source_bps * LADDER[self.rung if rung is None else rung].fraction

    def target(self) -> Target:
        """The current rung as a :class:`Target`."""
        rung = LADDER[self.rung]
        return Target(self.rung, self.rung == 0, int(self.rate()), rung.scale,
                      rung.jpeg_quality, rung.fps_divisor)

    def _base_rtt(self, now: float, rtt: float) -> float:
        self._rtts.append((now, rtt))
        while self._rtts and self._rtts[0][0] < now - self.rtt_window:
            self._rtts.popleft()
        return min(r for _, r in self._rtts)

    def set_source(self, source_bps: float) -> None:
        """The stream's bit rate changed (measured): the rungs' rates follow it.

        >>> ctl = BitrateController(1e6); ctl.set_source(2e6); ctl.rate(1)
        1200000.0
        """
        self.source_bps = _positive("source_bps", source_bps)

    def update(self, now: float, delivered_bps: float | None, rtt: float,
               demand_bps: float | None = None, overhead_bps: float = 0.0) -> Target:
        """One measurement from the acks at ``now`` (s): delivered bit/s (None: not known yet,
        only the round trip counts) and round trip (s); ``demand_bps``, what the rung would
        send if every frame went (default: its rate plus the overhead); ``overhead_bps``, what
        the link carries besides the picture (message envelopes, status messages): delivered
        and demand count it, and a rung fits when its rate and the overhead do.

        >>> ctl = BitrateController(2_200_000)
        >>> for t in (0.5, 1.0, 1.5):                # 1 Mbit/s arrives, 0.3 of it envelopes
        ...     target = ctl.update(t, 1_000_000, 0.05, overhead_bps=300_000)
        >>> target.label                             # 0.77 + 0.3 would not fit, 0.44 + 0.3 does
        'vp8 0.44 Mbit/s ×0.5'
        >>> BitrateController(1e6).update(now=0.0, delivered_bps=-1, rtt=0.05)
        Traceback (most recent call last):
        ...
        ValueError: delivered_bps must be a number >= 0, got -1
        """
        if delivered_bps is not None:
            delivered_bps = _at_least_zero("delivered_bps", delivered_bps)
        overhead = _at_least_zero("overhead_bps", overhead_bps)
        demand = self.rate() + overhead if demand_bps is None else _at_least_zero(
            "demand_bps", demand_bps)
        rtt = _at_least_zero("rtt", rtt)
        if self._changed_at is None:
            self._changed_at = now
        queue = rtt - self._base_rtt(now, rtt)
        draining = self._last_queue is not None and queue < self._last_queue
        self._last_queue = queue
        queued = queue > self.queue_limit and not draining
        short = delivered_bps is not None and delivered_bps < self.loss_ratio * demand
        if not (queued or short):
            self._congested_since = None
            waited = now - self._changed_at
            if self._probing and waited >= self._waits[self.rung]:
                self._probing = False  # the try held
                self._waits[self.rung] = max(self.base_probe_after, self._waits[self.rung] / 2)
            quiet = queue <= self.queue_limit / 3
            if quiet and self.rung > 0 and not self._probing and waited >= self.probe_after:
                self._step(now, self.rung - 1, probing=True)
            return self.target()
        if self._congested_since is None:
            self._congested_since = now
        if now - self._congested_since >= self.hold:
            fits = self.headroom * (demand if delivered_bps is None else delivered_bps) - overhead
            self._step_down(now, fits, f"round trip {1000 * queue:.0f} ms above its low"
                            if queued else f"{(delivered_bps or 0) / 1e6:.2g} of "
                            f"{demand / 1e6:.2g} Mbit/s delivered")
        return self.target()

    def dropped(self, now: float) -> Target:
        """Flow control dropped a frame of the stream's own video at ``now`` because the
        window was full (rung 0 only; a re-encoded rung encodes only the frames that go).

        >>> ctl = BitrateController(2e6)
        >>> ctl.dropped(now=1.0).rung, ctl.dropped(now=4.0).rung
        (0, 1)
        >>> ctl.last_step_down
        '2 frames dropped for a full window in 5 s'
        """
        if self.rung != 0:
            return self.target()
        self._drops.append(now)
        while self._drops[0] < now - self.drop_window:
            self._drops.popleft()
        if len(self._drops) >= 2:
            self._step_down(now, math.inf, f"{len(self._drops)} frames dropped for a full "
                            f"window in {self.drop_window:g} s")
        return self.target()

    def _step_down(self, now: float, fits: float, why: str) -> None:
        """One rung down, or more while the next one's rate is above ``fits`` bit/s; back to
        where it came from after a failed try upwards (whose wait doubles)."""
        if self.rung == len(LADDER) - 1:
            return
        self.last_step_down = why
        rung = self.rung + 1
        if self._probing:  # the try failed: back where it came from, wait longer
            self._waits[self.rung] = min(self.max_probe_after, 2 * self._waits[self.rung])
        else:
            while rung < len(LADDER) - 1 and self.rate(rung) > fits:
                rung += 1
        self._step(now, rung, probing=False)

    def _step(self, now: float, rung: int, *, probing: bool) -> None:
        if rung > self.rung:
            self.steps_down += 1
        else:
            self.steps_up += 1
        self.rung, self._changed_at, self._probing = rung, now, probing
        self._congested_since = None
        self._drops.clear()


class RateMeter:
    """Bytes (or items) per second over the last ``window`` seconds, in the caller's time.

    Each sample is what accrued since the one before it (or since the meter started or was
    :meth:`reset`), spread evenly over that span; the window counts the share of each span
    inside it. So samples that come every half second (acks batched by the browser) give the
    same rate, exactly, wherever the window's edge falls between them.

    :meth:`rate` is None until samples span at least ``min_span`` seconds (since the meter
    started or was :meth:`reset`): a rate over a few milliseconds says nothing.

    >>> meter = RateMeter(window=2.0, min_span=1.0)
    >>> for i in range(11):
    ...     meter.add(now=i / 10, amount=1000)
    >>> round(meter.rate(now=1.0))                  # 10 kB in the 1 s after the first sample
    10000
    >>> meter = RateMeter(window=2.0)
    >>> for i in range(9):                          # 50 kB every 0.6 s: the edge mid-span
    ...     meter.add(now=i * 0.6, amount=50_000)
    >>> round(meter.rate(now=4.8))
    83333
    >>> meter.reset(now=4.8); meter.rate(now=5.3) is None
    True
    """

    def __init__(self, window: float = 2.0, min_span: float = 1.0) -> None:
        self.window, self.min_span = window, min_span
        self._samples: deque[tuple[float, float]] = deque()
        self._since: float | None = None

    def add(self, now: float, amount: float = 1.0) -> None:
        """``amount`` arrived at ``now``, accrued since the previous sample."""
        if self._since is None:
            self._since = now
        self._samples.append((now, amount))
        # the newest sample older than the window stays: its time is where the next one began
        while len(self._samples) > 1 and self._samples[1][0] <= now - self.window:
            self._samples.popleft()

    def reset(self, now: float) -> None:
        """Forget every sample; the next rate needs ``min_span`` seconds from ``now``."""
        self._samples.clear()
        self._since = now

    def rate(self, now: float) -> float | None:
        """Per second over the window ending at ``now`` (None: not long enough measured)."""
        if self._since is None or now - self._since < self.min_span:
            return None
        start = max(self._since, now - self.window)
        span, total, began = now - start, 0.0, self._since
        for at, amount in self._samples:
            if start < at <= now:
                total += amount * (at - max(began, start)) / (at - began) if at > began \
                    else amount
            began = at
        return total / span if span > 0 else None


def _at_least_zero(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of bit/s, got {value!r}")
    return float(value)


__all__ = ["LADDER", "BitrateController", "RateMeter", "Rung", "Target"]
