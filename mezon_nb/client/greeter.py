"""A welcome bot in one call: each viewer who joins a stream gets a line in the channel's chat.

:class:`Greeter` is what ``client.greet_viewers(channel_id, template)`` starts and returns.

**Rate limit.** A token bucket: at most ``burst`` greetings at once, then ``rate`` per second.
Greetings over the limit are **queued** (in join order) and sent as tokens come back; the queue
holds at most ``max_queue``, and a join that finds it full is **dropped**. Greetings still
queued when the greeter stops are dropped too.

**Counts** (``greeter.counts``): ``greeted`` (acknowledged by the server), ``skipped`` (the bot
itself, and with ``once=True`` a viewer this greeter already greeted), ``failed`` (the server
refused or did not answer; logged at WARNING, the greeter carries on), ``dropped`` and
``pending`` (queued now).

**Template.** ``str.format`` placeholders from :data:`PLACEHOLDERS`; anything else raises
``ValueError`` when the greeter is made, never in the background.

>>> greeter = client.greet_viewers(sandbox.stream_channel_id, "Hi {participant}!")
>>> viewer = sandbox.control("add_viewer", name="Ann")
>>> greeter.wait(joins=1, timeout=10)
True
>>> greeter.stop()
{'greeted': 1, 'skipped': 0, 'failed': 0, 'dropped': 0, 'pending': 0}
"""

from __future__ import annotations

import asyncio
import logging
import string
import time
from collections.abc import Callable
from typing import Any

from mezon_nb.core.events import StreamingJoined
from mezon_nb.core.loop import call_sync
from mezon_nb.errors import MezonError

log = logging.getLogger(__name__)

#: The placeholders a greeting template may use: fields of the join event.
PLACEHOLDERS = ("participant", "user_id", "channel_id", "channel_label", "clan_id",
                "clan_name")
DEFAULT_TEMPLATE = "Welcome {participant} to the stream!"


def check_template(template: str) -> str:
    """Return ``template`` if it formats with :data:`PLACEHOLDERS` only, else ``ValueError``.

    >>> check_template("Hi {participant}!")
    'Hi {participant}!'
    >>> check_template("Hi {name}!")
    Traceback (most recent call last):
    ...
    ValueError: unknown placeholder {name} in the greeting template; use {participant}, \
{user_id}, {channel_id}, {channel_label}, {clan_id} or {clan_name}
    """
    if not isinstance(template, str):
        raise TypeError(f"template must be a str, got {type(template).__name__}")
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template)
                  if field is not None]
    except ValueError as exc:
        raise ValueError(f"bad greeting template: {exc}") from None
    for field in fields:
        if field not in PLACEHOLDERS:
            choices = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS[:-1])
            raise ValueError(f"unknown placeholder {{{field}}} in the greeting template; use "
                             f"{choices} or {{{PLACEHOLDERS[-1]}}}")
    try:
        template.format_map(dict.fromkeys(PLACEHOLDERS, ""))
    except (ValueError, TypeError) as exc:  # a bad format spec or conversion
        raise ValueError(f"bad greeting template: {exc}") from None
    return template


