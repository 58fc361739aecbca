"""Stand-ins for the media and client layers, and a scripted frontend, for widget tests.

``FakeSession`` follows the ``StreamSession`` contract the widgets use (``listen_frames``,
``on_state``, ``latest_frame``, ``state``, ``error``, ``stats``, ``leave``); ``FakeClient``
follows ``Client`` (``streaming_channels``, ``join_stream``, ``participants``).
``Frontend`` records what a widget sends and answers like the browser would. ``SimClock`` and
``settle_idle`` run a widget's flow control in simulated time: the test moves the clock, and
waits until the pump has done everything it will do at that moment.
"""

from __future__ import annotations

import threading
import time
import types
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mezon_nb.widgets.jpeg import decode

SECRET = "tok-SECRET-3f9a"  # what a client would hold; must never reach widget state


@dataclass
class FakeFrame:
    array: np.ndarray
    index: int
    captured_at: float | None = None
    received_at: float = 0.0

    @property
    def width(self) -> int:
        return self.array.shape[1]

    @property
    def height(self) -> int:
        return self.array.shape[0]


class FakeSession:
    def __init__(self, channel_id: str = "7", shape=(48, 64)) -> None:
        self.channel_id = channel_id
        self.shape = shape
        self.state = "connecting"
        self.error = None
        self.left = 0
        self._frames: list = []
        self._states: list = []
        self._latest: FakeFrame | None = None
        self._index = 0
        self.stats = types.SimpleNamespace(fps=30.0, latency_ms=12.0, width=shape[1],
                                           height=shape[0])

    def listen_frames(self, fn):
        self._frames.append(fn)
        return lambda: self._frames.remove(fn) if fn in self._frames else None

    on_frame = listen_frames  # the notebook-facing twin; here on the pushing thread too

    def on_state(self, fn):
        self._states.append(fn)
        return lambda: self._states.remove(fn) if fn in self._states else None

    def latest_frame(self, timeout=None):
        return self._latest

    def set_state(self, state: str, error: str | None = None) -> None:
        self.state, self.error = state, error
        for fn in list(self._states):
            fn(state)

    def push(self, value: int | None = None) -> FakeFrame:
        """Deliver a new frame (solid colour ``value``, default: the frame index)."""
        self._index += 1
        fill = self._index % 256 if value is None else value
        frame = FakeFrame(np.full((*self.shape, 3), fill, np.uint8), self._index,
                          captured_at=time.time(), received_at=time.time())
        self._latest = frame
        for fn in list(self._frames):
            fn(frame)
        return frame

    @property
    def subscribers(self) -> int:
        return len(self._frames) + len(self._states)

    def leave(self) -> None:
        self.left += 1
        self.state = "closed"


class FakeLog:
    """A ParticipantLog with ``events``, ``on_event`` and ``follow`` (rows pushed by ``add``)."""

    def __init__(self, rows=()) -> None:
        self.events = pd.DataFrame(list(rows), columns=["time", "kind", "clan_id", "channel_id",
                                                        "channel_label", "user_id",
                                                        "participant", "source"])
        self._fns: list = []

    def on_event(self, fn):
        self._fns.append(fn)
        return lambda: self._fns.remove(fn) if fn in self._fns else None

    def follow(self, fn):
        return self.events.copy(), self.on_event(fn)

    def add(self, kind: str, user: str, channel: str = "7") -> None:
        row = {"time": pd.Timestamp.now(tz="UTC"), "kind": kind, "clan_id": "1",
               "channel_id": channel, "channel_label": f"chan-{channel}", "user_id": user,
               "participant": f"name-{user}", "source": "live"}
        for fn in list(self._fns):
            fn(row)


class FakeClient:
    def __init__(self, channels=("7", "8")) -> None:
        self.token = SECRET
        self.ws_url = f"ws://127.0.0.1:1/ws?token={SECRET}"
        self.participants = FakeLog()
        self.sessions: list[FakeSession] = []
        self._channels = [types.SimpleNamespace(clan_id="1", channel_id=c, label=f"chan-{c}",
                                                type=4, url=self.ws_url) for c in channels]

    def streaming_channels(self, clan_id=None):
        return self._channels

    def join_stream(self, channel_id, **options):
        session = FakeSession(channel_id)
        self.sessions.append(session)
        return session


