"""Recording a live stream: the file reads back with av and holds the frames received while
recording (±5 %), and about as much sound as picture (the picture's own span in the file, not
a wall-clock duration: the recording lasts 45 received frames, however long they take).

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
        first = session.stats.frames_received
        path = session.record(tmp_path / f"rec{suffix}")
        deadline = time.monotonic() + 60      # 3 s of the 15 fps stream, bounded
        while session.stats.frames_received < first + 45 and time.monotonic() < deadline:
            time.sleep(0.05)
        written = session.stop_recording()
        received = session.stats.frames_received - first
    with av.open(str(written)) as container:
        stream = container.streams.video[0]
        times = [f.time for f in container.decode(stream)]
        assert (stream.width, stream.height) == (320, 240)
    with av.open(str(written)) as container:
        seconds = sum(f.samples for f in container.decode(container.streams.audio[0])) / 48_000
    decoded, span = len(times), times[-1] - times[0] + 1 / 15
    assert received >= 45 and decoded >= 30
    assert abs(seconds - span) <= max(0.5, 0.15 * span), (seconds, span)
    assert written == path
    assert abs(decoded - received) <= 0.05 * received
