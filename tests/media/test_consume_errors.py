"""A frame the session cannot take ends the stream with an error state, not silence.

The viewer's receive task hands every frame of a real aiortc track (the library's own
``PacedVideoTrack``) to the session. Before the fix an exception there ended the task quietly:
video stopped while ``state`` still said ``live``.

Not covered: the WebRTC path itself (test_media_viewer.py).
"""

from __future__ import annotations

import asyncio

import av

from mezon_nb.errors import MediaError
from mezon_nb.media import StreamSession
from mezon_nb.media.signaling import StnSignaling
from mezon_nb.media.subscriber import StnViewer
from mezon_nb.media.tracks import PacedVideoTrack


class _ChokesOnSecondFrame(StreamSession):
    """A real session whose frame handling fails on the second frame (a decoder surprise)."""

    def _on_video(self, frame: av.VideoFrame) -> None:
        if self._video.count == 1:
            raise ValueError("cannot read this frame")
        super()._on_video(frame)


def test_a_failing_frame_handler_puts_the_session_in_error():
    async def scenario() -> StreamSession:
        session = _ChokesOnSecondFrame("6")
        viewer = StnViewer(session, StnSignaling("ws://127.0.0.1:9", "t"), wait_live=True)
        track = PacedVideoTrack(lambda i: av.VideoFrame(64, 48, "yuv420p") if i < 50 else None,
                                fps=100)
        await asyncio.wait_for(viewer._consume(track), timeout=30)  # returns, never raises
        return session

    session = asyncio.run(scenario())
    assert session.state == "error"
    assert isinstance(session.error, MediaError)
    assert "cannot read this frame" in str(session.error)
    assert session.stats.frames_received == 1
