"""The recorder's limits, on real PyAV frames and real files: a bounded queue whose drops are
counted, writes refused once the writer failed or the recorder closed, and a session whose
``stop_recording()`` from a cell cannot break the receive path.

Not covered: recording a live stream (test_media_recording.py).
"""

from __future__ import annotations

import os
import threading
import time

import av
import pytest

from mezon_nb.errors import MediaError
from mezon_nb.media import StreamSession
from mezon_nb.media.recording import Recorder


def _frame() -> av.VideoFrame:
    return av.VideoFrame(64, 48, "yuv420p")


def _wait(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_writer_that_falls_behind_drops_and_counts_instead_of_growing(tmp_path):
    fifo = tmp_path / "slow.mkv"
    os.mkfifo(fifo)   # opening it for writing blocks until a reader comes: a stuck writer
    rec = Recorder(fifo, audio=False, max_queue=10)
    rec.write(_frame(), 0.0)
    assert _wait(lambda: rec._queue.qsize() == 0)   # the writer took it and is stuck
    for i in range(49):
        rec.write(_frame(), (i + 1) / 30)
    assert rec._queue.qsize() == 10
    assert rec.dropped == 39
    reader = threading.Thread(target=lambda: fifo.read_bytes(), daemon=True)
    reader.start()    # unstick the writer: it drains the queue and closes the file
    try:
        rec.close(timeout=30)
    except MediaError:
        pass          # a pipe cannot be seeked to finish the file; the counts are the point
    reader.join(10)
    assert rec.frames + rec.dropped == 50


def test_writes_are_refused_after_the_writer_failed(tmp_path):
    rec = Recorder(tmp_path / "no-such-folder" / "clip.mp4", audio=False)
    rec.write(_frame(), 0.0)
    assert _wait(lambda: rec.error is not None)
    for i in range(500):
        rec.write(_frame(), i / 30)
    assert rec._queue.qsize() == 0
    assert rec.dropped == 500
    with pytest.raises(MediaError, match="failed"):
        rec.close()


class _CellStopsRecording(StreamSession):
    """A real session in which a notebook cell calls ``stop_recording()`` at the worst moment:
    right after the receive path has read ``_recorder`` once."""

    armed = False

    @property
    def _recorder(self):
        value = self.__dict__.get("_held")
        if self.armed and value is not None:
            self.armed = False
            self.__dict__["_held"] = None   # what stop_recording() does on the cell's thread
            self.stopped_by_cell = value
        return value

    @_recorder.setter
    def _recorder(self, value):
        self.__dict__["_held"] = value


def test_stop_recording_from_a_cell_cannot_break_the_receive_path(tmp_path):
    session = _CellStopsRecording("6")
    session.track_kinds.add("video")
    session.record(tmp_path / "clip.mp4")
    session._on_video(_frame())
    session.armed = True
    session._on_video(_frame())        # raised AttributeError on None before the fix
    assert session.state == "live"
    assert session.latest_frame().index == 1
    assert session.stopped_by_cell.close().exists()
