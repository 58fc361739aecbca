"""Shared fixtures: one sandbox with a small stream (320x240 at 15 fps, no crowd), one client,
and a short WebM (VP8 + Opus) clip made with PyAV."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import av
import pytest

import mezon_nb
from mezon_nb.client.runner import LoopThread
from mezon_nb.sandbox.stn.pattern import TestPattern

SIZE, FPS = (320, 240), 15


@pytest.fixture(scope="module")
def sandbox():
    with mezon_nb.Sandbox.start(crowd=False, stream_size=SIZE, stream_fps=FPS) as box:
        yield box


@pytest.fixture(scope="module")
def client(sandbox):
    client = mezon_nb.connect(sandbox=sandbox)
    yield client
    client.close()


@pytest.fixture(scope="module")
def idle_channels(client, sandbox):
    """Streaming channels with no publisher (the sandbox seeds more than one)."""
    ids = [c.channel_id for c in client.streaming_channels()
           if c.channel_id != sandbox.stream_channel_id]
    assert len(ids) >= 2
    return ids


def make_webm(path, seconds: float, size=SIZE, fps=FPS):
    """A stamped pattern clip: VP8 video (keyframe each second) and an Opus tone."""
    pattern = TestPattern(*size, fps=fps)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libvpx", rate=fps)
        video.width, video.height, video.pix_fmt, video.gop_size = *size, "yuv420p", fps
        audio = container.add_stream("libopus", rate=48_000)
        audio.layout = "stereo"
        for i in range(int(seconds * fps)):
            frame = pattern.video_frame(i, 0.0)
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        for i in range(int(seconds * 50)):
            container.mux(audio.encode(pattern.audio_frame(i)))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_webm(tmp_path_factory.mktemp("media") / "clip.webm", seconds=3.0)


@pytest.fixture(scope="module")
def ogg(tmp_path_factory):
    """Two seconds of Ogg Opus tone (a radio-style, audio-only publication)."""
    path = tmp_path_factory.mktemp("media") / "tone.ogg"
    pattern = TestPattern(*SIZE)
    with av.open(str(path), "w") as container:
        audio = container.add_stream("libopus", rate=48_000)
        audio.layout = "stereo"
        for i in range(100):
            container.mux(audio.encode(pattern.audio_frame(i)))
        container.mux(audio.encode(None))
    return path


@pytest.fixture
def loop_tasks():
    """A function: how many tasks the library's loop thread runs now."""

    async def count() -> int:
        return len(asyncio.all_tasks())

    return lambda: LoopThread.shared().run(count(), timeout=5)


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    """A real coturn on 127.0.0.1 with long-term credentials, stopped after the module."""
    from coturn import Coturn

    server = Coturn(tmp_path_factory.mktemp("coturn"))
    yield server
    server.stop()
