"""The synthetic crowd: deterministic under a seed, visible in events and presence; a pause
freezes its clock (in simulated time: no step while paused, the next one due exactly where the
clock froze), and the control API pauses and resumes it.

Not covered: the exact timing of steps on a loaded machine (only their order is fixed).
"""

from __future__ import annotations

import asyncio
import itertools
import time

from mezon_nb.sandbox import Sandbox
from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.crowd import Crowd, crowd_schedule
from mezon_nb.sandbox.directory import seed_directory
from mezon_nb.sandbox.world import World


def _steps(seed: int, count: int = 300) -> list[tuple[str, int, int]]:
    schedule = crowd_schedule(seed_directory(seed), 40.0, seed)
    return [(s.kind, s.user_id, s.channel_id) for s in itertools.islice(schedule, count)]


def test_schedule_is_deterministic_per_seed() -> None:
    assert _steps(3) == _steps(3)
    assert _steps(3) != _steps(4)


def test_schedule_keeps_one_stream_per_viewer_and_skips_the_bot() -> None:
    directory = seed_directory(0)
    watching: dict[int, int] = {}
    for kind, user_id, channel_id in _steps(0, 2000):
        assert user_id != directory.bot.user_id
        if kind == "join":
            assert user_id not in watching
            watching[user_id] = channel_id
        elif kind == "leave":
            assert watching.pop(user_id) == channel_id
        else:
            assert watching[user_id] == channel_id


def test_watch_times_have_a_long_tail() -> None:
    joined: dict[int, float] = {}
    watched: list[float] = []
    for step in itertools.islice(crowd_schedule(seed_directory(0), 40.0, 0), 4000):
        if step.kind == "join":
            joined[step.user_id] = step.at
        elif step.kind == "leave":
            watched.append(step.at - joined.pop(step.user_id))
    watched.sort()
    median, p99 = watched[len(watched) // 2], watched[int(len(watched) * 0.99)]
    assert 10 < median < 40 and p99 > 4 * median


def _emitted(sandbox: Sandbox, count: int, timeout: float = 15.0) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        events = [e for e in sandbox.control("emits")["events"] if e["kind"] in ("joined", "left")]
        if len(events) >= count or time.monotonic() > deadline:
            return [(e["kind"], e["user_id"], e["channel_id"]) for e in events[:count]]
        time.sleep(0.1)


def test_same_seed_same_sequence_through_the_server() -> None:
    options = {"stream": False, "crowd_rate": 240.0, "time_scale": 20.0, "crowd_chat": False}
    with Sandbox.start(seed=5, **options) as first, Sandbox.start(seed=5, **options) as second, \
            Sandbox.start(seed=6, **options) as other:
        sequences = [_emitted(sandbox, 30) for sandbox in (first, second, other)]
    assert len(sequences[0]) == 30
    assert sequences[0] == sequences[1]
    assert sequences[0] != sequences[2]


def test_crowd_is_lively_at_default_settings() -> None:
    # Lively in crowd time (the schedule, no clock): the first join is due within 2.5 s.
    config = SandboxConfig()
    first = next(crowd_schedule(seed_directory(config.seed), config.crowd_rate, config.seed))
    assert first.kind == "join" and first.at / config.time_scale < 2.5
    # and the server plays that schedule: that very join arrives (bounded, however slowly).
    with Sandbox.start(seed=config.seed, stream=False) as sandbox:
        events = _emitted(sandbox, 1, timeout=30.0)
        assert events == [("joined", str(first.user_id), str(first.channel_id))]
        presence = sandbox.control("state")["presence"]
        assert {row["user_id"] for row in presence} >= {events[0][1]}


def test_a_paused_crowd_takes_no_step_and_resumes_where_it_froze(in_simulated_time) -> None:
    world = World(SandboxConfig(seed=0))
    crowd = Crowd(world, rate_per_minute=120.0, time_scale=2.0, chat=False)
    due = [step.at / 2.0 for step in itertools.islice(
        crowd_schedule(world.directory, 120.0, 0), 5)]  # loop seconds from start()
    pause_at = (due[2] + due[3]) / 2
    frozen = 1000.0  # simulated seconds spent paused

    async def main() -> list[tuple[float, int]]:
        loop = asyncio.get_running_loop()
        seen = []

        async def at(moment: float) -> None:  # sleep until ``moment``, note the steps done
            await asyncio.sleep(moment - loop.time())
            seen.append((moment, crowd.steps_done))

        await crowd.start()
        await at(pause_at)
        crowd.pause()
        assert crowd.paused and crowd.crowd_time() == pause_at * 2.0
        await at(pause_at + frozen)  # step 3 was due long ago on the wall: none taken
        assert crowd.crowd_time() == pause_at * 2.0
        crowd.resume()
        await at(due[3] + frozen - 0.001)
        await at(due[3] + frozen + 0.001)  # the crowd's clock went on from where it froze
        await at(due[4] + frozen + 0.001)
        await crowd.stop()
        return seen

    assert in_simulated_time(main()) == [
        (pause_at, 3), (pause_at + frozen, 3), (due[3] + frozen - 0.001, 3),
        (due[3] + frozen + 0.001, 4), (due[4] + frozen + 0.001, 5)]


def test_pause_and_resume_through_the_control_api(sandbox: Sandbox) -> None:
    assert sandbox.control("pause_crowd") == {"paused": True}
    paused = sandbox.control("state")["crowd"]
    assert paused["paused"] is True
    assert sandbox.control("resume_crowd") == {"paused": False}
    # positive: the resumed crowd takes steps again (bounded, however slowly)
    deadline = time.monotonic() + 30
    while sandbox.control("state")["crowd"]["steps"] <= paused["steps"] and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    resumed = sandbox.control("state")["crowd"]
    assert resumed["paused"] is False and resumed["steps"] > paused["steps"]
