"""StreamViewer's comm protocol, driven by a scripted frontend against a fake session.

The real pump runs on the library's loop thread; the frontend records ``send()`` calls and
answers with acks and visibility through the widget's message handler. Flow control runs in
simulated time (``SimClock``): the test moves the clock and waits until the pump is idle, so
pacing, expiry and the PNG delay are checked exactly, however busy the machine is (the rules
themselves: test_transport.py). Not covered here: a real browser (rAF, createImageBitmap) and a
real stream (see test_sandbox_stream.py).
"""

import threading
import types

import numpy as np
import pytest
from widget_fakes import FakeClient, Frontend, SimClock, settle, settle_idle

from mezon_nb.widgets import cells
from mezon_nb.widgets.viewer import StreamViewer


@pytest.fixture
def client():
    return FakeClient()


@pytest.fixture
def clock():
    return SimClock()


@pytest.fixture
def setup(client, clock):
    viewer = StreamViewer(client, "7", clock=clock)
    frontend = Frontend(viewer, clock=clock)
    yield viewer, frontend, client.sessions[-1]
    viewer.close()


def test_frames_flow_newest_first_within_the_window(setup, clock):
    viewer, frontend, session = setup
    frontend.show()
    for i in range(80):
        session.push()
        if i % 2 == 1:
            assert settle_idle(viewer)
        if i % 4 == 3:                           # a slow browser: paints now and then
            frontend.paint_all()
        clock.advance(0.003)
    stats = viewer.get_stats()
    assert stats["superseded"] > 0 and stats["expired"] == 0
    ids = [content["id"] for content, _ in frontend.frames()]
    assert ids == sorted(set(ids)) and len(ids) >= 5
    flow = viewer._mz_pump.flow                       # max_in_flight (+ fast_extra painting fast)
    assert frontend.max_seen_in_flight <= flow.max_in_flight + flow.fast_extra
    filled = [c for c, _ in frontend.frames() if c["flush"]]
    assert filled and len(filled) < len(ids)          # only frames that filled the window
    content, buffers = frontend.frames()[0]
    assert content["mime"] == "image/jpeg" and "data" not in content
    assert bytes(buffers[0][:2]) == b"\xff\xd8"
    assert (content["width"], content["height"]) == (64, 48)


def test_nothing_is_sent_while_hidden(setup, clock):
    viewer, frontend, session = setup
    session.push()
    clock.advance(0.4)
    assert settle_idle(viewer)
    assert frontend.frames() == []
    frontend.show()
    assert settle(viewer, lambda: len(frontend.frames()) == 1)
    frontend.paint_all()
    frontend.show(visible=False)
    assert settle_idle(viewer)
    count = len(frontend.frames())
    for _ in range(5):
        newest = session.push()
        assert settle_idle(viewer)
    clock.advance(0.5)                             # past the PNG delay too
    assert settle_idle(viewer)
    assert len(frontend.frames()) == count
    frontend.show()                                # the marker: shown again, the newest comes
    assert settle(viewer, lambda: len(frontend.frames()) == count + 1)
    np.testing.assert_allclose(frontend.last_image(), newest.array, atol=8)   # JPEG


def test_a_second_view_keeps_frames_coming_after_the_first_hides(setup):
    viewer, frontend, session = setup
    frontend.show("a")
    frontend.show("b")
    frontend.show("a", visible=False)
    session.push()
    assert settle(viewer, lambda: len(frontend.frames()) == 1)


def test_last_frame_resent_as_png_when_the_stream_pauses(setup, clock):
    viewer, frontend, session = setup
    frontend.show()
    frame = session.push(value=77)
    assert settle(viewer, lambda: frontend.frames())
    frontend.paint_all()
    clock.advance(0.29)
    assert settle_idle(viewer) and len(frontend.frames()) == 1           # not yet
    clock.advance(0.02)                                                  # the 0.3 s pause
    assert settle(viewer, lambda: frontend.frames()[-1][0]["mime"] == "image/png")
    np.testing.assert_array_equal(frontend.last_image(), frame.array)   # lossless
    frontend.paint_all()
    clock.advance(10.0)
    assert settle_idle(viewer)
    assert len(frontend.frames()) == 2                                   # only once
    session.push(value=20)                                   # the marker: the next frame comes
    assert settle(viewer, lambda: len(frontend.frames()) == 3)
    assert frontend.frames()[-1][0]["mime"] == "image/jpeg"


def test_snapshot_is_the_last_frame_acknowledged_as_painted(setup):
    viewer, frontend, session = setup
    assert viewer.snapshot() is None
    frontend.show()
    first = session.push(value=10)
    assert settle(viewer, lambda: frontend.frames())
    frontend.paint_all()
    session.push(value=20)
    assert settle(viewer, lambda: len(frontend.frames()) == 2)
    assert settle(viewer, lambda: viewer.snapshot() is not None)
    np.testing.assert_array_equal(viewer.snapshot(), first.array)