class SimClock:
    """Simulated seconds for a pump's ``clock=``: time moves only when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Frontend:
    """A scripted browser: records sends, paints (acks) on demand, reports visibility.

    Paint times are ``clock()`` seconds (the wall clock, or the test's ``SimClock``)."""

    def __init__(self, widget, clock=time.time) -> None:
        self.widget = widget
        self.clock = clock
        self.messages: list[tuple[dict, list]] = []
        self.max_seen_in_flight = 0
        self._lock = threading.Lock()
        self._unacked: set[int] = set()
        widget.send = self._record  # instance attribute shadows Widget.send

    def _record(self, content, buffers=None):
        with self._lock:
            self.messages.append((content, list(buffers or [])))
            if content.get("type") == "frame":
                self._unacked.add(content["id"])
                self.max_seen_in_flight = max(self.max_seen_in_flight, len(self._unacked))

    def frames(self) -> list[tuple[dict, list]]:
        with self._lock:
            return [m for m in self.messages if m[0].get("type") == "frame"]

    def say(self, **content) -> None:
        self.widget._handle_custom_msg(content, [])

    def show(self, view: str = "v1", visible: bool = True) -> None:
        self.say(type="visibility", view=view, visible=visible)

    def paint_all(self, at_ms: float | None = None) -> list[int]:
        """Ack every frame received and not yet acked, as painted now (or at ``at_ms``, epoch
        milliseconds on the browser's clock)."""
        with self._lock:
            ids = sorted(self._unacked)
            self._unacked.clear()
        now = self.clock() * 1000.0 if at_ms is None else at_ms
        if ids:
            self.say(type="acks", view="v1", flushed_at=now, painted=[[i, now] for i in ids])
        return ids

    def paint_newest(self) -> int | None:
        """Ack the newest frame received as painted now and the older unacked ones as skipped
        (what the browser does when frames overtake each other); returns the painted id."""
        with self._lock:
            ids = sorted(self._unacked)
            self._unacked.clear()
        if ids:
            now = self.clock() * 1000.0
            self.say(type="acks", view="v1", flushed_at=now, painted=[[ids[-1], now]],
                     skipped=ids[:-1])
        return ids[-1] if ids else None

    def last_image(self) -> np.ndarray:
        _content, buffers = self.frames()[-1]
        return decode(bytes(buffers[0]))


def settle(widget, condition, timeout: float = 5.0) -> bool:
    """Let the loop thread run posted work until ``condition()`` holds."""
    return widget._mz_pump.wait_until(condition, timeout)


def settle_idle(widget, timeout: float = 5.0) -> bool:
    """Wake the widget's pump (its clock may have moved) and wait until it has sent all it will
    send at the clock's present time: every posted call has run and the pump is waiting again.
    Deterministic where a sleep is not: "nothing was sent" then means the pump decided so."""
    pump = widget._mz_pump
    pump._call(lambda: None)
    return pump.wait_until(lambda: not pump._wake.is_set(), timeout)


def poll_until(condition, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Sleep in short steps (driving nothing: like a blocked cell) until ``condition()`` holds
    or ``timeout`` s pass; returns whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


class InOrderVp8:
    """Decodes a widget's "video" messages as a browser's decoder would, strictly in order: a
    delta frame that does not follow the frame before it (``seq``) counts as ``corrupt``."""

    def __init__(self) -> None:
        self.corrupt = 0
        self._decoder = None
        self._last_seq: int | None = None

    def feed(self, content: dict, data: bytes) -> list:
        """The pictures (``av.VideoFrame``) that ``data`` decodes to."""
        import av

        if content["key"]:
            self._decoder = av.CodecContext.create("vp8", "r")
        elif self._decoder is None or self._last_seq is None or \
                content["seq"] != self._last_seq + 1:
            self.corrupt += 1
        self._last_seq = content["seq"]
        return [] if self._decoder is None else self._decoder.decode(av.Packet(bytes(data)))
