"""Frame flow control for the video widgets: pure decisions, no I/O, no threads, no clock.

:class:`FlowControl` decides *what* to send *when*; the caller (:mod:`mezon_nb.widgets.pump`)
passes the time in, encodes, and moves bytes (the README's "Life of a frame" shows where this
sits in a frame's path). The rule, written out here only (jupyter_rfb's, with additions):

* a frame is sent only while fewer than ``max_in_flight`` (2) frames are unacknowledged, and it
  is always the newest one: frames that arrive meanwhile overwrite a one-slot buffer; an
  unacknowledged frame stops counting after ``ack_timeout`` (1 s);
* acks are batched: the frontend acknowledges a frame at once only when the job says
  ``flush``, and otherwise within :data:`ACK_DELAY_S` (half a second), several frames per
  message. Every frontend-to-kernel message makes the kernel read it on its shell channel and
  publish a busy and an idle status, which JupyterLab re-renders (about 30 ms of Chromium CPU
  per ack message at 720p on our 2-core machines), so fewer acks leave the browser time to
  paint and the kernel idle. While the frontend paints fast (its last 8 frames painted, none
  overtaken, each within ``fast_roundtrip``, 0.1 s, of being sent, less the time its ack was
  held back) nothing queues on the link, and the window grows by ``fast_extra`` (20) frames,
  more than arrive between two timed ack messages at 30 fps (15): then acks come about twice
  a second, and ``flush`` is asked 2 frames before that window is full, a safety valve for
  faster sources. On a slower link the window is ``max_in_flight``, which bounds the queue,
  and ``flush`` marks the frame that fills it. One ``flush`` frame at a time: until its ack
  comes (or it expires) no other frame is marked, and the acks of the frames sent meanwhile
  ride in a later batch; otherwise each of them would ask for a message of its own (on a link
  that queues, a round trip's worth of frames, one message each);
* while a cell keeps the kernel busy, acks cannot arrive (ipykernel queues them behind the
  cell), so frames are paced instead at :meth:`FlowControl.busy_rate`, the rate the frontend
  painted before the cell (10 % less when the frontend rather than the source set that rate;
  ``busy_fps``, 10, before it painted any), in bursts of at most ``max_in_flight`` and with at
  most that rate times ``ack_timeout`` frames unacknowledged, none marked ``flush`` (its ack
  cannot be read before the cell ends; the frontend batches them); when the cell ends, the
  window of ``max_in_flight`` applies again to every unacknowledged frame;
* ``lossless_delay`` (0.3 s) after the last JPEG with no newer frame, that frame is re-sent once
  as PNG; nothing is sent while no view is visible;
* for encoded video (pass-through) a ``byte_window`` also bounds the bytes in flight (frames
  offered with their ``size``; not while a cell runs: acks cannot come then, and the busy pace
  bounds what goes), the frame window is at least ``BYTE_WINDOW_FRAMES``, and a frame is marked
  ``flush`` once half the bytes are out. While the frontend paints fast the byte window is
  ``FAST_BYTES`` (3) times as large: nothing queues then, most bytes in flight are frames
  painted whose acks wait for the batch, and half a second of a 720p stream (~140 kB) would
  not fit the window of a slow link. A frame whose ack is overdue (``ack_timeout``) frees
  its slot but its bytes count until it is acknowledged, up to ``OVERDUE_S`` (8 s): on a link
  slower than the stream the acks come late because the bytes are still queued, and sending
  more then would only lengthen the queue; ``take(admit=...)`` lets the caller refuse
  the frame due (a delta frame after a gap): it is dropped, counted in ``stats.refused``;
* a frame replaced by a newer one while it waited for room in a full window (bytes or
  frames, not the busy pace) counts in ``stats.overflowed``: the link or the browser did not
  take the frames as fast as they came.

Several widgets may share one :class:`SharedBudget` of in-flight frames (``StreamGrid``): it
shares a browser that cannot keep up, so a widget takes budget slots only while its frontend is
not painting fast (with batched acks, a small budget would otherwise cap every stream at a few
frames per ack interval).

>>> flow = FlowControl()
>>> flow.set_visible(True)
>>> flow.offer("frame-a")
>>> job = flow.take(now=0.0)
>>> (job.frame_id, job.payload, job.mime)
(1, 'frame-a', 'image/jpeg')
>>> flow.acked(1, now=0.02).payload
'frame-a'
>>> flow.take(now=0.1) is None      # nothing new, PNG not due yet
True
>>> flow.take(now=0.4).mime         # the pause: the same frame, lossless
'image/png'
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from mezon_nb.widgets.jpeg import JPEG, PNG

_RECENT = 256  # sent frames remembered so that late acks still resolve (snapshot, stats,
               # the round trip of a slow link: more than the 30-frame window in flight)
_MARGIN = 0.9  # busy pace / paint rate when the frontend, not the source, set that rate
_FAST_SAMPLES = 8  # frames that must all be painted fast before the window grows
BYTE_WINDOW_FRAMES = 30  # the frame window while bytes are bounded instead (1 s at 30 fps)
FAST_BYTES = 3  # the byte window's multiple while the frontend paints fast
#: The longest the frontend holds an ack to batch it with others (viewer.js's ACK_DELAY_MS).
ACK_DELAY_S = 0.5
OVERDUE_S = 8.0  # how long an overdue frame's bytes still count in the byte window


@dataclass
class Job:
    """One frame the caller should encode and send now (already counted as in flight);
    ``paced``: sent while a cell kept the kernel busy (outside the ack window and the budget);
    ``offered``: how many frames had been offered when it was taken (its place in the source);
    ``flush``: the frontend should acknowledge it as soon as it is painted or overtaken (sending
    it filled the window or the shared budget, or half the byte window; at most one such frame
    is unacknowledged at a time);
    ``budgeted``: it holds a slot of the shared budget until acknowledged or expired.

    >>> Job(frame_id=3, payload=None, mime="image/png", sent_at=1.5).frame_id
    3
    """

    frame_id: int
    payload: Any
    mime: str
    sent_at: float
    nbytes: int = 0
    encode_s: float = 0.0
    paced: bool = False
    offered: int = 0
    flush: bool = False
    budgeted: bool = False


class SharedBudget:
    """A cap on frames in flight across several widgets, granted in turn.

    A widget that could send but finds the budget spent queues up; freed slots go to the queue
    in order, so one fast stream cannot starve the others. ``listeners`` are called (no
    arguments) whenever a slot is freed, to wake the waiting senders.

    >>> budget = SharedBudget(1)
    >>> budget.try_take("a"), budget.try_take("b")
    (True, False)
    >>> budget.release(); budget.try_take("a"), budget.try_take("b")
    (False, True)
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a budget needs at least 1 frame in flight, got {limit}")
        self.limit = limit
        self.in_flight = 0
        self.listeners: list = []
        self._queue: list[object] = []

    def try_take(self, owner: object) -> bool:
        """Take a slot for ``owner`` if one is free and nobody queued earlier is waiting.

        >>> SharedBudget(2).try_take("a")
        True
        """
        ahead = self._queue.index(owner) if owner in self._queue else len(self._queue)
        if self.limit - self.in_flight > ahead:
            self.withdraw(owner)
            self.in_flight += 1
            return True
        if owner not in self._queue:
            self._queue.append(owner)
        return False

    def withdraw(self, owner: object) -> None:
        """Leave the queue (the owner has nothing to send, is hidden or closed).

        >>> SharedBudget(1).withdraw("a")
        """
        if owner in self._queue:
            self._queue.remove(owner)

    @property
    def exhausted(self) -> bool:
        """Whether every slot is taken.

        >>> budget = SharedBudget(1); budget.exhausted, budget.try_take("a"), budget.exhausted
        (False, True, True)
        """
        return self.in_flight >= self.limit

    def release(self) -> None:
        """Give a slot back and wake the waiting senders.

        >>> budget = SharedBudget(1); budget.try_take("a"); budget.release(); budget.in_flight
        True
        0
        """
        self.in_flight = max(0, self.in_flight - 1)
        for listener in list(self.listeners):
            listener()