def test_paint_timestamps_give_glass_to_glass_latency(setup):
    viewer, frontend, session = setup
    frontend.show()
    frame = session.push()
    assert settle(viewer, lambda: frontend.frames())
    frontend.paint_all(at_ms=frame.captured_at * 1000.0 + 250.0)    # painted 250 ms after capture
    assert settle(viewer, lambda: viewer.get_stats()["glass_to_glass_ms"] is not None)
    assert viewer.get_stats()["glass_to_glass_ms"] == pytest.approx(250.0, abs=0.1)


def play(viewer, session, frontend, clock, seconds: float,
         paint_every: float | None = 0.0) -> int:
    """Push frames at 30 fps for ``seconds`` of simulated time, the pump settling after each;
    the frontend paints the newest frame it has at most every ``paint_every`` s (never with
    None: a cell blocks the shell). Returns pushes."""
    pushed, last_paint = 0, -1.0
    for _ in range(round(seconds * 30)):
        session.push()
        pushed += 1
        assert settle_idle(viewer)
        now = clock()
        if paint_every is not None and now - last_paint >= paint_every - 1e-6:
            last_paint = now if frontend.paint_newest() is not None else last_paint
            assert settle_idle(viewer)
        clock.advance(1 / 30)
    return pushed


def test_a_busy_cell_paces_frames_at_the_rate_painted_before_it(setup, clock, monkeypatch):
    viewer, frontend, session = setup
    frontend.show()
    play(viewer, session, frontend, clock, 1.5)
    measured = viewer.get_stats()["busy_fps"]
    assert measured == pytest.approx(30.0, abs=0.5)                 # the source set the rate
    monkeypatch.setattr(cells._Cells, "busy", True)
    before = len(frontend.frames())
    pushed = play(viewer, session, frontend, clock, 2.0, paint_every=None)   # no acks
    sent = len(frontend.frames()) - before
    assert sent == pushed                                         # paced at 30: every frame
    assert viewer.get_stats()["in_flight"] <= measured + 1        # 1 s of frames, both ends
    monkeypatch.setattr(cells._Cells, "busy", False)             # the cell ends: acks flow
    frontend.paint_newest()
    frontend.max_seen_in_flight = 0
    before = len(frontend.frames())
    play(viewer, session, frontend, clock, 1.0)
    assert len(frontend.frames()) - before >= 29 and frontend.max_seen_in_flight <= 2


def test_a_slow_browser_gets_its_own_rate_during_a_busy_cell(setup, clock, monkeypatch):
    viewer, frontend, session = setup
    frontend.show()
    play(viewer, session, frontend, clock, 2.0, paint_every=0.1)
    measured = viewer.get_stats()["busy_fps"]
    assert measured == pytest.approx(9.0, abs=0.5)       # 10 % under the 10 fps it painted
    monkeypatch.setattr(cells._Cells, "busy", True)
    before = len(frontend.frames())
    play(viewer, session, frontend, clock, 2.0, paint_every=None)
    sent = len(frontend.frames()) - before
    assert measured * 2 <= sent <= measured * 2 + 2      # 2 s at that pace, not the source's 30


def test_status_follows_the_session(setup):
    viewer, _frontend, session = setup
    session.set_state("waiting")
    assert viewer.status == "waiting"
    session.set_state("error", "ICE failed")
    assert (viewer.status, viewer.status_text) == ("error", "ICE failed")


def test_join_and_leave_buttons(setup, client):
    viewer, frontend, first = setup
    frontend.say(type="join", channel_id="8")
    assert viewer.session.channel_id == "8" and viewer.channel_id == "8"
    assert first.left == 1 and first.subscribers == 0
    second = viewer.session
    frontend.say(type="leave")
    assert viewer.session is None and viewer.status == "idle"
    assert second.left == 1 and second.subscribers == 0


def test_picker_lists_channels_and_refreshes(client):
    viewer = StreamViewer(client)
    try:
        assert viewer.session is None and viewer.status == "idle"
        assert viewer.channels == [{"id": "7", "label": "chan-7"}, {"id": "8", "label": "chan-8"}]
        assert viewer.channel_id == "7"
        client._channels.pop()
        Frontend(viewer).say(type="refresh")
        assert [c["id"] for c in viewer.channels] == ["7"]
    finally:
        viewer.close()


def test_base64_only_when_the_frontend_cannot_take_buffers(setup):
    viewer, frontend, session = setup
    frontend.show()
    frontend.say(type="nobuffers", view="v1")
    session.push()
    assert settle(viewer, lambda: frontend.frames())
    content, buffers = frontend.frames()[-1]
    assert buffers == [] and content["data"]


def test_overlay_counts_viewers_from_the_participant_log(setup, client):
    viewer, frontend, session = setup
    frontend.show()
    session.push()
    client.participants.add("joined", "u1", "7")
    client.participants.add("joined", "u2", "8")
    assert settle(viewer, lambda: viewer.overlay.get("viewers") == 1, timeout=3)
    frontend.paint_all()
    assert settle(viewer, lambda: viewer.overlay.get("width") == 64, timeout=3)
    assert viewer.overlay["latency_ms"] == 12.0


