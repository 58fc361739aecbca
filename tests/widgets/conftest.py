"""Shared fixtures: one loopback sandbox (small stream, no synthetic crowd) for tests/widgets."""

import pytest

import mezon_nb


@pytest.fixture(scope="package")
def sandbox():
    with mezon_nb.Sandbox.start(crowd=False, stream_size=(320, 240), stream_fps=30) as box:
        yield box


@pytest.fixture(scope="package")
def real_client(sandbox):
    client = mezon_nb.connect(sandbox=sandbox)
    yield client
    client.close()


@pytest.fixture
def viewer_of(real_client, sandbox):
    """Makes viewers of the sandbox's stream (``viewer_of(**options)``); closes them after."""
    made = []

    def make(**options):
        viewer = real_client.viewer(sandbox.stream_channel_id, **options)
        made.append(viewer)
        return viewer

    yield make
    for viewer in made:
        viewer.close()
