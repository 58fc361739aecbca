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
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from mezon_nb.core.loop import LoopThread
from mezon_nb.media.encoded import EncodedFrame, h264_codec_string
from mezon_nb.widgets import cells
from mezon_nb.widgets.flow import FlowControl, Job
from mezon_nb.widgets.jpeg import encode, shrink
from mezon_nb.widgets.keyframes import KeyframeGate

log = logging.getLogger(__name__)

#: Encoded bytes that may be unacknowledged per widget in pass-through (a 720p VP8 keyframe and
#: about 10 frames; at 2 Mbit/s about 0.5 s of link).
PASS_BYTES = 128 * 1024
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
    a simulated one, so pacing and expiry do not depend on how busy the machine is. Call
    :meth:`set_source`, :meth:`offer`, :meth:`set_visible` and :meth:`ack` from any thread.

    >>> FramePump(lambda content, buffers: None).close()
    """

    def __init__(self, send: Callable[[dict, list], Any], *, flow: FlowControl | None = None,
                 quality: int = 80, on_painted: Callable[[Job, float | None], Any] | None = None,
                 runner: LoopThread | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        cells.install()
        self.flow = flow or FlowControl()
        self.clock = clock
        self.quality = quality
        self.base64 = False
        self.transport = "auto"             # or "jpeg": never pass encoded video through
        self.mode = "jpeg"                  # what runs now: "jpeg" or "passthrough"
        self.gate = KeyframeGate()
        self.decode_errors = 0
        self._lossless_delay = self.flow.lossless_delay
        self._codecs: dict[str, frozenset[str]] = {}   # view -> codecs it decodes
        self._send = send
        self._on_painted = on_painted
        self._runner = runner or LoopThread.shared()
        self._views: dict[str, int | None] = {}     # visible view -> its width in pixels
        self._unsubscribe: Callable[[], Any] | None = None
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

        >>> pump = FramePump(lambda content, buffers: None)
        >>> pump.set_source(None); pump.close()
        """
        self._source = source
        self._call(self._follow, source)

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
        if isinstance(frame, EncodedFrame):
            if self.mode == "passthrough":
                self.flow.offer(frame, frame.size)
                if self.gate.poll(self.clock()):
                    source.request_keyframe()
        elif self.mode == "jpeg":
            self.flow.offer(frame)

    def _follow(self, source: Any) -> None:
        """Subscribe to ``source`` as the mode says (loop thread)."""
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
        self.flow.clear()
        if source is None or source is not self._source:
            return
        if self.mode == "passthrough":
            self.gate = KeyframeGate()
            self._unsubscribe = source.listen_encoded(
                lambda frame: self._call(self._offer_from, source, frame))
            source.request_keyframe()
        else:
            self._unsubscribe = source.listen_frames(
                lambda frame: self._call(self._offer_from, source, frame))
            latest = source.latest_frame(timeout=0)
            if latest is not None:
                self._offer_from(source, latest)

    def _choose_mode(self) -> None:
        codec = PASS_CODECS.get(str(getattr(self._source, "codec", None) or "").lower())
        views = list(self._views)       # a view that has not spoken yet decodes nothing
        if not views and self._source is not None:
            return                      # nothing on screen: nothing goes, keep the mode
        passthrough = (self.transport == "auto" and codec is not None and bool(views)
                       and hasattr(self._source, "listen_encoded")
                       and all(codec in self._codecs.get(v, ()) for v in views))
        mode = "passthrough" if passthrough else "jpeg"
        if mode == self.mode:
            return
        self.mode = mode
        self.flow.byte_window = PASS_BYTES if passthrough else None
        self.flow.lossless_delay = None if passthrough else self._lossless_delay
        self._follow(self._source)

    def _keyframe_needed(self, reason: str) -> None:
        if reason == "error":
            self.decode_errors += 1
        now = self.clock()
        if reason == "start":
            ask = True          # the source limits the rate of its requests
        else:
            ask = self.gate.fell_behind(now) if reason == "behind" else \
                self.gate.decoder_error(now)
        if ask and self._source is not None and self.mode == "passthrough":
            self._source.request_keyframe()

    def _admit(self, payload: Any) -> bool:
        if not isinstance(payload, EncodedFrame):
            return True
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
            if view != "displayed":
                self._codecs[view] = codecs
        else:
            self._views.pop(view, None)
            self._codecs.pop(view, None)
        self.flow.set_visible(bool(self._views))
        self._choose_mode()

    def _target_width(self) -> int | None:
        widths = [w for w in self._views.values() if w is not None]
        return max(widths) if widths and len(widths) == len(self._views) else None

    def _acks(self, painted: list[tuple[int, float | None]], skipped: list[int],
              flushed_at: float | None) -> None:
        self.flow.stats.ack_messages += 1
        now = self.clock()
        for frame_id in skipped:
            self.flow.skipped(frame_id)
        for frame_id, painted_at in painted:
            held = (0.0 if painted_at is None or flushed_at is None
                    else max(0.0, flushed_at - painted_at) / 1000.0)
            job = self.flow.acked(frame_id, now, None if painted_at is None
                                  else painted_at / 1000.0, held)
            if job is None:
                continue
            captured = getattr(job.payload, "captured_at", None)
            if painted_at is not None and captured is not None:
                self.glass_to_glass_ms.append(painted_at - captured * 1000.0)
            if self._on_painted is not None:
                self._on_painted(job, painted_at)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopped:
            now = self.clock()
            job = self.flow.take(now, cells.kernel_busy(), self._admit)
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
            return
        frame, width = job.payload, self._target_width()

        def encode_frame() -> tuple[bytes, tuple[int, ...], float]:
            started = time.perf_counter()
            array = frame.array          # a media Frame converts to rgb24 on first access
            return encode(shrink(array, width), job.mime, self.quality), array.shape, started

        data, shape, started = await loop.run_in_executor(_ENCODERS, encode_frame)
        encode_s = time.perf_counter() - started
        content = {
            "type": "frame", "id": job.frame_id, "mime": job.mime, "flush": job.flush,
            "width": int(shape[1]), "height": int(shape[0]),
            "captured_at": getattr(frame, "captured_at", None),
            "sent_at": time.time() * 1000.0,
        }
        if self._stopped:
            return
        if self.base64:
            content["data"] = base64.b64encode(data).decode("ascii")
            self._send(content, [])
        else:
            self._send(content, [data])
        self.flow.transmitted(job.frame_id, self.clock(), len(data), encode_s)

    def _pass_through(self, job: Job, frame: EncodedFrame) -> None:
        codec = frame.codec
        if codec == "h264":
            codec = (h264_codec_string(frame.data) or "avc1.42e01f") if frame.key else "h264"
        content = {
            "type": "video", "id": job.frame_id, "codec": codec, "key": frame.key,
            "timestamp": frame.timestamp * 100 // 9,     # 90 kHz RTP clock -> microseconds
            "size": frame.size, "seq": frame.index, "flush": job.flush,
            "width": frame.width, "height": frame.height,     # keyframes of VP8 say them
            "sent_at": time.time() * 1000.0,
        }
        if self._stopped:
            return
        if self.base64:
            content["data"] = base64.b64encode(frame.data).decode("ascii")
            self._send(content, [])
        else:
            self._send(content, [frame.data])
        self.flow.transmitted(job.frame_id, self.clock(), frame.size, 0.0)


__all__ = ["FramePump", "FrameSource"]