def test_close_leaves_the_session_and_stops_everything(client):
    before = {t.name for t in threading.enumerate() if not t.name.startswith("mezon_nb-encode")}
    tasks_before = _our_tasks()
    viewer = StreamViewer(client, "7")
    frontend = Frontend(viewer)
    frontend.show()
    session = client.sessions[-1]
    session.push()
    assert settle(viewer, lambda: frontend.frames())
    viewer.close()
    viewer.close()                                   # idempotent
    assert session.left == 1 and session.subscribers == 0
    assert viewer._mz_pump.closed and viewer._mz_ticker.done()
    assert _our_tasks() == tasks_before
    assert client.participants._fns == []
    assert viewer.status == "closed" and viewer.comm is None
    count = len(frontend.messages)
    session.push()                                   # nobody subscribed: nothing posted
    assert _our_tasks() == tasks_before              # (this also runs anything posted)
    assert len(frontend.messages) == count
    after = {t.name for t in threading.enumerate() if not t.name.startswith("mezon_nb-encode")}
    assert after <= before | {"mezon_nb-loop"}


def test_a_failed_join_in_the_constructor_leaves_nothing_running(client):
    from mezon_nb.errors import NotFoundError

    def refuse(channel_id, **options):
        raise NotFoundError(f"channel {channel_id!r} not found")

    client.join_stream = refuse
    tasks_before = _our_tasks()
    with pytest.raises(NotFoundError):
        StreamViewer(client, "404")
    assert _our_tasks() == tasks_before
    assert client.participants._fns == []


def _our_tasks() -> int:
    import asyncio

    from mezon_nb.core.loop import LoopThread

    runner = LoopThread.shared()

    async def count() -> int:
        return sum(t.get_name().startswith("mezon_nb-") for t in asyncio.all_tasks())

    return runner.run(count(), timeout=5)


def test_a_displayed_viewer_sends_while_a_cell_blocks_its_frontends_report(setup, clock):
    viewer, frontend, session = setup
    viewer._repr_mimebundle_()        # display(): the next cell may block the shell at once
    session.push()
    clock.advance(0.4)
    assert settle_idle(viewer)
    assert frontend.frames() == []    # idle: the frontend speaks for itself once it rendered
    cells.pre_run_cell(types.SimpleNamespace(cell_id=None))    # the next cell blocks
    try:
        session.push()
        assert settle(viewer, lambda: len(frontend.frames()) == 1)
    finally:
        cells.post_run_cell(None)
    session.push()
    clock.advance(0.4)
    assert settle_idle(viewer)
    assert len(frontend.frames()) == 1   # the cell ended: the frontend's report is due
    frontend.paint_all()
    frontend.show("v1", visible=False)          # the real view reports: off-screen
    assert settle_idle(viewer)
    count = len(frontend.frames())
    newest = session.push(value=99)
    clock.advance(0.4)
    assert settle_idle(viewer)
    assert len(frontend.frames()) == count
    frontend.show("v1")                         # the marker: on screen again, the newest comes
    assert settle(viewer, lambda: len(frontend.frames()) == count + 1)
    np.testing.assert_allclose(frontend.last_image(), newest.array, atol=8)


def test_frames_are_reduced_to_the_widest_visible_view(setup):
    viewer, frontend, session = setup
    frontend.say(type="visibility", view="small", visible=True, width=30)
    session.push()
    assert settle(viewer, lambda: frontend.frames())
    content, _ = frontend.frames()[-1]
    assert frontend.last_image().shape == (24, 32, 3)       # 64 wide / 2
    assert (content["width"], content["height"]) == (64, 48)  # the stream's own size
    frontend.paint_all()
    frontend.show("unsized")                               # a view that did not say: full size
    session.push()
    assert settle(viewer, lambda: frontend.last_image().shape == (48, 64, 3))


def test_a_slow_frontend_keeps_the_window_at_max_in_flight(setup, clock):
    viewer, frontend, session = setup
    frontend.show()
    for _ in range(25):
        for _ in range(3):                            # the source is faster than the browser
            session.push()
            assert settle_idle(viewer)
            clock.advance(0.01)
        assert len(frontend._unacked) == 2, (viewer.get_stats(), viewer._mz_pump.adapt_stats())
        clock.advance(0.12)                           # painted 120 ms after it was sent
        frontend.paint_all()
        assert settle_idle(viewer)
    assert viewer.get_stats()["acked"] == 50
    assert frontend.max_seen_in_flight == 2 and viewer._mz_pump.flow.window == 2
    assert sum(c["flush"] for c, _ in frontend.frames()) >= 20   # the window filled: ack now


def test_a_skipped_ack_frees_the_slot_but_is_not_a_painted_frame(setup):
    viewer, frontend, session = setup
    frontend.show()
    session.push()
    assert settle(viewer, lambda: frontend.frames())
    frontend.say(type="acks", view="v1", painted=[], skipped=[frontend.frames()[0][0]["id"]])
    assert settle(viewer, lambda: viewer.get_stats()["skipped"] == 1)
    assert viewer.get_stats()["in_flight"] == 0 and viewer.snapshot() is None
