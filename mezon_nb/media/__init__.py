"""Live streams: watch a Mezon streaming channel from Python, or publish into one.

``join_stream`` returns a :class:`StreamSession` (numpy frames, audio, stats, recording);
``publish_file`` and ``publish`` return a :class:`Publisher`. All of them are normally reached
through the client (``client.join_stream(channel_id)``). Modules, one concern each:

- :mod:`.signaling`: the STN socket (envelopes, ping, handshake errors);
- :mod:`.subscriber`: the viewer exchange on an aiortc peer connection, ``join_stream``;
- :mod:`.stream_session`: ``StreamSession`` (state, consumers, stats, recording switch);
- :mod:`.frames`: ``Frame``/``AudioChunk`` and the drop-oldest buffers;
- :mod:`.recording`: writing mp4/webm on a worker thread;
- :mod:`.publisher`, :mod:`.tracks`: publishing files, numpy frames, the test pattern;
- :mod:`.errors`: aiortc/PyAV error mapping (the loop thread hand-over is
  :mod:`mezon_nb.core.loop`).

``read_stamp`` decodes the frame counter and capture time the sandbox's test pattern (and
``publish``) draws in every frame:

>>> import numpy as np
>>> from mezon_nb.media import read_stamp, write_stamp
>>> img = np.zeros((240, 320, 3), np.uint8)
>>> write_stamp(img, 12, captured_at=1000.0)
>>> read_stamp(img, now=1000.1).index
12
"""

from __future__ import annotations

from mezon_nb.media.frames import AudioChunk, Frame, FrameStream
from mezon_nb.media.publisher import Publisher, PublisherStats, publish, publish_file
from mezon_nb.media.stream_session import StreamSession, StreamStats
from mezon_nb.media.subscriber import join_stream
from mezon_nb.protocol.stamp import Stamp, read_stamp, write_stamp

__all__ = ["AudioChunk", "Frame", "FrameStream", "Publisher", "PublisherStats", "Stamp",
           "StreamSession", "StreamStats", "join_stream", "publish", "publish_file", "read_stamp",
           "write_stamp"]
