"""``StreamViewer``: a Mezon streaming channel playing live inside a notebook output.

The widget (``static/viewer.js``) has a channel picker, Join and Leave buttons, a status line
and the video with an overlay (fps, latency, resolution, viewers); with ``chat=True`` also a chat
pane (the channel's latest messages, a box to send as the bot; :mod:`.chatpane`). Frames reach
the browser in binary comm buffers, sent by the library's loop thread under the flow control
of :mod:`mezon_nb.widgets.flow`, so the picture keeps moving while another cell runs: the
stream's own VP8/H.264 frames, decoded by the browser's WebCodecs, where it can (pass-through,
:mod:`.pump`), else JPEG.

>>> from mezon_nb.widgets.viewer import StreamViewer
>>> sorted(set(StreamViewer.class_trait_names(sync=True)) & {"overlay", "status", "channels"})
['channels', 'overlay', 'status']
"""

from __future__ import annotations

import asyncio
import logging
import pathlib
import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import anywidget
import numpy as np
import traitlets

from mezon_nb.core.loop import LoopThread
from mezon_nb.errors import MezonError
from mezon_nb.widgets import cells
from mezon_nb.widgets.audience import Audience
from mezon_nb.widgets.chatpane import ChatFeed
from mezon_nb.widgets.flow import FlowControl, Job, SharedBudget
from mezon_nb.widgets.pump import DISPLAYED, FramePump

log = logging.getLogger(__name__)

_STATIC = pathlib.Path(__file__).parent / "static"


def channel_choices(client: Any) -> list[dict]:
    """The picker's entries: ``{"id", "label"}`` for each streaming channel (nothing else).

    >>> import types
    >>> info = types.SimpleNamespace(channel_id="7", label="demo", clan_id="1")
    >>> channel_choices(types.SimpleNamespace(streaming_channels=lambda: [info]))
    [{'id': '7', 'label': 'demo'}]
    """
    return [{"id": str(c.channel_id), "label": str(c.label or c.channel_id)}
            for c in client.streaming_channels()]


def _median_ms(samples: Any) -> float | None:
    return round(statistics.median(samples) * 1000.0, 2) if samples else None


