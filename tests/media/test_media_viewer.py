"""Watching the sandbox's test pattern: frames with decodable stamps, audio, iterators,
callbacks, several sessions at once, presence on leave, no leaked tasks.

Progress, not rates: tests wait (bounded) for a number of frames, never count what arrived in
a fixed time, so they hold on a busy machine (frame rates: benchmarks/media.py).

Not covered here: publishing (test_media_publish.py), error paths (test_media_errors.py), recording
(test_media_recording.py), real STN (no network in tests).
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from mezon_nb.media import read_stamp

pytestmark = pytest.mark.media


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_frames_for_two_seconds_with_stamps_and_audio(client, sandbox):
    session = client.join_stream(sandbox.stream_channel_id, timeout=15)
    try:
        assert session.state == "live"
        frames = []
        with session.frames(buffer=64) as stream:
            for _ in range(30):  # two seconds of the 15 fps stream, however long they take
                frame = stream.get(timeout=10)
                assert frame is not None
                frames.append(frame)
        indices = [f.index for f in frames]
        assert indices == sorted(set(indices))
        last = frames[-1]
        assert last.array.shape == (240, 320, 3) and last.array.dtype.name == "uint8"
        stamped = [f for f in frames if f.captured_at is not None]
        assert len(stamped) >= 0.9 * len(frames)
        assert all(f.latency_ms >= 0 for f in stamped)   # stamped before received, one clock
        stamp = read_stamp(last.array)
        assert stamp is not None and abs(stamp.captured_at - last.captured_at) < 1e-6
        stats = session.stats
        assert stats.codec == "VP8" and (stats.width, stats.height) == (320, 240)
        assert stats.fps > 0 and stats.latency_ms is not None
        assert stats.frames_received >= len(frames)
        assert session.latest_audio(timeout=10) is not None
        # one second of sound in 20 ms chunks
        assert wait_until(lambda: session.stats.audio_frames_received >= 50)
        chunk = session.latest_audio()
        assert chunk.sample_rate == 48_000 and chunk.array.shape[0] == chunk.channels
    finally:
        session.leave()
    assert session.state == "closed"


def test_slow_consumer_gets_newest_frames_and_drop_counts(client, sandbox):
    with client.join_stream(sandbox.stream_channel_id, timeout=15) as session:
        stream = session.frames(buffer=2)
        start = session.stats.frames_received
        # a consumer that falls behind by 10 frames, however long the stream takes to send them
        assert wait_until(lambda: session.stats.frames_received >= start + 10)
        newest = session.latest_frame()
        frame = stream.get(timeout=1)
        assert frame.index >= newest.index - 1  # one of the 2 newest frames: no growing delay
        assert stream.dropped >= 5 and session.stats.frames_dropped >= stream.dropped
        stream.close()


def test_on_frame_callbacks_and_async_iteration(client, sandbox):
    seen, threads = [], set()
    with client.join_stream(sandbox.stream_channel_id, timeout=15) as session:
        unsubscribe = session.on_frame(lambda f: (seen.append(f.index),
                                                  threads.add(threading.current_thread().name)))

        async def take(n):
            out = []
            async for frame in session.frames():
                out.append(frame)
                if len(out) == n:
                    break
            return out

        got = asyncio.run(asyncio.wait_for(take(5), 5))
        assert len(got) == 5
        assert wait_until(lambda: len(seen) >= 5)
        unsubscribe()
        assert threads == {"mezon_nb-on_frame"}


def test_several_sessions_at_once(client, sandbox):
    sessions = [client.join_stream(sandbox.stream_channel_id, timeout=15) for _ in range(3)]
    try:
        assert all(wait_until(lambda s=s: s.stats.frames_received >= 10) for s in sessions)
    finally:
        for s in sessions:
            s.leave()


def stream_server(sandbox) -> tuple[int, int]:
    """The sandbox stream server's (signalling sockets, viewers of the main stream)."""
    stream = sandbox.control("state")["stream"]
    main = [c for c in stream["channels"] if c["channel_id"] == sandbox.stream_channel_id]
    return stream["sockets"], main[0]["viewers"]


def test_leave_updates_presence_and_leaks_no_task(client, sandbox, loop_tasks):
    before = loop_tasks()
    assert wait_until(lambda: stream_server(sandbox) == (0, 0))
    session = client.join_stream(sandbox.stream_channel_id, timeout=15)
    me = client.session().user_id

    def watching():
        users = client.streaming_channel_users(sandbox.clan_id, sandbox.stream_channel_id)
        return me in {u.user_id for u in users}

    assert wait_until(watching)
    assert stream_server(sandbox) == (1, 1)
    session.leave()
    session.leave()  # idempotent
    assert session.state == "closed"
    assert wait_until(lambda: not watching())
    assert wait_until(lambda: loop_tasks() <= before)
    assert wait_until(lambda: stream_server(sandbox) == (0, 0))   # the server let go too


def test_async_client_on_its_own_loop(sandbox):
    """As in a notebook cell with top-level await: the session still runs on the loop thread."""
    from mezon_nb.client import AsyncClient

    async def main():
        async with AsyncClient(sandbox.bot_id, sandbox.bot_token, base_url=sandbox.api_url,
                               stream_url=sandbox.stream_url) as aclient:
            async with await aclient.join_stream(sandbox.stream_channel_id) as session:
                got = []
                async for frame in session.frames():
                    got.append(frame)
                    if len(got) == 3:
                        break
            return session.state, got

    state, got = asyncio.run(asyncio.wait_for(main(), 30))
    assert state == "closed" and len(got) == 3 and got[0].captured_at is not None
