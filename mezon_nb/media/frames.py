"""Received frames and the buffers that hand them out: bounded, drop-oldest, thread-safe.

A :class:`Frame` keeps aiortc's decoded ``av.VideoFrame`` and converts it to rgb24 only when
``.array`` is read. A :class:`FrameHub` receives every frame on the event loop and gives
each consumer its own :class:`~mezon_nb.core.buffers.DropBuffer`: a slow consumer gets the newest frames, never a
growing delay, and its drops are counted.

>>> hub = FrameHub(buffer=2)
>>> stream = hub.stream()
>>> for i in range(5):
...     hub.publish(i)
>>> list(stream.drain()), stream.dropped
([3, 4], 3)
>>> hub.latest(), hub.close()
(4, None)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from mezon_nb.core.buffers import DropBuffer

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: Held around every PyAV pixel-format conversion of a received frame: converting one frame
#: from two threads at once (the widget's encoder, a notebook cell, the recorder) crashes in
#: libswscale. A conversion takes well under a millisecond, so one lock costs nothing.
SWSCALE_LOCK = threading.Lock()


@dataclass(eq=False)
class Frame:
    """One received video frame. ``array`` is H x W x 3 uint8 rgb24, made on first access.

    ``received_at`` is ``time.time()`` on arrival; ``captured_at`` is the publisher's stamp
    (``None`` when the frame carries none).

    >>> f = Frame.from_array(np.zeros((2, 4, 3), np.uint8), index=0, captured_at=None)
    >>> (f.width, f.height, f.array.shape, f.latency_ms)
    (4, 2, (2, 4, 3), None)
    """

    index: int
    pts: int | None
    width: int
    height: int
    received_at: float
    captured_at: float | None = None
    _source: Any = field(default=None, repr=False)
    _array: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_array(cls, array: np.ndarray, *, index: int, captured_at: float | None = None,
                   pts: int | None = None) -> Frame:
        """A frame around an rgb24 array (tests, publishers)."""
        return cls(index, pts, array.shape[1], array.shape[0], time.time(), captured_at,
                   _array=array)

    @property
    def array(self) -> np.ndarray:
        """The pixels as rgb24 (converted once, then cached; safe from any thread)."""
        if self._array is None:
            with SWSCALE_LOCK:
                if self._array is None:
                    self._array = self._source.to_ndarray(format="rgb24")
                    self._source = None
        return self._array

    def resized(self, width: int, height: int, format: str = "yuv420p") -> Any:
        """The picture as a new ``av.VideoFrame`` of ``width`` x ``height`` in ``format``: one
        libswscale pass from the decoded frame (no rgb24 copy first, unless ``.array`` was
        read already), for the widget's re-encoding and reduced JPEG.

        >>> f = Frame.from_array(np.zeros((4, 8, 3), np.uint8), index=0)
        >>> small = f.resized(4, 2)
        >>> (small.width, small.height, small.format.name)
        (4, 2, 'yuv420p')
        """
        import av

        with SWSCALE_LOCK:
            source = self._source
            if source is None:
                source = av.VideoFrame.from_ndarray(np.ascontiguousarray(self._array),
                                                    format="rgb24")
            return source.reformat(width=width, height=height, format=format)

    @property
    def latency_ms(self) -> float | None:
        """Capture-to-arrival time in milliseconds, when stamped."""
        if self.captured_at is None:
            return None
        return (self.received_at - self.captured_at) * 1000.0


@dataclass(eq=False)
class AudioChunk:
    """One received audio frame (Opus decoded by aiortc: 48 kHz, s16).

    ``array`` is (channels, samples) int16, made on first access.

    >>> AudioChunk(0, None, 48000, 960, 2, 0.0).duration
    0.02
    """

    index: int
    pts: int | None
    sample_rate: int
    samples: int
    channels: int
    received_at: float
    _source: Any = field(default=None, repr=False)

    @property
    def duration(self) -> float:
        """Seconds of sound in this chunk."""
        return self.samples / self.sample_rate

    @property
    def array(self) -> np.ndarray:
        """Samples as a (channels, samples) int16 array."""
        data = self._source.to_ndarray()
        return data.reshape(-1, self.channels).T if data.shape[0] == 1 else data


class FrameStream(Generic[T]):
    """What ``frames()`` returns: a sync and async iterator over one drop-oldest buffer.

    Iteration ends when the stream ends or :meth:`close` is called. ``dropped`` counts frames
    this consumer missed because it was slower than the stream.

    >>> hub = FrameHub(buffer=4)
    >>> with hub.stream() as frames:
    ...     hub.publish("a"); hub.close()
    ...     list(frames)
    ['a']
    """

    def __init__(self, buffer: DropBuffer[T], on_close: Callable[[], None]):
        self._buffer, self._on_close = buffer, on_close

    @property
    def dropped(self) -> int:
        """Frames dropped for this consumer so far."""
        return self._buffer.dropped

    def drain(self) -> Iterator[T]:
        """Frames buffered now, without waiting."""
        return self._buffer.drain()

    def get(self, timeout: float | None = None) -> T | None:
        """The next frame, or ``None`` on timeout or at the end."""
        return self._buffer.get(timeout)

    def close(self) -> None:
        """Stop receiving frames."""
        self._buffer.close()
        self._on_close()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        item = self._buffer.get()
        if item is None:
            raise StopIteration
        return item

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        item = await self._buffer.aget()
        if item is None:
            raise StopAsyncIteration
        return item

    def __enter__(self) -> FrameStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FrameHub(Generic[T]):
    """Fan-out of received items: the latest one, per-consumer buffers, callback threads.

    >>> hub = FrameHub()
    >>> got = []
    >>> unsubscribe = hub.subscribe(got.append)
    >>> hub.publish(1); hub.latest(timeout=1)
    1
    >>> unsubscribe()
    """

    def __init__(self, buffer: int = 4):
        self.buffer = buffer
        self.count = 0
        self._latest: T | None = None
        self._cond = threading.Condition()
        self._buffers: set[DropBuffer[T]] = set()
        self._listeners: tuple[Callable[[T], Any], ...] = ()
        self._retired_drops = 0
        self._closed = False

    @property
    def dropped(self) -> int:
        """Items dropped across every consumer, past and present."""
        return self._retired_drops + sum(b.dropped for b in list(self._buffers))

    def publish(self, item: T) -> None:
        """Called on the receive path for each new item; never blocks."""
        with self._cond:
            self._latest = item
            self.count += 1
            self._cond.notify_all()
        for buf in list(self._buffers):
            buf.put(item)
        for fn in self._listeners:
            try:
                fn(item)
            except Exception:  # one listener must not stop the receive path
                logger.exception("frame listener %r failed", fn)

    @property
    def consumers(self) -> int:
        """Buffers, callback threads and listeners that take items now.

        >>> hub = FrameHub(); stop = hub.listen(print); hub.consumers
        1
        """
        return len(self._buffers) + len(self._listeners)

    def newer(self, count: int, timeout: float | None) -> T | None:
        """The newest item once more than ``count`` items were published (waits up to
        ``timeout`` s), else the newest there is.

        >>> hub = FrameHub(); hub.publish("a"); hub.newer(1, timeout=0.01)
        'a'
        """
        with self._cond:
            if timeout:
                self._cond.wait_for(lambda: self.count > count or self._closed, timeout)
            return self._latest

    def latest(self, timeout: float | None = None) -> T | None:
        """The newest item; waits up to ``timeout`` s for a first one."""
        with self._cond:
            if self._latest is None and timeout:
                self._cond.wait_for(lambda: self._latest is not None, timeout)
            return self._latest

    def _add(self, maxlen: int | None) -> DropBuffer[T]:
        buf: DropBuffer[T] = DropBuffer(maxlen or self.buffer)
        if self._closed:
            buf.close()
        else:
            self._buffers.add(buf)
        return buf

    def _remove(self, buf: DropBuffer[T]) -> None:
        if buf in self._buffers:
            self._buffers.discard(buf)
            self._retired_drops += buf.dropped
            buf.close()

    def stream(self, maxlen: int | None = None) -> FrameStream[T]:
        """A new consumer buffer of ``maxlen`` items (default: the hub's ``buffer``)."""
        buf = self._add(maxlen)
        return FrameStream(buf, lambda: self._remove(buf))

    def subscribe(self, fn: Callable[[T], Any], name: str = "frames") -> Callable[[], None]:
        """Call ``fn(item)`` on a daemon thread for each item (drop-oldest); returns unsubscribe."""
        buf = self._add(self.buffer)

        def worker() -> None:
            while (item := buf.get()) is not None:
                try:
                    fn(item)
                except Exception:  # a user callback must not stop the others
                    logger.exception("on_%s callback failed", name)

        threading.Thread(target=worker, name=f"mezon_nb-on_{name}", daemon=True).start()
        return lambda: self._remove(buf)

    def listen(self, fn: Callable[[T], Any]) -> Callable[[], None]:
        """Call ``fn(item)`` inline in :meth:`publish`, on the receive path (the loop thread):
        for consumers that live on that loop and never block. Returns unsubscribe.

        >>> hub, seen = FrameHub(), []
        >>> stop = hub.listen(seen.append)
        >>> hub.publish(1); stop(); hub.publish(2); seen
        [1]
        """
        self._listeners += (fn,)  # copy-on-write: publish never sees a half-made tuple

        def unsubscribe() -> None:
            self._listeners = tuple(f for f in self._listeners if f is not fn)
        return unsubscribe

    def close(self) -> None:
        """End every consumer (iterators stop, callback threads exit, listeners are dropped)."""
        self._closed = True
        self._listeners = ()
        for buf in list(self._buffers):
            self._remove(buf)
        with self._cond:
            self._cond.notify_all()


__all__ = ["AudioChunk", "Frame", "FrameHub", "FrameStream"]
