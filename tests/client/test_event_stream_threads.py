"""EventStream across threads: an ``async for`` on one loop wakes for events put from another
thread (the client's loop), because it shares the one drop-oldest buffer
(``mezon_nb.core.buffers.DropBuffer``) with the frame streams.

Not covered: the Dispatcher's fan-out (tests/client/test_client_sandbox.py).
"""

from __future__ import annotations

import asyncio
import threading

from mezon_nb.client.dispatch import EventStream
from mezon_nb.core.events import StreamingEnded


def test_async_reader_on_its_own_loop_wakes_for_puts_from_another_thread():
    stream = EventStream(maxsize=100)
    waiting, received = threading.Event(), threading.Event()
    woke: list[bool] = []

    def writer() -> None:
        waiting.wait(20)
        stream.put(StreamingEnded(clan_id="1", channel_id="0"))
        woke.append(received.wait(20))   # the reader acks from its loop, or never wakes
        stream.close()

    async def read() -> list[str]:
        seen = []
        asyncio.get_running_loop().call_later(0.05, waiting.set)  # the reader waits by then
        async for event in stream:       # nothing else is scheduled on this loop
            seen.append(event.channel_id)
            received.set()
        return seen

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    seen = asyncio.run(asyncio.wait_for(read(), timeout=40))
    thread.join(5)
    assert woke == [True], "the reader's loop was not woken by a put from another thread"
    assert seen == ["0"]


def test_overflow_drops_the_oldest_and_counts():
    stream = EventStream(maxsize=3)
    for i in range(10):
        stream.put(StreamingEnded(clan_id="1", channel_id=str(i)))
    stream.close()
    assert [ev.channel_id for ev in stream] == ["7", "8", "9"]
    assert stream.dropped == 7
