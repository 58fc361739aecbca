"""Which encoded video frames may reach a decoder, and when to ask the sender for a keyframe.

A decoder fed a delta frame whose reference it never got paints garbage (or fails). So a
:class:`KeyframeGate` lets frames through in order and, after any *break* — a new view, a gap
in the frame sequence (RTP loss, frames skipped by flow control), a frame that went missing
on purpose (:meth:`~KeyframeGate.skipped`), a decoder error, a browser that fell behind —
lets nothing through but a keyframe. While it waits it asks for one (RTCP PLI through the
receiver, by its caller), at most once per ``min_interval`` seconds and again each interval
until one arrives. Pure rules: the time is an argument, nothing here does I/O.

>>> gate = KeyframeGate(min_interval=0.5)
>>> gate.offer(seq=1, key=False, now=0.0)          # a new view must start on a keyframe
Decision(forward=False, request_keyframe=True)
>>> gate.offer(seq=2, key=True, now=0.1)
Decision(forward=True, request_keyframe=False)
>>> gate.offer(seq=3, key=False, now=0.2).forward
True
>>> gate.offer(seq=5, key=False, now=0.3)          # 4 is missing: no delta after a gap
Decision(forward=False, request_keyframe=False)
>>> gate.poll(now=0.5)                             # 0.5 s after the last request: again
True
>>> gate.offer(seq=6, key=True, now=0.6).forward
True
"""

from __future__ import annotations

import math
from typing import NamedTuple


class Decision(NamedTuple):
    """What to do with one encoded frame: pass it to the decoder? ask for a keyframe now?

    >>> Decision(True, False).forward
    True
    """

    forward: bool
    request_keyframe: bool


class KeyframeGate:
    """The keyframe-and-gap rules for one view; see the module docstring.

    ``min_interval`` (s) bounds this view's keyframe requests; the sender bounds them again
    for all viewers together (the sandbox: 0.5 s).

    >>> gate = KeyframeGate()
    >>> (gate.waiting, gate.forwarded, gate.dropped, gate.requests)
    (True, 0, 0, 0)
    """

    def __init__(self, min_interval: float = 0.5) -> None:
        if not min_interval > 0:
            raise ValueError(f"min_interval must be > 0 s, got {min_interval!r}")
        self.min_interval = min_interval
        self.waiting = True  # for a keyframe: nothing else may go to the decoder
        self.forwarded = 0
        self.dropped = 0
        self.requests = 0
        self.breaks: dict[str, int] = {}
        self._last_seq: int | None = None
        self._last_request = -math.inf

    def _break(self, reason: str) -> None:
        self.waiting = True
        self.breaks[reason] = self.breaks.get(reason, 0) + 1

    def _request(self, now: float) -> bool:
        if not self.waiting or now - self._last_request < self.min_interval:
            return False
        self._last_request = now
        self.requests += 1
        return True

    def offer(self, seq: int, key: bool, now: float, gap: bool = False) -> Decision:
        """Frame number ``seq`` (consecutive integers from the sender) arrived at ``now``;
        ``gap``: frames were lost just before it although ``seq`` follows on (the receiver's
        jitter buffer gave up a lost packet, :mod:`mezon_nb.media.jitter`).

        An old or repeated ``seq`` is dropped and changes nothing.

        >>> gate = KeyframeGate()
        >>> [gate.offer(s, k, 0.0).forward for s, k in ((1, True), (2, False), (2, False))]
        [True, True, False]
        >>> gate.offer(3, False, 0.1, gap=True)        # RTP loss: wait for a keyframe, ask
        Decision(forward=False, request_keyframe=True)
        >>> gate.breaks
        {'loss': 1}
        """
        if self._last_seq is not None and seq <= self._last_seq:
            self.dropped += 1
            return Decision(False, False)
        if gap:
            self._break("loss")
        elif self._last_seq is not None and seq != self._last_seq + 1:
            self._break("gap")
        self._last_seq = seq
        if self.waiting and key:
            self.waiting = False
        if self.waiting:
            self.dropped += 1
            return Decision(False, self._request(now))
        self.forwarded += 1
        return Decision(True, False)

    def skipped(self, seq: int) -> None:
        """Frame ``seq`` was not sent on purpose (flow control): the next one after it is a
        gap unless it is a keyframe.

        >>> gate = KeyframeGate()
        >>> gate.offer(1, True, 0.0).forward
        True
        >>> gate.skipped(2)
        >>> gate.offer(3, False, 0.1)
        Decision(forward=False, request_keyframe=True)
        """
        if self._last_seq is None or seq > self._last_seq:
            self._last_seq = seq
            self._break("skipped")

    def decoder_error(self, now: float) -> bool:
        """The decoder failed (or was reset): wait for a keyframe; True: request one now."""
        self._break("decoder_error")
        return self._request(now)

    def fell_behind(self, now: float) -> bool:
        """The browser dropped what it had queued to catch up: as :meth:`decoder_error`."""
        self._break("behind")
        return self._request(now)

    def poll(self, now: float) -> bool:
        """Called now and then (say on every ack): True when a keyframe should be requested
        again because the last request has gone unanswered for ``min_interval``.

        >>> gate = KeyframeGate(min_interval=0.5)
        >>> gate.offer(1, False, now=0.0).request_keyframe
        True
        >>> [gate.poll(t) for t in (0.2, 0.5, 0.7, 1.0)]
        [False, True, False, True]
        """
        return self._request(now)


__all__ = ["Decision", "KeyframeGate"]