def greeting(template: str, event: StreamingJoined) -> str:
    """The greeting for one join event.

    >>> ev = StreamingJoined(clan_id="1", clan_name="Lab", id="9", participant="Ann",
    ...                      user_id="5", streaming_channel_label="main-stage",
    ...                      streaming_channel_id="6")
    >>> greeting("Welcome {participant} to {channel_label}!", ev)
    'Welcome Ann to main-stage!'
    """
    return template.format(participant=event.participant, user_id=event.user_id,
                           channel_id=event.streaming_channel_id,
                           channel_label=event.streaming_channel_label, clan_id=event.clan_id,
                           clan_name=event.clan_name)


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; :meth:`reserve` takes the next one.
    It starts full; ``clock`` is first read by the first :meth:`reserve`.

    >>> now = [0.0]
    >>> bucket = TokenBucket(rate=2.0, burst=2, clock=lambda: now[0])
    >>> [bucket.reserve() for _ in range(4)]
    [0.0, 0.0, 0.5, 1.0]
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst at least 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last: float | None = None

    def reserve(self) -> float:
        """Take one token; returns how many seconds to wait before using it (0: now).

        >>> TokenBucket(rate=1.0, burst=1).reserve()
        0.0
        """
        now = self._clock()
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class Greeter:
    """Greets each viewer who joins ``channel_id``; see the module docstring for the rules.

    Made (and started) by ``client.greet_viewers``; stop it with :meth:`stop` (any thread) or
    ``await greeter.aclose()`` on the client's loop. Closing the client stops it too.

    >>> greeter = client.greet_viewers(sandbox.stream_channel_id, rate=2.0, burst=1)
    >>> greeter
    <Greeter channel=... greeted=0 skipped=0 failed=0 dropped=0 pending=0 running>
    >>> greeter.stop()["greeted"]
    0
    """

    def __init__(self, client: Any, channel_id: str, template: str = DEFAULT_TEMPLATE, *,
                 rate: float = 1.0, burst: int = 3, max_queue: int = 100,
                 once: bool = True) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.channel_id = channel_id
        self.template = check_template(template)
        self.once = once
        self.greeted = self.skipped = self.failed = self.dropped = 0
        self._client = client
        # on the loop's clock, the one its waits (asyncio.sleep) run on
        self._bucket = TokenBucket(rate, burst, clock=_loop_time)
        self._queue: asyncio.Queue[StreamingJoined] = asyncio.Queue(max_queue)
        self._seen: set[str] = set()
        self._handle: Any = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def counts(self) -> dict[str, int]:
        """``greeted``, ``skipped``, ``failed``, ``dropped`` and ``pending`` (queued now).

        >>> sorted(Greeter(None, "6").counts)
        ['dropped', 'failed', 'greeted', 'pending', 'skipped']
        """
        return {"greeted": self.greeted, "skipped": self.skipped, "failed": self.failed,
                "dropped": self.dropped, "pending": self._queue.qsize()}

    @property
    def running(self) -> bool:
        """Whether the greeter listens for joins (``False`` once stopped).

        >>> Greeter(None, "6").running
        False
        """
        return self._task is not None and not self._task.done()

    async def start(self) -> Greeter:
        """Join the channel's chat, then listen for joins (the client calls this).

        >>> g = run(Greeter(aclient, sandbox.stream_channel_id).start()); g.running
        True
        >>> run(g.aclose())
        """
        await self._client.join_chat(self.channel_id)
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="mezon_nb-greeter")
        self._handle = self._client.on("streaming_joined", self._on_join)
        return self

    @property
    def handled(self) -> int:
        """Joins of the channel seen so far that are settled: greeted, skipped, failed or dropped.

        >>> Greeter(None, "6").handled
        0
        """
        return self.greeted + self.skipped + self.failed + self.dropped

    def wait(self, joins: int = 1, timeout: float = 10.0) -> bool:
        """Block (not on the client's loop) until at least ``joins`` joins are :attr:`handled`;
        ``False`` if that takes longer than ``timeout`` seconds.

        >>> Greeter(None, "6").wait(joins=1, timeout=0.05)
        False
        """
        deadline = time.monotonic() + timeout
        while self.handled < joins:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self, timeout: float = 10.0) -> dict[str, int]:
        """Stop greeting and return the final :attr:`counts` (idempotent, from any thread;
        on the client's loop it only schedules the stop: ``await aclose()`` there instead).

        >>> Greeter(None, "6").stop()["pending"]
        0
        """
        call_sync(self._loop, self.aclose, timeout)
        return self.counts

    async def aclose(self) -> None:
        """Stop greeting (on the client's loop); queued greetings count as dropped.

        >>> run(Greeter(None, "6").aclose())
        """
        if self._handle is not None:
            self._handle.cancel()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        while not self._queue.empty():
            self._queue.get_nowait()
            self.dropped += 1

    def __repr__(self) -> str:
        counts = " ".join(f"{key}={value}" for key, value in self.counts.items())
        state = "running" if self.running else "stopped"
        return f"<Greeter channel={self.channel_id} {counts} {state}>"

    def _on_join(self, event: StreamingJoined) -> None:
        if event.streaming_channel_id != self.channel_id:
            return
        if event.user_id == self._client.user_id or (self.once and event.user_id in self._seen):
            self.skipped += 1
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            return
        self._seen.add(event.user_id)

    async def _run(self) -> None:
        """Send queued greetings, paced by the bucket, until cancelled."""
        while True:
            event = await self._queue.get()
            try:
                await asyncio.sleep(self._bucket.reserve())
                await self._client.send_message(self.channel_id, greeting(self.template, event))
                self.greeted += 1
            except asyncio.CancelledError:
                self.dropped += 1  # stopped before the server acknowledged it
                raise
            except MezonError as exc:
                self.failed += 1
                log.warning("greeting %s in channel %s failed: %s", event.user_id,
                            self.channel_id, exc)


__all__ = ["DEFAULT_TEMPLATE", "PLACEHOLDERS", "Greeter", "TokenBucket", "check_template",
           "greeting"]