@dataclass
class FlowStats:
    """Counters and recent samples kept by :class:`FlowControl` (times in seconds).

    >>> FlowStats().sent
    0
    """

    sent: int = 0
    acked: int = 0
    expired: int = 0
    superseded: int = 0
    lossless: int = 0
    bytes_sent: int = 0
    roundtrips: deque = field(default_factory=lambda: deque(maxlen=60))
    encodes: deque = field(default_factory=lambda: deque(maxlen=60))
    skipped: int = 0
    refused: int = 0
    ack_times: deque = field(default_factory=lambda: deque(maxlen=240))  # (arrived, painted)
    ack_messages: int = 0
    overflowed: int = 0


class FlowControl:
    """The in-flight window, the busy-cell pacing, the one-slot frame buffer, the PNG-on-pause
    timer and visibility.

    All methods take the current time (``time.monotonic()`` seconds) and must be called from one
    thread (the library's loop thread). ``busy`` tells whether a cell is running.

    >>> flow = FlowControl(max_in_flight=1)
    >>> flow.set_visible(True); flow.offer(1); flow.take(now=0.0).frame_id
    1
    >>> flow.offer(2); flow.take(now=0.1) is None      # window full
    True
    >>> flow.take(now=1.1).payload                       # frame 1 expired after ack_timeout
    2
    >>> flow.offer(3); flow.take(now=1.2, busy=True).payload     # a cell runs: paced instead
    3
    >>> flow.offer(4); flow.take(now=1.2, busy=True) is None    # at busy_fps: none acked yet
    True
    >>> round(flow.next_wakeup(now=1.2), 3)
    0.1
    """

    def __init__(self, max_in_flight: int = 2, ack_timeout: float = 1.0, busy_fps: float = 10.0,
                 lossless_delay: float | None = 0.3, budget: SharedBudget | None = None,
                 fast_extra: int = 20, fast_roundtrip: float = 0.1) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        if fast_extra < 0:
            raise ValueError(f"fast_extra must be 0 or more, got {fast_extra}")
        self.max_in_flight = max_in_flight
        self.fast_extra = fast_extra
        self.fast_roundtrip = fast_roundtrip
        self.ack_timeout = ack_timeout
        self.busy_fps = busy_fps
        self.lossless_delay = lossless_delay
        self.budget = budget
        self.byte_window: int | None = None
        self.visible = False
        self.stats = FlowStats()
        self._next_id = 1
        self._pending: Any = None
        self._pending_size = 0
        self._has_pending = False
        self._last: Any = None              # newest payload sent (re-sent on show / pause)
        self._lossless_at = math.inf
        self._in_flight: dict[int, Job] = {}     # counted in the window until acked or expired
        self._overdue: dict[int, Job] = {}       # expired, their bytes still counted
        self._recent: OrderedDict[int, Job] = OrderedDict()
        self._timely: deque = deque(maxlen=60)  # (painted, offered) behind capacity()
        self._quick: deque = deque(maxlen=_FAST_SAMPLES)  # recent frames painted fast?
        self._offered = 0
        self._full = False                       # the last take found the window full
        self._flush_id = 0                       # the newest frame sent marked flush
        self._pace: float | None = None          # frames/s while a cell runs, else None
        self._paced_at = 0.0                     # when the next paced frame is due (GCRA)

    # -- inputs -----------------------------------------------------------------------------

    def offer(self, payload: Any, size: int = 0) -> None:
        """A new frame (``size`` bytes, when known): it replaces any frame still waiting.

        >>> flow = FlowControl(); flow.offer("a"); flow.offer("b"); flow.stats.superseded
        1
        """
        if self._has_pending:
            self.stats.superseded += 1
            self.stats.overflowed += int(self._full)
        self._pending, self._has_pending, self._pending_size = payload, True, size
        self._offered += 1

    def set_visible(self, visible: bool) -> None:
        """Whether any view is on screen; becoming visible re-sends the last frame.

        >>> flow = FlowControl(); flow.offer("a"); flow.set_visible(True)
        >>> flow.take(now=0.0).payload
        'a'
        """
        if visible and not self.visible and not self._has_pending and self._last is not None:
            self._pending, self._has_pending, self._pending_size = self._last, True, 0
        self.visible = visible
        if not visible and self.budget is not None:
            self.budget.withdraw(self)

    def acked(self, frame_id: int, now: float, painted: float | None = None,
              held: float = 0.0) -> Job | None:
        """The frontend painted ``frame_id`` (at ``painted`` seconds on its own clock, if it
        said) and held the ack back ``held`` seconds to batch it; returns its job (None if
        unknown or too old). The roundtrip (send to paint, and the ack's way back) leaves
        ``held`` out.

        >>> FlowControl().acked(7, now=0.0) is None
        True
        """
        if frame_id in self._in_flight:
            self._free(frame_id)
        self._overdue.pop(frame_id, None)
        job = self._recent.get(frame_id)
        if job is not None:
            roundtrip, painted = now - job.sent_at - held, now if painted is None else painted
            self.stats.acked += 1
            self.stats.roundtrips.append(roundtrip)
            self.stats.ack_times.append((now, painted))
            if not job.paced and now - job.sent_at < self.ack_timeout:
                self._timely.append((painted, job.offered))
                self._quick.append(roundtrip < self.fast_roundtrip)
        return job

    def skipped(self, frame_id: int) -> Job | None:
        """The frontend dropped ``frame_id`` unpainted (a newer one overtook it): free its slot;
        the window stays at ``max_in_flight`` until 8 frames in a row are painted fast.
        Returns its job (its bytes did cross the link), None if unknown or too old.

        >>> flow = FlowControl(); flow.skipped(3) is None, flow.stats.skipped
        (True, 1)
        """
        if frame_id in self._in_flight:
            self._free(frame_id)
        self._overdue.pop(frame_id, None)
        self._quick.append(False)
        self.stats.skipped += 1
        return self._recent.get(frame_id)

    def transmitted(self, frame_id: int, now: float, nbytes: int, encode_s: float) -> None:
        """The caller finished encoding and sending ``frame_id`` (roundtrips count from here).

        >>> flow = FlowControl(); flow.transmitted(1, now=0.0, nbytes=100, encode_s=0.001)
        >>> flow.stats.bytes_sent
        100
        """
        job = self._recent.get(frame_id)
        if job is not None:
            job.sent_at, job.nbytes, job.encode_s = now, nbytes, encode_s
        self.stats.bytes_sent += nbytes
        self.stats.encodes.append(encode_s)

    def clear(self) -> None:
        """Forget the frames (a new stream): in-flight slots are released, nothing is re-sent.

        >>> flow = FlowControl(); flow.set_visible(True); flow.offer("a"); _ = flow.take(0.0)
        >>> flow.clear(); flow.in_flight
        0
        """
        for frame_id in list(self._in_flight):
            self._free(frame_id)
        self._overdue.clear()
        self._pending, self._has_pending, self._last = None, False, None
        self._lossless_at = math.inf

    # -- decisions --------------------------------------------------------------------------

    @property
    def bytes_in_flight(self) -> int:
        """Bytes of the frames in flight, and of those whose ack is overdue.

        >>> FlowControl().bytes_in_flight
        0
        """
        return sum(job.nbytes for job in (*self._in_flight.values(), *self._overdue.values()))

    @property
    def in_flight(self) -> int:
        """Frames sent and neither acknowledged nor expired.

        >>> FlowControl().in_flight
        0
        """
        return len(self._in_flight)

    def capacity(self) -> float:
        """Frames per second the frontend paints: the rate over its last 60 paints of frames
        sent outside busy cells and acknowledged within ``ack_timeout``, leaving out the
        longest fifth of the gaps between them; 0.0 before two.

        The gaps left out are pauses of the source and stalls of the ack loop (paced frames do
        not wait for acks); frames that arrive in bunches still count at their mean rate. A
        slower source lowers it too: then fewer frames go during a busy cell than the frontend
        could take.

        >>> flow = FlowControl(); flow.set_visible(True)
        >>> for i in range(4):
        ...     flow.offer(i); job = flow.take(now=i / 10)
        ...     _ = flow.acked(job.frame_id, now=i / 10 + 0.05)
        >>> round(flow.capacity(), 1)
        10.0
        """
        painted = sorted(p for p, _ in self._timely)
        gaps = sorted(b - a for a, b in pairwise(painted))
        kept = gaps[:len(gaps) - len(gaps) // 5]
        return len(kept) / sum(kept) if sum(kept) > 0 else 0.0

    def busy_rate(self) -> float:
        """Frames per second sent while a cell keeps the kernel busy, fixed when it starts:
        :meth:`capacity`, less 10 % if between most of those paints source frames went unpainted
        (then the frontend, not the source, set the pace, and the margin lets a frontend that
        queues frames catch up); ``busy_fps`` before the frontend painted two frames in time.

        >>> FlowControl().busy_rate()
        10.0
        """
        if self._pace is not None:
            return self._pace
        offered = [o for _, o in self._timely]
        skips = sum(b - a > 1 for a, b in pairwise(offered))
        margin = _MARGIN if 2 * skips > len(offered) - 1 else 1.0
        return self.capacity() * margin or self.busy_fps

    def take(self, now: float, busy: bool = False,
             admit: Callable[[Any], bool] | None = None) -> Job | None:
        """The frame to send now, counted as in flight, or None (then wait for a wake-up).
        ``admit(payload)`` is asked last; when it says False the frame is dropped.

        >>> FlowControl().take(now=0.0) is None          # nothing offered, nobody watching
        True
        >>> flow = FlowControl(); flow.byte_window = 100; flow.set_visible(True)
        >>> flow.offer("key", size=80); flow.take(now=0.0).flush     # half the bytes are out
        True
        >>> flow.offer("delta", size=30); flow.take(now=0.0).frame_id
        2
        >>> flow.offer("delta", size=10); flow.take(now=0.0) is None     # 110 bytes: full
        True
        >>> flow.offer("busy", size=10); flow.take(now=0.0, busy=True).payload  # paced instead
        'busy'
        >>> flow.offer("late", size=10); flow.take(now=9.0, admit=lambda p: False) is None
        True
        >>> flow.stats.refused, flow.stats.overflowed      # "delta" was replaced while full
        (1, 1)
        """
        self._set_busy(busy, now)
        self._expire(now)
        self._full = False
        if not self.visible:
            return None
        if self._has_pending:
            payload, mime = self._pending, JPEG
        elif now >= self._lossless_at:
            payload, mime = self._last, PNG
        else:
            if self.budget is not None:
                self.budget.withdraw(self)
            return None
        fast, window = self._pace is None and self._fast(), self.window
        byte_window = None if self.byte_window is None else \
            self.byte_window * (FAST_BYTES if fast else 1)
        if byte_window is not None:
            window = max(window, BYTE_WINDOW_FRAMES)
            if self._pace is None and self.bytes_in_flight >= byte_window:
                self._full = True
                return None
        if len(self._in_flight) >= window:
            self._full = self._pace is None
            return None
        if self._pace is not None:
            if now < self._paced_at - (self.max_in_flight - 1) / self._pace:
                return None
            self._paced_at = max(self._paced_at, now) + 1.0 / self._pace
        budget = self.budget if self._pace is None and not fast else None
        budgeted = budget is not None
        if budget is not None and not budget.try_take(self):
            return None
        if admit is not None and mime == JPEG and not admit(payload):
            if budget is not None:
                budget.release()
            self._pending, self._has_pending = None, False
            self.stats.refused += 1
            return None
        job = Job(self._next_id, payload, mime, now, paced=self._pace is not None,
                  offered=self._offered, budgeted=budgeted, nbytes=self._pending_size)
        self._next_id += 1
        self._in_flight[job.frame_id] = job
        self._recent[job.frame_id] = job
        while len(self._recent) > _RECENT:
            self._recent.popitem(last=False)
        self._pending, self._has_pending, self._last = None, False, payload
        if mime == PNG:
            self.stats.lossless += 1
        delay = self.lossless_delay
        self._lossless_at = now + delay if mime == JPEG and delay is not None else math.inf
        self.stats.sent += 1
        # a paced frame never asks for a quick ack: none is read before the cell ends, and
        # one ack message per frame would queue behind the cell (each makes the kernel publish
        # two status messages, hundreds at once on a slow link when the cell ends)
        job.flush = not job.paced and self._flush_id not in self._in_flight and (
            len(self._in_flight) >= window - (2 if fast else 0) or (
                budget is not None and budget.exhausted) or (
                byte_window is not None and 2 * self.bytes_in_flight >= byte_window))
        if job.flush:
            self._flush_id = job.frame_id
        return job

    def next_wakeup(self, now: float) -> float | None:
        """Seconds until a decision may change without any input (expiry, PNG or paced frame
        due), or None; call it after :meth:`take` returned None.

        >>> flow = FlowControl(); flow.set_visible(True); flow.offer("a"); _ = flow.take(0.0)
        >>> round(flow.next_wakeup(0.1), 3)              # the PNG of "a" is due at 0.3 s
        0.2
        """
        times = [job.sent_at + self.ack_timeout for job in self._in_flight.values()]
        times += [job.sent_at + OVERDUE_S for job in self._overdue.values()]
        if self.visible:
            times.append(self._lossless_at)
        if self._pace is not None and (self._has_pending or self._lossless_at <= now):
            times.append(self._paced_at - (self.max_in_flight - 1) / self._pace)
        soonest = min((t for t in times if t > now), default=math.inf)
        return None if soonest == math.inf else soonest - now

    def fps(self, now: float, window: float = 2.0) -> float:
        """Painted frames per second, over the acks that arrived in the last ``window`` seconds.

        The rate uses the frontend's paint times, so acks that queued up behind a busy cell and
        arrive in a burst do not inflate it.

        >>> FlowControl().fps(now=10.0)
        0.0
        """
        painted = [p for arrived, p in self.stats.ack_times if now - arrived <= window]
        if len(painted) < 2 or max(painted) <= min(painted):
            return 0.0
        return (len(painted) - 1) / (max(painted) - min(painted))

    def _set_busy(self, busy: bool, now: float) -> None:
        if not busy:
            self._pace = None
        elif self._pace is None:
            self._pace, self._paced_at = self.busy_rate(), now
            if self.budget is not None:
                self.budget.withdraw(self)

    @property
    def window(self) -> int:
        """Frames that may be unacknowledged now: ``max_in_flight``, plus ``fast_extra`` while
        the frontend paints fast, or the busy pace times ``ack_timeout`` while a cell runs.

        >>> flow = FlowControl(); flow.window
        2
        >>> for i in range(8):
        ...     flow.set_visible(True); flow.offer(i); job = flow.take(now=i / 10)
        ...     _ = flow.acked(job.frame_id, now=i / 10 + 0.03)
        >>> flow.window
        22
        """
        if self._pace is not None:
            return max(self.max_in_flight, math.ceil(self._pace * self.ack_timeout))
        return self.max_in_flight + (self.fast_extra if self._fast() else 0)

    def _fast(self) -> bool:
        return len(self._quick) == _FAST_SAMPLES and all(self._quick)

    def _expire(self, now: float) -> None:
        for frame_id, job in list(self._in_flight.items()):
            if now - job.sent_at >= self.ack_timeout:
                self.stats.expired += 1
                self._free(frame_id)
                if job.nbytes and not job.paced:
                    self._overdue[frame_id] = job
        for frame_id, job in list(self._overdue.items()):
            if now - job.sent_at >= OVERDUE_S:   # its ack was lost: stop waiting for it
                del self._overdue[frame_id]

    def _free(self, frame_id: int) -> None:
        job = self._in_flight.pop(frame_id)
        if job.budgeted and self.budget is not None:
            self.budget.release()


__all__ = ["ACK_DELAY_S", "FlowControl", "FlowStats", "Job", "SharedBudget"]
