"""Publishing, watched by a viewer: a WebM file (the bot's connect_publisher path) and a numpy
generator over WebRTC (session_publisher); the publisher appears as a member while live.

Not covered: http(s) FileUrls (the sandbox never fetches), publishing to real STN.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

pytestmark = pytest.mark.media


def test_publish_file_is_watched_until_its_end(client, sandbox, idle_channels, clip):
    channel = idle_channels[0]
    publisher = client.publish_file(channel, str(clip))
    assert publisher.state == "live" and publisher.file_url.startswith("file://")
    users = client.streaming_channel_users(sandbox.clan_id, channel)
    assert client.session().user_id in {u.user_id for u in users}
    session = client.join_stream(channel, timeout=10)
    assert session.latest_frame(timeout=10).array.shape == (240, 320, 3)
    assert session.latest_audio(timeout=10) is not None
    deadline = time.monotonic() + 60  # the clip lasts 3 s; bounded, however slowly it plays
    while session.state == "live" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session.state == "ended"
    assert publisher.state == "ended"
    assert session.stats.frames_received >= 15
    session.leave()
    publisher.stop()


def test_publish_numpy_generator_is_watched_with_stamps(client, idle_channels):
    def frames():
        for i in range(45):  # 3 s at 15 fps
            image = np.full((240, 320, 3), 40, np.uint8)
            image[:, (i * 6) % 320:] = (200, 120, 30)
            yield image

    publisher = client.publish(idle_channels[1], frames, fps=15)
    try:
        session = client.join_stream(idle_channels[1], timeout=10)
        with session.frames(buffer=64) as stream:
            got = [stream.get(timeout=10) for _ in range(10)]
        assert all(f is not None for f in got)
        assert sum(f.captured_at is not None for f in got) >= 9
        assert all(f.latency_ms >= 0 for f in got if f.captured_at)   # stamped, then received
        assert publisher.stats.frames_sent >= 10 and publisher.stats.width == 320
        deadline = time.monotonic() + 60
        while session.state == "live" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session.state == "ended" and publisher.state == "ended"
        session.leave()
    finally:
        publisher.stop()


def test_audio_only_file_makes_a_radio_stream(client, idle_channels, ogg):
    publisher = client.publish_file(idle_channels[0], str(ogg))
    try:
        session = client.join_stream(idle_channels[0], timeout=10)
        assert session.state == "live"
        assert session.latest_audio(timeout=3) is not None
        assert session.latest_frame() is None and session.track_kinds == {"audio"}
        session.leave()
    finally:
        publisher.stop()


def test_stop_frees_the_channel_for_the_next_publisher_at_once(client, idle_channels, clip):
    """stop() returns once the server has let go: the bot no longer counts as a viewer, and
    publishing again right away (a file, then frames) is accepted."""
    me = client.session().user_id
    channel = client.channel(idle_channels[1])
    for i in range(6):
        publisher = (client.publish_file(channel.channel_id, clip, timeout=10) if i % 2 else
                     client.publish(channel.channel_id, "pattern", size=(160, 120), timeout=10))
        assert publisher.state == "live"
        publisher.stop()
        assert publisher.state == "closed"
        users = client.streaming_channel_users(channel.clan_id, channel.channel_id)
        assert me not in {u.user_id for u in users}
