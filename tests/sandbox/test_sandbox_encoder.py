"""The sandbox's shared video encoder spends the bitrate it is given, in both codecs.

Counted in bytes of encoded frames, not in time: N frames of the test pattern at F fps are
N / F seconds of stream, however long the machine took to encode them. The band is loose
(libvpx undershoots on this simple picture; x264 in CBR tops frames up with filler data), but
it fails for the H.264 stream before CBR (0.14 Mbit/s against a 2.2 Mbit/s target at 720p30).
And the stream still decodes, stamps readable, filler and all.
"""

from __future__ import annotations

import av
import pytest

from mezon_nb.core.pattern import TestPattern
from mezon_nb.media.stream_session import stamp_of
from mezon_nb.sandbox.stn.fanout import VideoEncoder

FPS = 30
FRAMES = 120     # 4 s of stream


@pytest.mark.parametrize("size", [(1280, 720), (640, 360)])
@pytest.mark.parametrize("codec", ["vp8", "h264"])
def test_the_encoded_stream_is_near_its_target_bitrate(codec, size):
    encoder = VideoEncoder(*size, fps=FPS, codec=codec)
    pattern = TestPattern(*size, fps=FPS)
    decoder = av.CodecContext.create("vp8" if codec == "vp8" else "h264", "r")
    sizes, stamps = [], []
    for i in range(FRAMES):
        frame_bytes = 0
        for packet in encoder.encode(pattern.video_frame(i, 1000.0 + i / FPS), keyframe=i == 0):
            frame_bytes += packet.size
            stamps += [stamp_of(picture) for picture in decoder.decode(packet)]
        sizes.append(frame_bytes)
    target = encoder.codec.bit_rate
    assert target == pytest.approx(size[0] * size[1] * FPS * 0.08, rel=0.01)   # x264: kbit/s
    steady = sizes[FPS:]                             # after the first second (buffer fill)
    rate = sum(steady) * 8 * FPS / len(steady)
    assert 0.4 * target <= rate <= 1.25 * target, f"{rate / 1e6:.2f} Mbit/s for {target / 1e6}"
    if codec == "h264":                              # CBR: every second near the target
        for start in range(FPS, FRAMES - FPS + 1, FPS):
            second = sum(sizes[start:start + FPS]) * 8
            assert 0.8 * target <= second <= 1.2 * target, (start, second)
    assert len(stamps) >= FRAMES - 2 and None not in stamps
