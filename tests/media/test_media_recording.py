"""Recording a live stream: the file reads back with av and holds every frame received while
recording, and about as much sound as picture (the picture's own span in the file, not a
wall-clock duration: the recording lasts 45 received frames, however long they take).

"Every frame" is counted without a tolerance for timing: at least the frames counted between
``record()`` returning and ``stop_recording()`` being called (one less: a frame may pass the
recorder check just before it is set), at most those counted from before the one to after
the other.

Not covered: recordings longer than a few seconds, resolution changes mid-recording.
"""

from __future__ import annotations

import time

import av
import pytest

pytestmark = pytest.mark.media


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_recording_holds_every_received_frame(client, sandbox, tmp_path, suffix):
    with client.join_stream(sandbox.stream_channel_id, timeout=15) as session:
        before = session.stats.frames_received
        path = session.record(tmp_path / f"rec{suffix}")
        started = session.stats.frames_received
        deadline = time.monotonic() + 60      # 3 s of the 15 fps stream, bounded
        while session.stats.frames_received < started + 45 and time.monotonic() < deadline:
            time.sleep(0.05)
        stopping = session.stats.frames_received
        written = session.stop_recording()
        after = session.stats.frames_received
    with av.open(str(written)) as container:
        stream = container.streams.video[0]
        times = [f.time for f in container.decode(stream)]
        assert (stream.width, stream.height) == (320, 240)
    with av.open(str(written)) as container:
        seconds = sum(f.samples for f in container.decode(container.streams.audio[0])) / 48_000
    decoded, span = len(times), times[-1] - times[0] + 1 / 15
    assert stopping - started >= 45
    # frames_received counts encoded frames as they arrive, before aiortc's decoder thread: up
    # to two frames counted before record() can still be decoded, and so recorded, after it
    in_decoder = 2
    assert stopping - started - 1 <= decoded <= after - before + in_decoder, (
        before, started, stopping, after, decoded)
    assert abs(seconds - span) <= max(0.5, 0.15 * span), (seconds, span)
    assert written == path
