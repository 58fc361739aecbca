"""A frame's hop into the widget pump: the pump listens on the loop thread, where frames
arrive, through ``StreamSession.listen_frames`` (no worker thread, no hop back to the loop).

Uses a real ``StreamSession`` and a real ``FramePump`` on the library's loop; frames are
published on the loop as the receive path does. Not covered: WebRTC (test_sandbox_stream.py).
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from mezon_nb.core.loop import LoopThread
from mezon_nb.media import Frame, StreamSession
from mezon_nb.widgets.pump import FramePump


def _frame(index: int) -> Frame:
    return Frame.from_array(np.full((8, 8, 3), index, np.uint8), index=index)


def test_the_pump_takes_frames_on_the_loop_thread_without_a_worker_thread():
    runner = LoopThread.shared()
    session = StreamSession("6")
    sent: list[dict] = []
    pump = FramePump(lambda content, buffers: sent.append(content))
    offered_on: list[str] = []
    original = pump._offer_from

    def offer_from(source, frame):
        offered_on.append(threading.current_thread().name)
        original(source, frame)

    pump._offer_from = offer_from
    try:
        pump.set_source(session)
        pump.set_visible("view-1", True)
        runner.call_soon(session._video.publish, _frame(1))
        assert pump.wait_until(lambda: sent, timeout=10)
        assert offered_on == ["mezon_nb-loop"]
        assert not [t for t in threading.enumerate() if t.name == "mezon_nb-on_frame"]
    finally:
        pump.close()
    runner.call_soon(session._video.publish, _frame(2))   # unsubscribed by close()
    runner.run(asyncio.sleep(0), timeout=5)
    assert offered_on == ["mezon_nb-loop"]
