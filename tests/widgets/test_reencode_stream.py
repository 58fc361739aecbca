"""A viewer on a lower rung of the bitrate ladder, on the sandbox's real stream over loopback:
the kernel decodes the stream and sends VP8 of its own, smaller and lighter, from a keyframe on,
that PyAV decodes in order to stamped pictures; back on rung 0 it is the stream's own video.

The view is scripted (no browser): it decodes every "video" message with PyAV's VP8 decoder,
strictly in order (a delta frame that does not follow the frame before it is corrupt), and acks
each as painted at once (a link far wider than the stream).
"""

from __future__ import annotations

import threading
import time

import pytest
from widget_fakes import InOrderVp8, settle

from mezon_nb.media import read_stamp
from mezon_nb.widgets.bitrate import LADDER

pytestmark = pytest.mark.media


class VideoView:
    """Decodes the widget's "video" messages in order; acks each one as painted."""

    def __init__(self, viewer) -> None:
        self.viewer = viewer
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.pictures: list[tuple[int, int]] = []    # decoded (width, height)
        self.stamps: list[int] = []
        self.decoder = InOrderVp8()
        viewer.send = self._receive

    def _receive(self, content, buffers=None) -> None:
        if content.get("type") != "video":
            return
        now = time.time() * 1000.0
        with self.lock:
            self.messages.append(content)
            for picture in self.decoder.feed(content, buffers[0]):
                self.pictures.append((picture.width, picture.height))
                stamp = read_stamp(picture.to_ndarray(format="rgb24"))
                if stamp is not None:
                    self.stamps.append(stamp.index)
        self.viewer._handle_custom_msg({"type": "acks", "view": "v1", "flushed_at": now,
                                        "painted": [[content["id"], now]]}, [])

    def show(self) -> None:
        self.viewer._handle_custom_msg({"type": "visibility", "view": "v1", "visible": True,
                                        "width": 640, "codecs": ["vp8"]}, [])

    def reencoded(self) -> list[dict]:
        with self.lock:
            return [m for m in self.messages if "display_width" in m]


def test_a_lower_rung_sends_smaller_vp8_from_a_keyframe_that_decodes(viewer_of):
    rung = 3                                              # scale 0.5, 20 % of the bitrate
    viewer = viewer_of(start_rung=rung, adapt=True)
    view = VideoView(viewer)
    view.show()
    assert settle(viewer, lambda: len(view.reencoded()) >= 30, timeout=30), viewer.get_stats()
    sent = view.reencoded()
    assert sent[0]["key"] and sent[0]["codec"] == "vp8"
    assert (sent[0]["width"], sent[0]["height"]) == (160, 120)      # 320x240 × 0.5
    assert (sent[0]["display_width"], sent[0]["display_height"]) == (320, 240)   # shown so
    with view.lock:
        assert view.decoder.corrupt == 0
        assert (160, 120) in view.pictures
        assert len(view.stamps) >= 10 and view.stamps == sorted(view.stamps)
    stats = viewer.get_stats()
    assert stats["path"].startswith("vp8 ") and stats["path"].endswith(f"×{LADDER[rung].scale:g}")
    assert stats["keyframes_made"] >= 1
    assert viewer.session.stats.frames_decoded > 0        # a lower rung decodes in the kernel


def test_a_keyframe_request_on_a_lower_rung_is_answered_by_the_kernels_encoder(viewer_of):
    viewer = viewer_of(start_rung=2, adapt=False)
    assert viewer.get_stats()["rung"] == 0                # adapt=False: no ladder at all
    viewer.close()
    viewer = viewer_of(start_rung=2)
    view = VideoView(viewer)
    view.show()
    assert settle(viewer, lambda: len(view.reencoded()) >= 5, timeout=30), viewer.get_stats()
    made = viewer.get_stats()["keyframes_made"]
    seen = len(view.reencoded())
    viewer._handle_custom_msg({"type": "keyframe", "view": "v1", "reason": "error"}, [])
    assert settle(viewer, lambda: any(m["key"] for m in view.reencoded()[seen:]), timeout=10)
    assert viewer.get_stats()["keyframes_made"] > made and view.decoder.corrupt == 0


def test_a_rung_outside_the_ladder_is_refused(real_client, sandbox):
    with pytest.raises(ValueError, match="start_rung must be a rung"):
        real_client.viewer(sandbox.stream_channel_id, start_rung=len(LADDER))
