"""Doctest fixtures for ``mezon_nb.client``, ``.media`` and ``.widgets``: one small sandbox per
session.

Docstring examples there use ``sandbox`` (a running ``mezon_nb.Sandbox``: crowd off, a 320x240
test stream at 15 fps), ``client`` (a ``Client`` connected to it), ``aclient`` (its
``AsyncClient``), ``run(coro)`` (runs a coroutine on the client's loop thread) and
``channel_id`` (an idle streaming channel: no publisher, free to publish to). They run in a
temporary directory holding ``clip.webm``, five seconds of VP8 + Opus test pattern (long
enough to still be playing when an example looks at its publisher). There is no frontend in a
doctest, so widgets send nothing; their examples show the Python side. Every other doctest
runs in a temporary directory of its own, so nothing an example writes lands in the checkout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent
_WORLD_PACKAGES = {_HERE / "client", _HERE / "media", _HERE / "widgets"}
_SIZE, _FPS = (320, 240), 15


def _write_clip(path: Path, seconds: float = 5.0) -> Path:
    """A WebM test-pattern clip, written by the library's own ``Recorder``."""
    from mezon_nb.media.recording import Recorder
    from mezon_nb.sandbox.stn.pattern import TestPattern

    pattern, recorder = TestPattern(*_SIZE, fps=_FPS), Recorder(path)
    for i in range(int(seconds * _FPS)):
        recorder.write(pattern.video_frame(i), i / _FPS)
    for i in range(int(seconds * 50)):  # 20 ms of tone each
        recorder.write_audio(pattern.audio_frame(i), i / 50)
    return recorder.close()


@pytest.fixture(scope="session")
def _doctest_world(tmp_path_factory):
    from mezon_nb.client import connect
    from mezon_nb.client.runner import LoopThread
    from mezon_nb.sandbox import Sandbox

    folder = tmp_path_factory.mktemp("doctest")
    _write_clip(folder / "clip.webm")
    with Sandbox.start(seed=0, crowd=False, stream_size=_SIZE, stream_fps=_FPS) as sandbox, \
            connect(sandbox=sandbox) as client:
        idle = next(c.channel_id for c in client.streaming_channels()
                    if c.channel_id != sandbox.stream_channel_id)
        yield folder, {"sandbox": sandbox, "client": client, "aclient": client.async_client,
                       "run": lambda coro: LoopThread.shared().run(coro, timeout=30),
                       "channel_id": idle}


@pytest.fixture(autouse=True)
def _doctest_world_namespace(request, doctest_namespace, monkeypatch):
    if not isinstance(request.node, pytest.DoctestItem):
        yield
    elif Path(request.node.path).parent in _WORLD_PACKAGES:
        folder, names = request.getfixturevalue("_doctest_world")
        doctest_namespace.update(names)
        monkeypatch.chdir(folder)
        yield
        for name in names:  # doctest_namespace outlives this test: leave no names behind
            doctest_namespace.pop(name, None)
    else:  # any file an example writes lands in a temporary folder, never the checkout
        monkeypatch.chdir(request.getfixturevalue("tmp_path"))
        yield