class StreamViewer(anywidget.AnyWidget):
    """Live video of a Mezon streaming channel, with picker, Join/Leave, status and overlay.

    Frames are sent under :class:`~mezon_nb.widgets.flow.FlowControl` (its module holds the
    rule; the README's "Life of a frame" shows every hop and its thread): at most
    ``max_in_flight`` (2) unacknowledged, always the newest, paced while a cell blocks
    (``get_stats()["busy_fps"]``), the last one re-sent as PNG after ``lossless_delay`` (0.3 s)
    without a new frame. Nothing is sent while no output of the widget is on screen (a
    just-displayed output counts as on screen until its frontend reports) or after
    :meth:`close`.

    Where every visible output decodes the stream's codec with WebCodecs, the stream's own
    encoded frames go through (``transport="auto"``; at most 128 KiB unacknowledged, a keyframe
    asked for after any gap, nothing decoded in the kernel unless Python takes frames);
    ``transport="jpeg"`` always sends JPEG. JPEG frames are at ``quality`` (80), reduced by
    whole factors when they are at least twice as wide as the widest visible output (in device
    pixels); ``snapshot()`` stays full size.

    When the link to the browser is smaller than the stream (``adapt=True``, the default), the
    acks' delivered bytes and round trip choose a lighter picture (:mod:`.bitrate`): the stream
    decoded in the kernel and re-encoded to VP8 at a lower bitrate and scale for a view with
    WebCodecs, lower JPEG quality and scale otherwise; back up with hysteresis when the link
    allows; ``start_rung`` starts lower on the ladder (a link known to be small) once the
    stream's rate is measured, with the first acks (about a second: until then the picture
    goes as it would on rung 0).
    ``adapt=False`` keeps pass-through (or JPEG at ``quality``) whatever the link.
    ``get_stats()["path"]`` and the overlay say which path runs (``webcodecs vp8``,
    ``vp8 1.3 Mbit/s ×1``, ``jpeg q80``, ``jpeg q60 ×0.5``).
    Re-running the notebook cell that made a viewer closes the old one (its stream is left).
    ``channel_id=None`` joins nothing: pick a channel and press Join (or call :meth:`join`).
    Extra ``options`` go to ``client.join_stream``. ``budget`` shares an in-flight cap with
    other viewers (see ``StreamGrid``). ``chat=True`` adds the chat pane: the latest
    ``chat_limit`` messages of the joined channel (the ``chat_messages`` trait) and a box that
    sends as the bot (:meth:`send_chat`). ``clock`` (default ``time.monotonic``) is the time
    flow control decides by (tests pass a simulated one). The widget state holds channel ids,
    labels, status, overlay numbers and chat lines (sender name, text, time), never a token or
    a URL.

    In a notebook, ``display(client.viewer(channel_id))`` is all it takes:

    >>> viewer = client.viewer(sandbox.stream_channel_id)     # joins the stream
    >>> viewer.session.latest_frame(timeout=10).array.shape
    (240, 320, 3)
    >>> viewer.status in ("connecting", "waiting", "live")
    True
    >>> viewer.close()
    """

    _esm = _STATIC / "viewer.js"
    _css = _STATIC / "widgets.css"

    channel_id = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    channels = traitlets.List(traitlets.Dict()).tag(sync=True)
    status = traitlets.Unicode("idle").tag(sync=True)
    status_text = traitlets.Unicode("").tag(sync=True)
    overlay = traitlets.Dict().tag(sync=True)
    chat = traitlets.Bool(False).tag(sync=True)
    chat_messages = traitlets.List(traitlets.Dict()).tag(sync=True)
    chat_status = traitlets.Unicode("").tag(sync=True)

    def __init__(self, client: Any, channel_id: int | str | None = None, *,
                 max_in_flight: int = 2,
                 quality: int = 80, lossless_delay: float | None = 0.3,
                 budget: SharedBudget | None = None, chat: bool = False, chat_limit: int = 50,
                 transport: str = "auto", clock: Callable[[], float] = time.monotonic,
                 adapt: bool = True, start_rung: int = 0, **options: Any) -> None:
        super().__init__(chat=chat)
        self._mz_chat = (ChatFeed(client, self._mz_show_chat, limit=chat_limit) if chat
                         else None)
        self._mz_client = client
        self._mz_options = options
        self._mz_session: Any = None
        self._mz_unsubscribe_state: Any = None
        self._mz_painted: Any = None
        self._mz_runner = LoopThread.shared()
        self._mz_sent_bytes: deque = deque()
        participants = getattr(client, "participants", None)
        self._mz_audience = Audience.follow(participants) if participants is not None else None
        flow = FlowControl(max_in_flight=max_in_flight, lossless_delay=lossless_delay,
                           budget=budget)
        self._mz_pump = FramePump(lambda content, buffers: self.send(content, buffers),
                                  flow=flow, quality=quality, on_painted=self._mz_on_painted,
                                  runner=self._mz_runner, clock=clock, adapt=bool(adapt),
                                  start_rung=start_rung)
        try:
            self._mz_pump.set_transport(transport)
        except ValueError:
            self._mz_pump.close()
            raise
        self._mz_ticker = self._mz_runner.start_task(self._mz_tick(), "mezon_nb-viewer-overlay")
        self.on_msg(self._mz_on_msg)
        try:
            self.channels = channel_choices(client)
            if channel_id is not None:
                self.join(channel_id)
            elif self.channels:
                self.channel_id = self.channels[0]["id"]
        except BaseException:
            self.close()
            raise
        cells.adopt(self)

    # -- public -----------------------------------------------------------------------------

    @property
    def session(self) -> Any:
        """The ``StreamSession`` being shown (None before :meth:`join` and after :meth:`leave`).

        >>> viewer = StreamViewer(client)
        >>> viewer.session is None                                  # nothing joined yet
        True
        >>> viewer.close()
        """
        return self._mz_session

    def join(self, channel_id: int | str | None = None) -> Any:
        """Leave the current stream (if any) and join ``channel_id``; returns the session.

        >>> viewer = StreamViewer(client)
        >>> viewer.join(sandbox.stream_channel_id).channel_id == sandbox.stream_channel_id
        True
        >>> viewer.close()
        """
        channel_id = str(channel_id or self.channel_id or "")
        if not channel_id:
            raise ValueError("no channel to join: pass a channel id or pick one in the widget")
        self.leave()
        self.channel_id = channel_id
        self._mz_set_status("connecting")
        try:
            session = self._mz_client.join_stream(channel_id, **self._mz_options)
        except MezonError as exc:
            self._mz_set_status("error", str(exc))
            raise
        self._mz_session = session
        self._mz_unsubscribe_state = session.on_state(lambda *_: self._mz_sync_status())
        self._mz_pump.set_source(session)
        self._mz_sync_status()
        if self._mz_chat is not None:
            try:
                self._mz_chat.follow(channel_id)
            except MezonError as exc:  # the picture still plays without the chat
                self.chat_status = f"chat unavailable: {exc}"
        return session

    def send_chat(self, text: str) -> Any:
        """Send ``text`` to the joined channel's chat as the bot (what the pane's box does);
        returns the server's ack. Needs ``chat=True``.

        >>> viewer = client.viewer(sandbox.stream_channel_id, chat=True)
        >>> viewer.send_chat("Hello from the notebook").message_id.isdigit()
        True
        >>> viewer.chat_messages[-1]["text"], viewer.chat_messages[-1]["own"]
        ('Hello from the notebook', True)
        >>> viewer.close()
        """
        if self._mz_chat is None:
            raise ValueError("this viewer has no chat pane: make it with chat=True")
        ack = self._mz_chat.send(text)
        self.chat_status = ""
        return ack

    def leave(self) -> None:
        """Stop showing and leave the stream (idempotent); the widget stays, status ``idle``.

        >>> viewer = StreamViewer(client)
        >>> viewer.leave(); viewer.status
        'idle'
        >>> viewer.close()
        """
        session, self._mz_session = self._mz_session, None
        unsubscribe, self._mz_unsubscribe_state = self._mz_unsubscribe_state, None
        self._mz_pump.set_source(None)
        if unsubscribe is not None:
            unsubscribe()
        if session is not None:
            session.leave()
        self._mz_painted = None
        if self.status != "closed":
            self._mz_set_status("idle")

    def snapshot(self) -> np.ndarray | None:
        """The frame on screen: the last one the browser acknowledged as painted (RGB array).

        None until a frame has been painted (no frontend, widget off-screen, nothing joined).

        >>> viewer = StreamViewer(client)
        >>> viewer.snapshot() is None
        True
        >>> viewer.close()
        """
        frame = self._mz_painted
        if frame is not None and self._mz_pump.mode == "passthrough" and self._mz_session:
            frame = self._mz_session.latest_frame(timeout=5)  # the kernel decodes on demand
        return None if frame is None else frame.array

    def get_stats(self) -> dict:
        """Delivery numbers: frames sent/acked/expired, paint fps, roundtrip, encode, latency.

        ``roundtrip_ms`` is send to paint and the ack's way back (less the time the browser held
        the ack to batch it); ``ack_messages`` counts the browser's ack messages and ``window``
        is how many frames may be unacknowledged now; ``latency_ms`` is publisher stamp to kernel
        receipt (from the session); ``glass_to_glass_ms`` is publisher stamp to browser paint
        (median of recent acks; both clocks are epoch, so it holds on one machine);
        ``busy_fps`` is the pace of frames while a cell runs (the one running, or the next).
        ``path`` is the picture sent now; ``rung`` its step on the bitrate ladder (0: the
        stream's own, or JPEG at ``quality``), ``steps_down``/``steps_up`` the controller's
        changes and ``last_step_down`` why it last stepped down, ``delivered_kbps`` what the
        acks say reached the browser. ``bytes_sent`` and ``comm_kbps`` (the last 2 s) count
        what the frame messages put on the link, Jupyter's envelope of each included;
        ``delivered_kbps`` also the status messages the kernel publishes for each ack message.
        ``overflowed`` counts the frames replaced while they waited for room in a full window
        (the link or the browser did not keep up); ``images_sent`` the frames that went as
        still pictures (JPEG, or PNG on pause) rather than video: 0 for a view that decodes
        the stream with WebCodecs from the start.

        >>> viewer = StreamViewer(client)
        >>> stats = viewer.get_stats()
        >>> stats["sent"], stats["in_flight"], stats["state"]
        (0, 0, 'idle')
        >>> viewer.close()
        """
        flow, pump = self._mz_pump.flow, self._mz_pump
        stats = getattr(self._mz_session, "stats", None)
        return {
            "state": self.status, "channel_id": self.channel_id,
            "sent": flow.stats.sent, "acked": flow.stats.acked, "expired": flow.stats.expired,
            "superseded": flow.stats.superseded, "overflowed": flow.stats.overflowed,
            "skipped": flow.stats.skipped,
            "lossless": flow.stats.lossless, "images_sent": pump.images_sent,
            "in_flight": flow.in_flight, "window": flow.window,
            "ack_messages": flow.stats.ack_messages, "bytes_sent": flow.stats.bytes_sent,
            "fps": round(flow.fps(pump.clock()), 2),
            "busy_fps": round(flow.busy_rate(), 2),
            "roundtrip_ms": _median_ms(flow.stats.roundtrips),
            "encode_ms": _median_ms(flow.stats.encodes),
            "glass_to_glass_ms": (round(statistics.median(pump.glass_to_glass_ms), 1)
                                  if pump.glass_to_glass_ms else None),
            "latency_ms": getattr(stats, "latency_ms", None),
            "source_fps": getattr(stats, "fps", None),
            "base64": pump.base64,
            "path": self._mz_path(), "comm_kbps": round(self._mz_comm_kbps(), 1),
            "keyframe_requests": getattr(stats, "keyframe_requests", 0),
            "keyframe_waits": pump.gate.requests, "refused": flow.stats.refused,
            "decode_errors": pump.decode_errors,
            **pump.adapt_stats(),
        }

    def _mz_path(self) -> str:
        return self._mz_pump.path

    def _mz_comm_kbps(self, window: float = 2.0) -> float:
        """Bytes sent over the comm in the last ``window`` s, in kbit/s."""
        now, samples = time.monotonic(), self._mz_sent_bytes
        samples.append((now, self._mz_pump.flow.stats.bytes_sent))
        while len(samples) > 2 and now - samples[1][0] >= window:
            samples.popleft()
        (t0, b0), (t1, b1) = samples[0], samples[-1]
        return (b1 - b0) * 8 / 1000 / (t1 - t0) if t1 > t0 else 0.0

    def close(self) -> None:
        """Stop sending, leave the stream, stop following the log, close the comm (idempotent).

        >>> viewer = StreamViewer(client)
        >>> viewer.close(); viewer.status
        'closed'
        """
        self._mz_set_status("closed")
        self.leave()
        self._mz_pump.close()
        self._mz_runner.stop_task(self._mz_ticker)
        if self._mz_audience is not None:
            self._mz_audience.close()
        if self._mz_chat is not None:
            self._mz_chat.close()
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self._mz_pump.set_visible(DISPLAYED, True)
        return super()._repr_mimebundle_(**kwargs)

    # -- private ----------------------------------------------------------------------------

    def _mz_on_msg(self, _widget: Any, content: dict, buffers: list) -> None:
        kind = content.get("type")
        if kind == "acks":
            self._mz_acks(content)
        elif kind == "visibility":
            self._mz_pump.set_visible(DISPLAYED, False)   # the frontend speaks for itself now
            width = content.get("width")
            codecs = content.get("codecs")
            self._mz_pump.set_visible(str(content.get("view")), bool(content.get("visible")),
                                      int(width) if width else None,
                                      codecs if isinstance(codecs, list) else None)
        elif kind == "nobuffers":
            self._mz_pump.base64 = True
        elif kind == "join":
            try:
                self.join(content.get("channel_id"))
            except (MezonError, ValueError) as exc:
                self._mz_set_status("error", str(exc))
        elif kind == "leave":
            self.leave()
        elif kind == "refresh":
            self.channels = channel_choices(self._mz_client)
        elif kind == "chat":
            try:
                self.send_chat(str(content.get("text", "")))
            except (MezonError, ValueError) as exc:
                self.chat_status = f"not sent: {exc}"

    def _mz_acks(self, content: dict) -> None:
        try:
            painted = [(int(frame_id), None if at is None else float(at))
                       for frame_id, at in content.get("painted") or []]
            skipped = [int(frame_id) for frame_id in content.get("skipped") or []]
            flushed_at = content.get("flushed_at")
            flushed_at = None if flushed_at is None else float(flushed_at)
        except (TypeError, ValueError):
            log.warning("ignored a malformed ack message from the browser: %.200r", content)
            return
        if content.get("error"):
            log.warning("the browser could not decode a frame: %.200s", content["error"])
            if self._mz_pump.mode == "jpeg":
                self._mz_pump.decode_errors += 1
        self._mz_pump.acks(painted, skipped, flushed_at)
        if content.get("keyframe") in ("start", "error", "behind"):
            self._mz_pump.keyframe_needed(content["keyframe"])

    def _mz_show_chat(self, lines: list[dict]) -> None:
        self.chat_messages = lines

    def _mz_on_painted(self, job: Job, painted_at: float | None) -> None:
        if painted_at is not None:
            self._mz_painted = job.payload

    def _mz_set_status(self, status: str, text: str = "") -> None:
        if self.status == "closed" and status != "closed":
            return
        self.status, self.status_text = status, text

    def _mz_sync_status(self) -> None:
        session = self._mz_session
        if session is None:
            return
        error = getattr(session, "error", None)
        self._mz_set_status(str(session.state), str(error) if error else "")

    async def _mz_tick(self, period: float = 0.5) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                self._mz_sync_status()
                overlay = self._mz_overlay()
                if overlay != self.overlay:
                    self.overlay = overlay
            except Exception:  # the overlay must never take the viewer down
                log.exception("overlay update failed")

    def _mz_overlay(self) -> dict:
        frame = self._mz_painted
        stats = getattr(self._mz_session, "stats", None)
        viewers = (self._mz_audience.count(self.channel_id)
                   if self._mz_audience is not None and self.channel_id else None)
        encoded = self._mz_pump.mode != "jpeg"       # the stream's size, as the browser shows
        size = ((getattr(stats, "width", None), getattr(stats, "height", None)) if encoded
                else (None, None) if frame is None else frame.array.shape[1::-1])
        return {
            "fps": round(self._mz_pump.flow.fps(self._mz_pump.clock()), 1),
            "latency_ms": getattr(stats, "latency_ms", None),
            "width": int(size[0]) if size[0] else None,
            "height": int(size[1]) if size[1] else None,
            "viewers": viewers,
            "path": self._mz_path(),
            "comm_kbps": round(self._mz_comm_kbps(), 1),
        }


__all__ = ["StreamViewer", "channel_choices"]
