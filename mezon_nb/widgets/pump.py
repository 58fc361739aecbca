"""The frame pump: moves frames from a stream to a widget on the library's loop thread.

A :class:`FramePump` listens to a :class:`FrameSource` (a ``StreamSession``: its
``listen_frames`` calls the pump on the loop thread, where the pump lives), keeps a
:class:`~mezon_nb.widgets.flow.FlowControl`, encodes in a small shared thread pool
(simplejpeg releases the GIL) and calls ``send(content, buffers)``: hops 6 to 8 of the
README's "Life of a frame", which gives the thread of each.

Pass-through: when every visible view said it decodes the stream's codec with WebCodecs (and
``transport`` is ``"auto"``), the pump follows ``listen_encoded`` instead and sends the
stream's own encoded frames (``{"type": "video", codec, key, timestamp, size}`` plus the bytes),
with nothing decoded in the kernel. A :class:`~mezon_nb.widgets.keyframes.KeyframeGate` lets no
delta frame go after a gap (frames superseded under flow control, RTP loss, a view that asked
for a keyframe); meanwhile it asks the stream server for one (rate limited). The bytes in
flight are bounded (``PASS_BYTES``); there is no PNG refresh (the browser shows the stream's
own pictures, no re-encoding loss to repair).

Adaptive bitrate (``adapt=True``, the default): from each ack message the pump measures what
reached the browser (bytes acknowledged per second, :class:`~mezon_nb.widgets.bitrate.RateMeter`)
and the round trip of the frames in it, and a
:class:`~mezon_nb.widgets.bitrate.BitrateController` picks a rung. Rung 0 is pass-through (or
JPEG at ``quality``); on a lower rung a view that decodes VP8 gets the stream decoded in the
kernel and re-encoded to VP8 at the rung's bitrate and scale (:mod:`.reencode`, a keyframe
first on every change), and the JPEG path uses the rung's quality and scale. The kernel
decodes only on a lower rung or while Python takes frames. ``path`` says which runs
(``webcodecs vp8``, ``vp8 1.3 Mbit/s ×1``, ``jpeg q60 ×0.5``). Frames lost *before* the kernel
(RTP loss between the stream server and the kernel: a frame arrives with ``gap``, and the video
waits for a keyframe) send less for a while whatever the link: from the loss until the stream's
next keyframe and for one measuring window after it, the controller hears only the round trip,
not the delivered rate, so a loss upstream is not taken for a small link. Nor is a blocking
cell: an ack message with a frame sent while a cell ran, or before a cell started or ended
(its ack may have waited in the shell queue behind the cell), measures nothing. In
pass-through a frame dropped for a full window (``flow.stats.overflowed``) that leaves the view
waiting for a keyframe goes to the controller too (``BitrateController.dropped``): the stream's
own video fills that link to the brim.

What the link carries is more than the frames: Jupyter wraps each frame message in an envelope
(header, parent header, metadata: ``FRAME_ENVELOPE``), and every ack message makes the kernel
publish a busy and an idle status (``ACK_STATUS``). The bytes in flight, the delivered rate and
the demand count them, and the controller takes them from what a rung may use: at 30 fps they
are about 0.25 Mbit/s, a quarter of a 1 Mbit/s link.

Why sending from the loop thread is safe: since ipykernel 4.3 a comm message is serialised and
signed in the calling thread and handed to the IOPub thread, which owns the socket; ipykernel
7.0.0 broke this (ipykernel#1450) and 7.1 fixed it, so ipykernel 7.0.x is the one version to
avoid. Routing sends through the kernel's own loop (``call_soon_threadsafe``) would keep every
send on the main thread, but that loop is blocked while a cell runs, and the picture must keep
moving then. Acks come the other way (shell channel, main thread, or a subshell in
JupyterLab >= 4.4) and are handed to the loop thread with ``call_soon_threadsafe``.

While a cell blocks the main thread, acks wait in the shell queue, so frames are paced (the rule
is :mod:`.flow`'s). Subshells do not help here with
ipykernel 7.4: it routes a comm's incoming messages to the subshell of the parent of that comm's
last send (``BaseComm._reply_subshell_for``), and a send from a background thread takes the main
shell's last request as parent, so the acks are pinned to the busy main shell. Measured through
jupyter_server (``benchmarks/widget_transport.py``, 30 fps source, a cell in ``time.sleep``): 30
fps painted by a fast frontend at 640x480 and 1280x720, with or without acks on a subshell (10
fps under the former 0.2 s fail-open), and 14-15 fps by one that takes 60 ms a frame, at a
steady delay.

>>> import types, numpy as np
>>> sent = []
>>> pump = FramePump(lambda content, buffers: sent.append(content))
>>> pump.offer(types.SimpleNamespace(array=np.zeros((4, 4, 3), np.uint8)))
>>> pump.set_visible("view-1", True)
>>> pump.wait_until(lambda: sent, timeout=5)
True
>>> sent[0]["type"], sent[0]["id"], sent[0]["mime"]
('frame', 1, 'image/jpeg')
>>> pump.close()
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import dataclasses
import logging
import math
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from mezon_nb.core.loop import LoopThread
from mezon_nb.media.encoded import EncodedFrame, h264_codec_string
from mezon_nb.widgets import cells
from mezon_nb.widgets.bitrate import LADDER, BitrateController, RateMeter, Target
from mezon_nb.widgets.flow import FlowControl, Job
from mezon_nb.widgets.jpeg import encode, resize, shrink
from mezon_nb.widgets.keyframes import KeyframeGate
from mezon_nb.widgets.reencode import Vp8Reencoder, scaled_size

log = logging.getLogger(__name__)

#: Bytes on the link that may be unacknowledged per widget in pass-through (a 720p VP8 keyframe
#: and about 10 frames with their envelopes; at 2 Mbit/s about 0.5 s of link).
PASS_BYTES = 128 * 1024
#: Bytes Jupyter adds to one frame message on its way to the browser, and the two status
#: messages (busy, idle) the kernel publishes for each message from the browser: measured per
#: message through the shaped link of benchmarks/browser.py (JupyterLab 4, 2026-12-04).
FRAME_ENVELOPE = 800
ACK_STATUS = 2 * 600
#: Seconds of a re-encoded rung's bitrate that may be unacknowledged (at least ``MIN_BYTES``):
#: its frames are small, and 128 KiB of them would queue seconds on the link it was chosen for.
REENCODE_WINDOW_S = 0.5
MIN_BYTES = 16 * 1024
#: The view ``display()`` stands for until its frontend speaks (see :meth:`FramePump.set_visible`).
DISPLAYED = "displayed"
#: Codecs the pump can pass through, as the session names them -> as the browser does.
PASS_CODECS = {"vp8": "vp8", "h264": "h264"}

_ENCODERS = concurrent.futures.ThreadPoolExecutor(max_workers=2,
                                                  thread_name_prefix="mezon_nb-encode")


class FrameSource(Protocol):
    """What the pump follows (``mezon_nb.media.StreamSession`` is the one)."""

    def listen_frames(self, fn: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``fn(frame)`` on the receive path (the loop thread); returns unsubscribe."""
        ...

    def latest_frame(self, timeout: float | None = None) -> Any:
        """The newest frame, or ``None``."""
        ...

    def listen_encoded(self, fn: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``fn(encoded_frame)`` on the loop thread; returns unsubscribe."""
        ...

    def request_keyframe(self) -> None:
        """Ask the stream server for a keyframe."""
        ...


class FramePump:
    """Sends a source's newest frames through ``send(content, buffers)`` under flow control.

    ``on_painted(job, painted_at)`` is called on the loop thread for each acknowledged frame;
    ``glass_to_glass_ms`` keeps the last 60 publisher-stamp-to-paint delays. ``clock`` (seconds,
    default ``time.monotonic``) is the time every flow-control decision is taken at; tests pass
    a simulated one, so pacing and expiry do not depend on how busy the machine is.
    ``adapt=False`` keeps rung 0 (pass-through, or JPEG at ``quality``) whatever the link;
    ``start_rung`` is the rung of :data:`~mezon_nb.widgets.bitrate.LADDER` to start on once the
    stream's rate is measured (a link known to be small). Call
    :meth:`set_source`, :meth:`offer`, :meth:`set_visible` and :meth:`ack` from any thread.

    >>> FramePump(lambda content, buffers: None).close()
    """

    def __init__(self, send: Callable[[dict, list], Any], *, flow: FlowControl | None = None,
                 quality: int = 80, on_painted: Callable[[Job, float | None], Any] | None = None,
                 runner: LoopThread | None = None,
                 clock: Callable[[], float] = time.monotonic, adapt: bool = True,
                 start_rung: int = 0) -> None:
        if isinstance(start_rung, bool) or not isinstance(start_rung, int) or not (
                0 <= start_rung < len(LADDER)):
            raise ValueError(f"start_rung must be a rung of the ladder (0..{len(LADDER) - 1}),"
                             f" got {start_rung!r}")
        cells.install()
        self.flow = flow or FlowControl()
        self.clock = clock
        self.quality = quality
        self.base64 = False
        self.transport = "auto"             # or "jpeg": never pass encoded video through
        self.mode = "jpeg"                  # what runs now: "jpeg", "passthrough" or "vp8"
        self.gate = KeyframeGate()
        self.decode_errors = 0
        self.images_sent = 0                # frames sent as still pictures (JPEG, PNG)
        self._overflowed_seen = 0           # flow.stats.overflowed, as last looked at
        self.adapt = adapt
        self.start_rung = start_rung
        self.bitrate: BitrateController | None = None   # made once the stream's rate is known
        self.reencoder = Vp8Reencoder()
        self._stream_bits = RateMeter()     # the stream's encoded bits, every frame
        self._stream_frames = RateMeter()   # the stream's frames
        self._delivered = RateMeter()       # bits the browser acknowledged, envelopes too
        self._ack_messages = RateMeter()    # ack messages from the browser
        self._sent_frames = RateMeter()     # frame messages sent (each in its envelope)
        self._stream_lossy = False          # the stream lost frames, no keyframe since
        self._stream_loss_at: float | None = None    # when the stream last was lossy
        self._cells_seen = cells.cell_changes()
        self._cells_quiet_at = -math.inf    # since when no cell started or ended (seen)
        self._sent_sizes: deque[int] = deque(maxlen=30)   # bytes of the last frames sent
        self._force_key = False             # the next re-encoded frame is a keyframe
        self._fresh = False                 # nothing sent yet on this path and rung
        self._encode_bitrate = 0            # what the re-encoder runs at (0: not chosen yet)
        self._vp8_seq = 0
        self._decoded = 0
        self._lossless_delay = self.flow.lossless_delay
        self._codecs: dict[str, frozenset[str]] = {}   # view -> codecs it decodes
        self._send = send
        self._on_painted = on_painted
        self._runner = runner or LoopThread.shared()
        self._views: dict[str, int | None] = {}     # visible view -> its width in pixels
        self._unsubscribe: Callable[[], Any] | None = None
        self._followed: Any = None     # the source _follow last subscribed to
        self._source: Any = None
        self._wake = asyncio.Event()
        self.glass_to_glass_ms: deque = deque(maxlen=60)
        if self.flow.budget is not None:
            self.flow.budget.listeners.append(self._wake_soon)
        self._stopped = False
        self._task = self._runner.start_task(self._run(), "mezon_nb-frame-pump")

    # -- inputs (any thread) ------------------------------------------------------------------

    def set_source(self, source: FrameSource | None) -> None:
        """Follow ``source`` (or nothing, with None); frames of the previous source are dropped.
        With None, the previous source has no listener of the pump left when this returns.

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.set_source(None); pump.close()
        """
        self._source = source
        self._call(self._follow, source)
        if source is None and self._runner.is_running() and not self._runner.in_loop_thread():
            self.wait_until(lambda: True)  # unsubscribed when this returns (calls run in order)

    def offer(self, frame: Any) -> None:
        """Hand a frame to the pump (newest wins).

        >>> import types, numpy as np
        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.offer(types.SimpleNamespace(array=np.zeros((2, 2, 3), np.uint8)))
        >>> pump.close()
        """
        self._call(self.flow.offer, frame)

    def set_visible(self, view: str, visible: bool, width: int | None = None,
                    codecs: Any = None) -> None:
        """Record whether frontend view ``view`` is on screen, and how many device pixels wide.

        Frames are reduced by whole factors to the widest visible view (full size when any
        visible view did not say its width). ``codecs``: what the view decodes with WebCodecs
        (``["vp8", "h264"]``; None without WebCodecs).

        :data:`DISPLAYED` is the view ``display()`` made before its frontend could speak: it
        counts only while a cell runs, when the frontend's own report waits in the shell queue
        behind the cell (frames flow when the next cell blocks at once). In an idle kernel the
        frontend speaks as soon as it has rendered, and frames sent before would only queue on
        a slow link, for a view that is not there yet, in front of its first keyframe.

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.set_visible("view-1", True)
        >>> pump.wait_until(lambda: pump.flow.visible)
        True
        >>> pump.close()
        """
        self._call(self._set_visible, view, visible, width,
                   frozenset(str(c) for c in codecs or ()))

    def set_transport(self, transport: str) -> None:
        """``"auto"`` (pass the stream's video through where the browser decodes it) or
        ``"jpeg"`` (always decode in the kernel and send JPEG).

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.set_transport("webm")
        Traceback (most recent call last):
        ...
        ValueError: transport must be 'auto' or 'jpeg', got 'webm'
        >>> pump.close()
        """
        if transport not in ("auto", "jpeg"):
            raise ValueError(f"transport must be 'auto' or 'jpeg', got {transport!r}")
        self.transport = transport
        self._call(self._choose_mode)

    def keyframe_needed(self, reason: str) -> None:
        """A view cannot go on without a keyframe: ``"start"`` (a new view: the others go on,
        a keyframe is asked for), ``"error"`` or ``"behind"`` (no delta frame goes until one).

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.keyframe_needed("error"); pump.close()
        """
        self._call(self._keyframe_needed, reason)

    def acks(self, painted: list[tuple[int, float | None]], skipped: Sequence[int] = (),
             flushed_at: float | None = None) -> None:
        """One batch of acks from the frontend: it painted each ``(frame_id, painted_at)`` and
        dropped the ``skipped`` ids unpainted (it fell behind, or could not decode them);
        ``flushed_at`` is when it sent the batch. Times are epoch milliseconds on the browser's
        clock; the time an ack was held back (``flushed_at - painted_at``) is left out of the
        roundtrip.

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.acks([(1, None)], skipped=[2])       # unknown ids are ignored
        >>> pump.close()
        """
        self._call(self._acks, list(painted), list(skipped), flushed_at)

    def close(self) -> None:
        """Stop the task and unsubscribe; safe to call twice.

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.close(); pump.close(); pump.closed
        True
        """
        self.set_source(None)
        if self.flow.budget is not None:
            self._call(self.flow.budget.withdraw, self.flow)
            if self._wake_soon in self.flow.budget.listeners:
                self.flow.budget.listeners.remove(self._wake_soon)
        self._call(setattr, self, "_stopped", True)
        if self._runner.is_running() and not self._runner.in_loop_thread():
            self.wait_until(self._task.done, timeout=5)

    @property
    def closed(self) -> bool:
        """Whether the pump's task has ended.

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.closed
        False
        >>> pump.close()
        """
        return self._task.done()

    def wait_until(self, condition: Callable[[], Any], timeout: float = 5.0) -> bool:
        """Let the loop thread work until ``condition()`` is true (tests, benchmarks).

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.wait_until(lambda: False, timeout=0.01)
        False
        >>> pump.close()
        """
        deadline = time.monotonic() + timeout
        while True:
            if not self._runner.in_loop_thread() and self._runner.is_running():
                self._runner.run(asyncio.sleep(0), timeout=timeout)  # drain posted calls
            if condition():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)

    # -- on the loop thread -----------------------------------------------------------------

    def _call(self, fn: Callable, *args: Any) -> None:
        def run() -> None:
            fn(*args)
            self._wake.set()
        self._runner.call_soon(run)

    def _offer_from(self, source: Any, frame: Any) -> None:
        if source is not self._source:    # a late frame of a replaced source is dropped
            return
        self._wake.set()
        now = self.clock()
        if isinstance(frame, EncodedFrame):
            self._stream_bits.add(now, 8 * frame.size)
            self._stream_frames.add(now)
            lossy = frame.gap or self._stream_lossy
            if lossy:
                self._stream_loss_at = now
            self._stream_lossy = lossy and not frame.key
            if self.mode == "passthrough":
                self.flow.offer(frame, frame.size)
                if self.gate.poll(now):
                    source.request_keyframe()
        elif self.mode != "passthrough":
            if not hasattr(source, "listen_encoded"):
                self._stream_frames.add(now)
            self._decoded += 1
            if self._decoded % self.target.fps_divisor == 0:
                self.flow.offer(frame)

    def _follow(self, source: Any) -> None:
        """Subscribe to ``source`` as the mode says (loop thread)."""
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
        self.flow.clear()
        fresh, self._followed = source is not self._followed, source
        if source is None or source is not self._source:
            return
        stops = []
        if hasattr(source, "listen_encoded"):   # pass-through, and the stream's rate
            stops.append(source.listen_encoded(
                lambda frame: self._call(self._offer_from, source, frame)))
        if self.mode == "passthrough":
            self.gate = KeyframeGate()
            source.request_keyframe()
        else:                                   # decoded in the kernel while this listens
            stops.append(source.listen_frames(
                lambda frame: self._call(self._offer_from, source, frame)))
            # a new source's newest picture shows at once; not after a change of path on the
            # same source: the kernel decoded nothing while it passed the video through, so its
            # newest decoded picture is old (it was painted seconds after newer ones)
            latest = source.latest_frame(timeout=0) if fresh else None
            if latest is not None:
                self._offer_from(source, latest)
        self._unsubscribe = lambda: [stop() for stop in stops]

    def _choose_mode(self) -> None:
        codec = PASS_CODECS.get(str(getattr(self._source, "codec", None) or "").lower())
        views = list(self._on_screen())  # a view that has not spoken yet decodes nothing
        if not views and self._source is not None:
            return                      # nothing on screen: nothing goes, keep the mode
        def everyone_decodes(name: str | None) -> bool:
            return bool(views) and all(name in self._codecs.get(v, ()) for v in views)

        webcodecs = self.transport == "auto" and hasattr(self._source, "listen_encoded")
        vp8 = webcodecs and everyone_decodes("vp8")
        if webcodecs and codec is not None and everyone_decodes(codec) and (
                self.target.rung == 0 or not vp8):
            mode = "passthrough"
        else:
            mode = "vp8" if vp8 else "jpeg"
        if mode == self.mode:
            return
        log.info("frame path: %s -> %s", self.mode, mode)
        self.mode = mode
        encoded = mode != "jpeg"
        self._set_byte_window()
        self.flow.lossless_delay = None if encoded else self._lossless_delay
        self._measure_afresh()
        self._follow(self._source)

    def _set_byte_window(self) -> None:
        if self.mode == "passthrough":
            self.flow.byte_window = PASS_BYTES
        elif self.mode == "vp8":
            self.flow.byte_window = max(MIN_BYTES,
                                        int(self.target.bitrate / 8 * REENCODE_WINDOW_S))
        else:
            self.flow.byte_window = None

    @property
    def target(self) -> Target:
        """The rung the bitrate controller chose (rung 0 before it measured anything).

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.target.rung, pump.target.passthrough
        (0, True)
        >>> pump.close()
        """
        if self.bitrate is None:
            rung = LADDER[0]
            return Target(0, True, 0, rung.scale, rung.jpeg_quality, rung.fps_divisor)
        return self.bitrate.target()

    @property
    def path(self) -> str:
        """Which picture goes now: ``webcodecs vp8`` (the stream's own), ``vp8 1.3 Mbit/s ×1``
        (re-encoded for a small link) or ``jpeg q80`` (``×0.5`` when scaled).

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.path
        'jpeg q80'
        >>> pump.close()
        """
        if self.mode == "passthrough":
            return f"webcodecs {str(getattr(self._source, 'codec', '') or '').lower()}"
        target = self.target
        if self.mode == "vp8":
            return target.describe(jpeg=False)
        return dataclasses.replace(target, jpeg_quality=self._jpeg_quality()).describe(
            jpeg=True)

    def adapt_stats(self) -> dict:
        """The bitrate controller's numbers for ``get_stats()``.

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.adapt_stats()
        {'rung': 0, 'steps_down': 0, 'steps_up': 0, 'last_step_down': None, \
'delivered_kbps': None, 'keyframes_made': 0}
        >>> pump.close()
        """
        delivered = self._delivered.rate(self.clock())
        ctl = self.bitrate
        return {"rung": self.target.rung, "steps_down": ctl.steps_down if ctl else 0,
                "steps_up": ctl.steps_up if ctl else 0,
                "last_step_down": ctl.last_step_down if ctl else None,
                "delivered_kbps": None if delivered is None else round(delivered / 1000, 1),
                "keyframes_made": self.reencoder.keyframes}

    def _jpeg_quality(self) -> int:
        rung = self.target.rung
        return self.quality if rung == 0 else min(self.quality, LADDER[rung].jpeg_quality)

    def _measure_afresh(self) -> None:
        """A new path or rung: what was measured before says nothing about it, and the
        measure starts with its first frame sent (its first keyframe may take a while)."""
        self._delivered.reset(self.clock())
        self._sent_frames.reset(self.clock())
        self._sent_sizes.clear()
        self._fresh = True
        self._encode_bitrate = 0

    def _adapt(self, now: float, roundtrips: list[float]) -> None:
        """One ack message's measurement for the bitrate controller (loop thread)."""
        if not self.adapt or not roundtrips:
            return
        stream_bps, fps = self._stream_bits.rate(now), self._stream_frames.rate(now)
        target = self.target
        if self.mode == "passthrough":
            pictures = stream_bps
        else:       # what this rung sends when every frame goes
            pictures = (statistics.fmean(self._sent_sizes) * 8 * fps / target.fps_divisor
                        if self._sent_sizes and fps else None)
        source = (stream_bps if self.mode != "jpeg" else
                  None if pictures is None else pictures / LADDER[target.rung].fraction)
        if not source:
            return
        # the envelopes of the frames that do go (a slow browser takes fewer than the stream
        # has), the status messages of the acks that come
        overhead = 8 * (FRAME_ENVELOPE * (self._sent_frames.rate(now) or 0)
                        + ACK_STATUS * (self._ack_messages.rate(now) or 0))
        if self.bitrate is None:
            self.bitrate = BitrateController(source, start=self.start_rung)
        else:
            self.bitrate.set_source(source)
        delivered = self._delivered.rate(now)
        if self._stream_loss_at is not None and now - self._stream_loss_at < \
                self._delivered.window:
            delivered = None    # less came because less arrived: it says nothing of the link
        self._follow_rung(target, self.bitrate.update(
            now, delivered, statistics.median(roundtrips),
            None if pictures is None else pictures + overhead, overhead))

    def _follow_rung(self, before: Target, after: Target) -> None:
        """The controller chose ``after`` (loop thread): a new rung is a new path, measured
        afresh."""
        if after.rung == before.rung:
            return
        log.info("bitrate: rung %d -> %d (%s)", before.rung, after.rung, after.label)
        self._measure_afresh()
        self._choose_mode()
        self._set_byte_window()

    def _overflowed(self) -> None:
        """Tell the controller when the stream's own video lost a frame to a full window and
        the view has to wait for a keyframe again (loop thread; before the gate sees the
        gap). Not while a cell runs: the pace decides what goes then."""
        overflowed = self.flow.stats.overflowed
        if overflowed == self._overflowed_seen:
            return
        self._overflowed_seen = overflowed
        if self.adapt and self.bitrate is not None and self.mode == "passthrough" and \
                not self.gate.waiting and not cells.kernel_busy():
            self._follow_rung(self.target, self.bitrate.dropped(self.clock()))

    def _keyframe_needed(self, reason: str) -> None:
        if reason == "error":
            self.decode_errors += 1
        now = self.clock()
        if reason == "start":
            ask = True          # the source limits the rate of its requests
        else:
            ask = self.gate.fell_behind(now) if reason == "behind" else \
                self.gate.decoder_error(now)
        if ask and self.mode == "vp8":
            self._force_key = True         # our own encoder makes it
        elif ask and self._source is not None and self.mode == "passthrough":
            self._source.request_keyframe()

    def _admit(self, payload: Any) -> bool:
        if not isinstance(payload, EncodedFrame):
            return True
        self._overflowed()
        decision = self.gate.offer(payload.index, payload.key, self.clock(), payload.gap)
        if decision.request_keyframe and self._source is not None:
            self._source.request_keyframe()
        return decision.forward

    def _wake_soon(self) -> None:
        self._wake.set()

    def _set_visible(self, view: str, visible: bool, width: int | None,
                     codecs: frozenset[str] = frozenset()) -> None:
        if visible:
            self._views[view] = width
            if view != DISPLAYED:
                self._codecs[view] = codecs
        else:
            self._views.pop(view, None)
            self._codecs.pop(view, None)
        self._follow_cells(cells.kernel_busy())
        self._choose_mode()

    def _on_screen(self) -> dict[str, int | None]:
        """The views frames are for (view -> width): those that said they are on screen,
        else the one ``display()`` made (see :meth:`set_visible`)."""
        spoke = {v: w for v, w in self._views.items() if v != DISPLAYED}
        return spoke or self._views

    def _follow_cells(self, busy: bool) -> None:
        """Whether frames go (loop thread): a view is on screen, and one that was only
        displayed counts while a cell runs."""
        views = self._on_screen()
        seen = bool(views) and (busy or DISPLAYED not in views)
        if seen != self.flow.visible:
            self.flow.set_visible(seen)

    def _target_width(self) -> int | None:
        views = self._on_screen()
        widths = [w for w in views.values() if w is not None]
        return max(widths) if widths and len(widths) == len(views) else None

    def _acks(self, painted: list[tuple[int, float | None]], skipped: list[int],
              flushed_at: float | None) -> None:
        self.flow.stats.ack_messages += 1
        now = self.clock()
        jobs = [self.flow.skipped(frame_id) for frame_id in skipped]
        roundtrips = []
        for frame_id, painted_at in painted:
            held = (0.0 if painted_at is None or flushed_at is None
                    else max(0.0, flushed_at - painted_at) / 1000.0)
            job = self.flow.acked(frame_id, now, None if painted_at is None
                                  else painted_at / 1000.0, held)
            if job is None:
                continue
            jobs.append(job)
            roundtrips.append(now - job.sent_at - held)
            captured = getattr(job.payload, "captured_at", None)
            if painted_at is not None and captured is not None:
                self.glass_to_glass_ms.append(painted_at - captured * 1000.0)
            if self._on_painted is not None:
                self._on_painted(job, painted_at)
        self._ack_messages.add(now)
        quiet_since = self._cells_quiet_since(now)
        if any(job is not None and (job.paced or job.sent_at < quiet_since) for job in jobs):
            self._delivered.reset(now)      # acks held back by a cell: no link measurement
            return
        # the frames, and the two status messages this ack message made the kernel publish
        self._delivered.add(now, 8 * (ACK_STATUS + sum(j.nbytes for j in jobs if j)))
        self._adapt(now, roundtrips)

    def _cells_quiet_since(self, now: float) -> float:
        """Since when no cell started or ended, as far as the pump has looked (loop thread):
        an ack for a frame sent before then may have waited behind a cell."""
        changes = cells.cell_changes()
        if changes != self._cells_seen:
            self._cells_seen, self._cells_quiet_at = changes, now
        return self._cells_quiet_at

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopped:
            now = self.clock()
            self._cells_quiet_since(now)
            busy = cells.kernel_busy()
            self._follow_cells(busy)
            job = self.flow.take(now, busy, self._admit)
            if job is None:
                self._wake.clear()
                delay = self.flow.next_wakeup(now)
                timer = None if delay is None else loop.call_later(delay, self._wake.set)
                await self._wake.wait()
                if timer is not None:
                    timer.cancel()
                continue
            try:
                await self._transmit(loop, job)
            except Exception:  # a frame that cannot be encoded or sent must not stop the pump
                log.exception("could not send frame %d", job.frame_id)

    async def _transmit(self, loop: asyncio.AbstractEventLoop, job: Job) -> None:
        if isinstance(job.payload, EncodedFrame):
            self._pass_through(job, job.payload)
        elif self.mode == "vp8":
            await self._reencode(loop, job)
        else:
            await self._jpeg(loop, job)

    async def _jpeg(self, loop: asyncio.AbstractEventLoop, job: Job) -> None:
        frame, width = job.payload, self._target_width()
        quality = self._jpeg_quality()
        scale = self.target.scale if self.adapt else 1.0

        def encode_frame() -> tuple[bytes, tuple[int, ...], float]:
            started = time.perf_counter()
            array = frame.array          # a media Frame converts to rgb24 on first access
            shape = array.shape
            if scale < 1:
                array = resize(array, *scaled_size(shape[1], shape[0], scale))
            return encode(shrink(array, width), job.mime, quality), shape, started

        data, shape, started = await loop.run_in_executor(_ENCODERS, encode_frame)
        self._deliver(job, {
            "type": "frame", "id": job.frame_id, "mime": job.mime, "flush": job.flush,
            "width": int(shape[1]), "height": int(shape[0]),
            "captured_at": getattr(frame, "captured_at", None),
        }, data, time.perf_counter() - started)

    async def _reencode(self, loop: asyncio.AbstractEventLoop, job: Job) -> None:
        frame, target = job.payload, self.target
        size = scaled_size(frame.width, frame.height, target.scale)
        keyframe, self._force_key = self._force_key, False
        # the measured stream rate moves the target a little all the time; a new bitrate is a
        # new encoder (a keyframe), so it follows only a change of the rung or of over 20 %
        bitrate = self._encode_bitrate
        if not bitrate or abs(target.bitrate - bitrate) > 0.2 * bitrate:
            bitrate = self._encode_bitrate = target.bitrate

        def encode_frame() -> tuple[tuple[bytes, bool] | None, float]:
            started = time.perf_counter()
            return self.reencoder.encode(frame, size, bitrate, keyframe), started

        out, started = await loop.run_in_executor(_ENCODERS, encode_frame)
        if out is None:                  # libvpx kept nothing of it: its slot is free again
            self.flow.skipped(job.frame_id)
            return
        data, key = out
        self._vp8_seq += 1
        self._deliver(job, {
            "type": "video", "id": job.frame_id, "codec": "vp8", "key": key,
            "timestamp": self.reencoder.pts * 100 // 9,   # 90 kHz -> microseconds
            "size": len(data), "seq": self._vp8_seq, "flush": job.flush,
            "width": size[0], "height": size[1],            # the coded size, as a keyframe's
            "display_width": frame.width, "display_height": frame.height,   # shown this big
            "captured_at": getattr(frame, "captured_at", None),
        }, data, time.perf_counter() - started)

    def _pass_through(self, job: Job, frame: EncodedFrame) -> None:
        codec = frame.codec
        if codec == "h264":
            codec = (h264_codec_string(frame.data) or "avc1.42e01f") if frame.key else "h264"
        self._deliver(job, {
            "type": "video", "id": job.frame_id, "codec": codec, "key": frame.key,
            "timestamp": frame.timestamp * 100 // 9,     # 90 kHz RTP clock -> microseconds
            "size": frame.size, "seq": frame.index, "flush": job.flush,
            "width": frame.width, "height": frame.height,     # keyframes of VP8 say them
        }, frame.data, 0.0)

    def _deliver(self, job: Job, content: dict, data: bytes, encode_s: float) -> None:
        """Send one frame's message and bytes (binary buffer, or base64 when the frontend
        cannot take buffers) and count it in flight."""
        if self._stopped:
            return
        content["sent_at"] = time.time() * 1000.0
        if self.base64:
            content["data"] = base64.b64encode(data).decode("ascii")
            self._send(content, [])
        else:
            self._send(content, [data])
        if content["type"] == "frame":
            self.images_sent += 1
        link_bytes = FRAME_ENVELOPE + len(content.get("data") or data)
        if self._fresh:
            self._fresh = False
            self._delivered.reset(self.clock())
        self._sent_sizes.append(len(data))
        self._sent_frames.add(self.clock())
        self.flow.transmitted(job.frame_id, self.clock(), link_bytes, encode_s)


__all__ = ["DISPLAYED", "FramePump", "FrameSource"]
