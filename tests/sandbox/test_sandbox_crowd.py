"""The synthetic crowd: deterministic under a seed, visible in events and presence.

Not covered: the exact timing of steps on a loaded machine (only their order is fixed).
"""

from __future__ import annotations

import itertools
import time

from mezon_nb.sandbox import Sandbox
from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.crowd import crowd_schedule
from mezon_nb.sandbox.directory import seed_directory


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


def test_pause_and_resume(sandbox: Sandbox) -> None:
    assert sandbox.control("pause_crowd") == {"paused": True}
    steps = sandbox.control("state")["crowd"]["steps"]
    time.sleep(0.6)
    assert sandbox.control("state")["crowd"]["steps"] == steps
    assert sandbox.control("resume_crowd") == {"paused": False}
