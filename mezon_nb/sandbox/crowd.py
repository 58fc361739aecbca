"""A synthetic crowd: viewers join and leave streaming channels, and now and then chat.

Arrivals per streaming channel are a Poisson process of ``crowd_rate`` joins per minute (the
first one comes within :data:`FIRST_ARRIVAL_CAP` seconds so a demo sees events at once); each
viewer watches for a lognormal time (median :data:`WATCH_MEDIAN` s, long tail). A few viewers
are already arriving at start. The whole sequence of steps comes from one seeded generator,
:func:`crowd_schedule`, so the same seed gives the same (user, channel, join/leave) sequence;
:class:`Crowd` plays it on the event loop at ``time_scale`` times real speed.

>>> from mezon_nb.sandbox.directory import seed_directory
>>> steps = list(itertools.islice(crowd_schedule(seed_directory(0), 40.0, seed=0), 5))
>>> [step.kind for step in steps]
['join', 'join', 'join', 'join', 'join']
>>> steps == list(itertools.islice(crowd_schedule(seed_directory(0), 40.0, seed=0), 5))
True
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import itertools
import logging
import math
import random
from collections.abc import Iterator

from mezon_nb.protocol.codec import text_content
from mezon_nb.sandbox.directory import Directory
from mezon_nb.sandbox.world import World

logger = logging.getLogger(__name__)

INITIAL_AUDIENCE = 2  # viewers per streaming channel arriving in the first second
FIRST_ARRIVAL_CAP = 1.5  # seconds (crowd time)
WATCH_MEDIAN = 20.0  # seconds
WATCH_SIGMA = 1.0  # lognormal shape: mean = median * e^(sigma²/2) ≈ 33 s
CHAT_PROBABILITY = 0.15  # chance a viewer says one line while watching
_DUE = 1e-6  # s: a step due in less is due now (crowd time is rounded through loop seconds)
_CHAT_LINES = (
    "hi all!", "hello from the sandbox", "nice stream", "is this live?", "👋", "lol",
    "what's the plan today?", "sound is good here", "great picture", "brb",
)


@dataclasses.dataclass(frozen=True)
class CrowdStep:
    """One thing a crowd viewer does at crowd time ``at`` (seconds since the crowd started).

    ``kind`` is ``join``, ``leave`` or ``chat`` (then ``text`` is the line).

    >>> CrowdStep(at=1.0, kind="join", user_id=2, channel_id=3).text
    ''
    """

    at: float
    kind: str
    user_id: int
    channel_id: int
    text: str = ""


def crowd_schedule(directory: Directory, rate_per_minute: float, seed: int) -> Iterator[CrowdStep]:
    """The endless, time-ordered steps of the crowd for ``seed``; a pure generator.

    A viewer is in at most one stream at a time; arrivals find no idle viewer are skipped.

    >>> from mezon_nb.sandbox.directory import seed_directory
    >>> steps = list(itertools.islice(crowd_schedule(seed_directory(0), 600.0, seed=1), 200))
    >>> {step.kind for step in steps} >= {"join", "leave"}
    True
    >>> all(a.at <= b.at for a, b in zip(steps, steps[1:]))
    True
    """
    rng = random.Random(f"mezon_nb-sandbox-crowd-{seed}")
    idle = [viewer.user_id for viewer in directory.viewers]
    order = itertools.count()
    queue: list[tuple[float, int, str, int, int, str]] = []
    rate = max(rate_per_minute, 1e-9) / 60.0
    for channel in directory.streaming_channels():
        for slot in range(INITIAL_AUDIENCE):
            arrival = 0.1 + slot * 0.3 + rng.random() * 0.2
            heapq.heappush(queue, (arrival, next(order), "arrive", channel.channel_id, 0, ""))
        first = min(rng.expovariate(rate), FIRST_ARRIVAL_CAP) + INITIAL_AUDIENCE * 0.3
        heapq.heappush(queue, (first, next(order), "arrive-next", channel.channel_id, 0, ""))
    while queue:
        at, _, kind, channel_id, user_id, text = heapq.heappop(queue)
        if kind == "arrive-next":
            heapq.heappush(queue, (
                at + rng.expovariate(rate), next(order), "arrive-next", channel_id, 0, "",
            ))
        if kind.startswith("arrive"):
            if not idle:
                continue
            user_id = idle.pop(rng.randrange(len(idle)))
            watch = max(1.0, rng.lognormvariate(math.log(WATCH_MEDIAN), WATCH_SIGMA))
            heapq.heappush(queue, (at + watch, next(order), "leave", channel_id, user_id, ""))
            if rng.random() < CHAT_PROBABILITY:
                line = rng.choice(_CHAT_LINES)
                chat_at = at + rng.uniform(0.5, watch - 0.01) if watch > 0.6 else at
                heapq.heappush(queue, (chat_at, next(order), "chat", channel_id, user_id, line))
            yield CrowdStep(at, "join", user_id, channel_id)
        elif kind == "leave":
            idle.append(user_id)
            yield CrowdStep(at, "leave", user_id, channel_id)
        else:
            yield CrowdStep(at, "chat", user_id, channel_id, text)


class Crowd:
    """Plays :func:`crowd_schedule` on the server's loop: ``start()``, ``pause()``, ``stop()``.

    Chat steps are posted only when ``chat`` is on and the viewer is still watching.

    >>> from mezon_nb.sandbox.config import SandboxConfig
    >>> crowd = Crowd(World(SandboxConfig()), rate_per_minute=40.0, time_scale=1.0)
    >>> crowd.paused
    False
    """

    def __init__(
        self,
        world: World,
        rate_per_minute: float,
        time_scale: float,
        chat: bool = True,
    ) -> None:
        self.world = world
        self.time_scale = max(time_scale, 1e-6)
        self.chat = chat
        self.steps_done = 0
        self._steps = crowd_schedule(world.directory, rate_per_minute, world.config["seed"])
        self._task: asyncio.Task[None] | None = None
        self._crowd_time_at_anchor = 0.0
        self._anchor: float | None = None  # loop time when last started/resumed; None = paused
        self._resumed = asyncio.Event()

    @property
    def paused(self) -> bool:
        """Whether the crowd's clock is stopped (it is never paused before ``start``).

        >>> from mezon_nb.sandbox.config import SandboxConfig
        >>> Crowd(World(SandboxConfig()), 40.0, 1.0).paused
        False
        """
        return self._anchor is None and self._task is not None

    def crowd_time(self) -> float:
        """Seconds of crowd time elapsed (real time × ``time_scale``, minus pauses).

        >>> from mezon_nb.sandbox.config import SandboxConfig
        >>> Crowd(World(SandboxConfig()), 40.0, 1.0).crowd_time()
        0.0
        """
        if self._anchor is None:
            return self._crowd_time_at_anchor
        elapsed = asyncio.get_running_loop().time() - self._anchor
        return self._crowd_time_at_anchor + elapsed * self.time_scale

    async def start(self) -> None:
        """Start playing from crowd time 0 (call on the server loop).

        >>> from mezon_nb.sandbox.config import SandboxConfig
        >>> async def demo():
        ...     crowd = Crowd(World(SandboxConfig()), 40.0, time_scale=100.0)
        ...     await crowd.start(); await asyncio.sleep(0.05); await crowd.stop()
        ...     return crowd.steps_done > 0
        >>> asyncio.run(demo())
        True
        """
        self._anchor = asyncio.get_running_loop().time()
        self._resumed.set()
        self._task = asyncio.create_task(self._play())

    def pause(self) -> None:
        """Freeze the crowd's clock; nobody joins or leaves until :meth:`resume`.

        >>> from mezon_nb.sandbox.config import SandboxConfig
        >>> Crowd(World(SandboxConfig()), 40.0, 1.0).pause()
        """
        if self._anchor is not None:
            self._crowd_time_at_anchor = self.crowd_time()
            self._anchor = None
            self._resumed.clear()

    def resume(self) -> None:
        """Restart the crowd's clock where :meth:`pause` froze it.

        >>> from mezon_nb.sandbox.config import SandboxConfig
        >>> Crowd(World(SandboxConfig()), 40.0, 1.0).resume()
        """
        if self._anchor is None and self._task is not None:
            self._anchor = asyncio.get_running_loop().time()
            self._resumed.set()

    async def stop(self) -> None:
        """Stop playing (viewers stay where they are).

        >>> from mezon_nb.sandbox.config import SandboxConfig
        >>> asyncio.run(Crowd(World(SandboxConfig()), 40.0, 1.0).stop())
        """
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _play(self) -> None:
        for step in self._steps:
            while True:
                await self._resumed.wait()
                wait = (step.at - self.crowd_time()) / self.time_scale
                if wait <= _DUE:
                    break
                await asyncio.sleep(min(wait, 0.2))  # short naps so a pause takes effect
            try:
                self._apply(step)
            except Exception:  # a crowd bug must not kill the sandbox
                logger.exception("crowd step failed")
            self.steps_done += 1

    def _apply(self, step: CrowdStep) -> None:
        world = self.world
        if step.kind == "join":
            world.stream_join(step.channel_id, step.user_id, world.user_name(step.user_id))
        elif step.kind == "leave":
            world.stream_leave(step.channel_id, step.user_id)
        elif self.chat and any(
            row.user_id == step.user_id for row in world.presence(channel_id=step.channel_id)
        ):
            world.post_message(step.channel_id, step.user_id, text_content(step.text))
