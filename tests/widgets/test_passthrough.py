"""Pass-through on the sandbox's real stream: the viewer sends the stream's own VP8 to a view
that decodes it, no delta frame after a gap (not even when the sandbox drops RTP packets),
keyframes on request, JPEG when the view cannot decode or the user asks.

The view is scripted (no browser) and decodes what it gets with PyAV's VP8 decoder, strictly in
order: a delta frame that does not follow the frame before it counts as a corrupt picture.
Not covered: a real browser's WebCodecs (tests/browser/test_quickstart.py).
"""

from __future__ import annotations

import threading
import time

import av
import pytest
from widget_fakes import settle

from mezon_nb.media import read_stamp

pytestmark = pytest.mark.media


class DecodingView:
    """Takes the widget's messages, decodes "video" ones in order, acks each as painted."""

    def __init__(self, viewer, codecs=("vp8",)) -> None:
        self.viewer, self.codecs = viewer, list(codecs) if codecs is not None else None
        self.lock = threading.Lock()
        self.video: list[dict] = []
        self.jpeg = 0
        self.stamps: list[int] = []
        self.corrupt = 0
        self.unstamped = 0
        self._decoder = None
        self._last_seq: int | None = None
        viewer.send = self._receive

    def _receive(self, content, buffers=None) -> None:
        kind = content.get("type")
        now = time.time() * 1000.0
        if kind == "frame":
            with self.lock:
                self.jpeg += 1
        if kind != "video":
            return
        with self.lock:
            self.video.append(content)
            if content["key"]:
                self._decoder = av.CodecContext.create("vp8", "r")
            elif self._decoder is None or content["seq"] != self._last_seq + 1:
                self.corrupt += 1
            self._last_seq = content["seq"]
            if self._decoder is not None:
                for picture in self._decoder.decode(av.Packet(bytes(buffers[0]))):
                    stamp = read_stamp(picture.to_ndarray(format="rgb24"))
                    if stamp is None:
                        self.unstamped += 1
                    else:
                        self.stamps.append(stamp.index)
        self.viewer._handle_custom_msg({"type": "acks", "view": "v1", "flushed_at": now,
                                        "painted": [[content["id"], now]]}, [])

    def ask_keyframe(self, reason: str, view: str = "v1") -> None:
        """The browser's keyframe request, as it rides in an acks message (sent at once)."""
        self.viewer._handle_custom_msg({"type": "acks", "view": view, "painted": [],
                                        "flushed_at": time.time() * 1000,
                                        "keyframe": reason}, [])

    def playing(self) -> int:
        """Show the view, wait for 5 stamped pictures; how many video messages came."""
        self.show()
        assert settle(self.viewer, lambda: len(self.stamps) >= 5, timeout=20)
        with self.lock:
            return len(self.video)

    def show(self) -> None:
        self.viewer._handle_custom_msg({"type": "visibility", "view": "v1", "visible": True,
                                        "width": 640, "codecs": self.codecs}, [])


def test_a_view_that_decodes_vp8_gets_the_streams_own_frames_from_a_keyframe(viewer_of):
    viewer = viewer_of(adapt=False)   # the pass-through rules, whatever the load
    view = DecodingView(viewer)
    view.show()
    assert settle(viewer, lambda: len(view.stamps) >= 30, timeout=20), viewer.get_stats()
    assert view.video[0]["key"] and view.video[0]["codec"] == "vp8"
    assert view.corrupt == 0 and view.unstamped == 0
    assert view.stamps == sorted(view.stamps)
    stats = viewer.get_stats()
    assert stats["path"] == "webcodecs vp8" and stats["comm_kbps"] > 0
    assert view.jpeg <= 2                       # at most what went before the view spoke
    session = viewer.session
    session._lease_until = 0.0                  # the join's own lease is over
    time.sleep(0.3)
    decoded = session.stats.frames_decoded
    seen = len(view.video)
    assert settle(viewer, lambda: len(view.video) >= seen + 20, timeout=20)
    assert session.stats.frames_decoded - decoded <= 2      # watching decodes nothing
    assert viewer.snapshot().shape == (240, 320, 3)         # decoded on demand


def test_after_lost_packets_no_delta_frame_goes_and_the_picture_comes_back(viewer_of,
                                                                           sandbox):
    viewer = viewer_of(adapt=False)   # the pass-through rules, whatever the load
    view = DecodingView(viewer)
    view.show()
    assert settle(viewer, lambda: len(view.stamps) >= 10, timeout=20)
    sandbox.control("drop_packets", share=0.3, seconds=2, retransmissions=False)
    time.sleep(2.0)
    after_loss = len(view.stamps)
    assert settle(viewer, lambda: len(view.stamps) >= after_loss + 20, timeout=20), \
        viewer.get_stats()
    assert view.corrupt == 0 and view.unstamped == 0, viewer.get_stats()
    assert viewer.get_stats()["keyframe_requests"] >= 1


def test_a_keyframe_request_from_the_view_brings_a_keyframe(viewer_of):
    viewer = viewer_of(adapt=False)   # the pass-through rules, whatever the load
    view = DecodingView(viewer)
    seen = view.playing()
    view.ask_keyframe("error")
    assert settle(viewer, lambda: any(m["key"] for m in view.video[seen:]), timeout=10)
    assert viewer.get_stats()["decode_errors"] == 1
    assert view.corrupt == 0


def test_a_new_view_gets_a_keyframe_and_the_others_play_on(viewer_of):
    """A view opened mid-stream asks for a keyframe ("start"); the frames in flight to the
    views already playing are not held back for it (a decoder error would be)."""
    viewer = viewer_of()
    view = DecodingView(viewer)
    seen = view.playing()
    refused, waits = viewer.get_stats()["refused"], viewer.get_stats()["keyframe_waits"]
    view.ask_keyframe("start", view="v2")
    assert settle(viewer, lambda: any(m["key"] for m in view.video[seen:]), timeout=10)
    with view.lock:
        first_key = next(i for i, m in enumerate(view.video) if i >= seen and m["key"])
        between = view.video[seen:first_key]
    stats = viewer.get_stats()
    assert stats["refused"] == refused and stats["keyframe_waits"] == waits, stats
    assert all(not m["key"] for m in between) and view.corrupt == 0
    assert stats["decode_errors"] == 0


@pytest.mark.parametrize("options, codecs", [({}, None), ({"transport": "jpeg"}, ["vp8"])])
def test_jpeg_when_the_view_cannot_decode_or_the_user_asks(viewer_of, options, codecs):
    viewer = viewer_of(adapt=False, **options)
    view = DecodingView(viewer, codecs)
    view.show()
    assert settle(viewer, lambda: view.jpeg >= 5, timeout=20)
    assert view.video == [] and viewer.get_stats()["path"] == "jpeg q80"


def test_a_transport_that_does_not_exist_is_refused(real_client, sandbox):
    with pytest.raises(ValueError, match="transport must be"):
        real_client.viewer(sandbox.stream_channel_id, transport="webm")
