"""Encode once, send to many: pre-encoded packets relayed to every viewer's RTP sender.

aiortc's ``RTCRtpSender`` encodes whatever its track returns, unless the track returns an
``av.Packet``: then it only packetizes it (``Encoder.pack``). So each viewer gets a
:class:`PacketTrack`, and a :class:`Fanout` hands the same encoded packets to all of them. A
publisher encodes each frame once (:class:`VideoEncoder`, :class:`OpusEncoder`) or, for files,
not at all. A viewer that joins (or falls behind) waits for the next keyframe, and asks for one;
so does a viewer's RTCP PLI/FIR. The shared encoder makes at most one forced keyframe per
:data:`KEYFRAME_INTERVAL`, whoever asked and however often (a request that comes sooner is
served when the interval is over).

>>> fanout = Fanout("audio")
>>> track = fanout.subscribe()
>>> fanout.push(av.Packet(b"x"))
>>> track.pending
1
>>> fanout.close()
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from fractions import Fraction

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from mezon_nb.core.pattern import SAMPLE_RATE
from mezon_nb.sandbox.config import video_codec_name

_QUEUE = 30  # packets a viewer may lag behind before it is resynchronised on a keyframe
KEYFRAME_INTERVAL = 0.5  # s between two forced keyframes, for all viewers together


class PacketTrack(MediaStreamTrack):
    """One viewer's track: ``recv()`` returns encoded ``av.Packet`` objects from a fanout.

    >>> track = PacketTrack("video", on_keyframe_needed=lambda: None)
    >>> track.offer(av.Packet(b"delta"))  # not a keyframe: skipped until one comes
    >>> track.pending
    0
    """

    def __init__(self, kind: str, on_keyframe_needed: Callable[[], None]):
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[av.Packet | None] = asyncio.Queue()
        self._needs_key = kind == "video"
        self._keyframe_needed = on_keyframe_needed

    @property
    def pending(self) -> int:
        """Packets queued and not yet sent."""
        return self._queue.qsize()

    def offer(self, packet: av.Packet | None) -> None:
        """Queue ``packet`` (``None`` ends the track); resync on a keyframe when too far behind."""
        if packet is None:
            self._queue.put_nowait(None)
            return
        if self._queue.qsize() >= _QUEUE:
            while not self._queue.empty():
                self._queue.get_nowait()
            self._needs_key = self.kind == "video"
            self._keyframe_needed()
        if self._needs_key:
            if not packet.is_keyframe:
                return
            self._needs_key = False
        self._queue.put_nowait(packet)

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            self.stop()
            raise MediaStreamError
        return packet


class Fanout:
    """Distributes one stream of encoded packets of ``kind`` to every subscribed track, and
    gates the keyframe requests of all of them (see :meth:`take_keyframe`).

    >>> fanout = Fanout("video")
    >>> _ = fanout.subscribe(), fanout.subscribe()
    >>> len(fanout), fanout.keyframe_requested, fanout.requests["join"]
    (2, True, 2)
    """

    def __init__(self, kind: str):
        self.kind = kind
        self.keyframe_requested = True
        self.requests = {"join": 0, "resync": 0, "pli": 0}  # keyframe requests, by cause
        self.keyframes_forced = 0  # keyframes made because someone asked
        self.keyframes_sent = 0  # every keyframe pushed (the encoder's own ones too)
        self.packets_sent = 0
        self._last_forced = -math.inf
        self._tracks: set[PacketTrack] = set()

    def __len__(self) -> int:
        return len(self._tracks)

    def subscribe(self) -> PacketTrack:
        """A new track for one viewer; it starts at the next keyframe (requested now)."""
        track = PacketTrack(self.kind, lambda: self.request_keyframe("resync"))
        track.on("ended", lambda: self._tracks.discard(track))
        self._tracks.add(track)
        self.request_keyframe("join")
        return track

    def request_keyframe(self, reason: str = "join") -> None:
        """Ask the encoder (if any) to make a coming frame a keyframe; ``reason`` is counted
        (``join``, ``resync``: a viewer fell behind, ``pli``: a viewer's RTCP PLI/FIR)."""
        self.requests[reason] = self.requests.get(reason, 0) + 1
        self.keyframe_requested = True

    def take_keyframe(self, now: float) -> bool:
        """For the encoder, once per frame at time ``now`` (s): make this one a keyframe?

        True when one was requested and the last forced keyframe is at least
        :data:`KEYFRAME_INTERVAL` old; a request that comes sooner stays pending.

        >>> fanout = Fanout("video")
        >>> for _ in range(5):  # a burst of requests: one keyframe
        ...     fanout.request_keyframe("pli")
        >>> [fanout.take_keyframe(t) for t in (10.0, 10.1)]
        [True, False]
        >>> fanout.request_keyframe("pli")  # too soon: served once 0.5 s have passed
        >>> [fanout.take_keyframe(t) for t in (10.2, 10.4, 10.5, 10.6)]
        [False, False, True, False]
        """
        if not self.keyframe_requested or now - self._last_forced < KEYFRAME_INTERVAL:
            return False
        self.keyframe_requested = False
        self._last_forced = now
        self.keyframes_forced += 1
        return True

    def stats(self) -> dict[str, object]:
        """Viewers, packets and keyframes sent, keyframes forced, requests by cause.

        >>> Fanout("video").stats()["keyframe_requests"]
        {'join': 0, 'resync': 0, 'pli': 0}
        """
        return {"viewers": len(self), "packets": self.packets_sent,
                "keyframes": self.keyframes_sent, "keyframes_forced": self.keyframes_forced,
                "keyframe_requests": dict(self.requests)}

    def push(self, packet: av.Packet) -> None:
        """Hand ``packet`` to every track."""
        self.packets_sent += 1
        self.keyframes_sent += bool(packet.is_keyframe)
        for track in list(self._tracks):
            track.offer(packet)

    def close(self) -> None:
        """End every track (their senders stop)."""
        for track in list(self._tracks):
            track.offer(None)
        self._tracks.clear()


def _bitrate(width: int, height: int, fps: float) -> int:
    return int(min(8_000_000, max(300_000, width * height * fps * 0.08)))


class VideoEncoder:
    """One shared video encoder: ``codec`` ``"vp8"`` (libvpx, realtime, speed -8, CBR) or
    ``"h264"`` (libx264, constrained baseline, zero latency, CBR with filler data, Annex B with
    SPS/PPS before every IDR: RTP packetization mode 1); a keyframe every 2 s or on demand.
    ``bitrate`` (bit/s) defaults to 0.08 bit per pixel per frame, 0.3 to 8 Mbit/s (720p30:
    2.2 Mbit/s, 640x360 at 30: 0.55).

    >>> from mezon_nb.core.pattern import TestPattern
    >>> for codec in ("vp8", "h264"):
    ...     enc = VideoEncoder(320, 240, fps=15, codec=codec)
    ...     packets = enc.encode(TestPattern(320, 240, 15).video_frame(0), keyframe=True)
    ...     print(enc.name, packets[0].is_keyframe)
    VP8 True
    H264 True
    """

    def __init__(self, width: int, height: int, fps: float = 30, bitrate: int | None = None,
                 codec: str = "vp8"):
        rate = bitrate or _bitrate(width, height, fps)
        self.name = video_codec_name(codec)
        if self.name == "VP8":
            self.codec = av.CodecContext.create("libvpx", "w")
            self.codec.qmin, self.codec.qmax = 2, 56
            self.codec.options = {
                "bufsize": str(rate), "cpu-used": "-8", "deadline": "realtime",
                "lag-in-frames": "0", "minrate": str(rate), "maxrate": str(rate),
                "overshoot-pct": "15", "undershoot-pct": "100", "static-thresh": "1",
            }
        else:
            self.codec = av.CodecContext.create("libx264", "w")
            self.codec.profile = "Constrained Baseline"
            # x264's rate control budgets bits per frame from the frame rate (without it,
            # from the 1/90000 time base: every frame got almost nothing, a grey picture)
            self.codec.framerate = Fraction(fps).limit_denominator(1001)
            # CBR (nal-hrd=cbr: filler data, NAL type 12, which decoders skip, tops each frame
            # up to the rate): x264 codes the test pattern (bars moving by whole pixels) in
            # ~140 kbit/s at 720p30 whatever the target, ~350 even lossless, so without filler
            # the H.264 stream weighed a fifteenth of the VP8 one on the same link
            kbps = rate // 1000
            self.codec.options = {
                "preset": "ultrafast", "tune": "zerolatency", "forced-idr": "1",
                "level": "31" if width * height <= 1280 * 720 else "40",
                "x264-params": f"vbv-maxrate={kbps}:vbv-bufsize={kbps}:nal-hrd=cbr"
                               ":repeat-headers=1",
            }
        self.codec.width, self.codec.height = width, height
        self.codec.pix_fmt = "yuv420p"
        self.codec.bit_rate = rate
        self.codec.time_base = Fraction(1, 90_000)
        self.codec.gop_size = max(1, int(2 * fps))
        # One thread: on a busy 2-core machine libvpx's worker threads cost 5-20x more CPU
        # than they save (measured: 720p 4.7 ms/frame with 1 thread, 25-80 ms with 2).
        self.codec.thread_count = 1

    def encode(self, frame: av.VideoFrame, keyframe: bool = False) -> list[av.Packet]:
        """Encode one yuv420p frame; packets keep the frame's pts and time base."""
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        frame.pict_type = av.video.frame.PictureType.I if keyframe else \
            av.video.frame.PictureType.NONE
        packets = self.codec.encode(frame)
        for packet in packets:
            packet.pts, packet.time_base = frame.pts, frame.time_base  # type: ignore[assignment]
        return packets


class OpusEncoder:
    """libopus, 48 kHz stereo, 20 ms packets (pts in 1/48000).

    >>> from mezon_nb.core.pattern import TestPattern
    >>> enc = OpusEncoder()
    >>> sum(len(enc.encode(TestPattern(320, 240).audio_frame(i))) for i in range(3)) >= 1
    True
    """

    def __init__(self) -> None:
        self.codec = av.CodecContext.create("libopus", "w")
        self.codec.sample_rate = SAMPLE_RATE
        self.codec.layout = "stereo"
        self.codec.format = "s16"
        self.codec.bit_rate = 64_000
        self.codec.time_base = Fraction(1, SAMPLE_RATE)
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=SAMPLE_RATE,
                                            frame_size=960)
        self._next_pts = 0

    def encode(self, frame: av.AudioFrame) -> list[av.Packet]:
        """Encode any audio frame (resampled to 48 kHz stereo s16)."""
        packets = []
        for chunk in self._resampler.resample(frame):
            chunk.pts, chunk.time_base = self._next_pts, Fraction(1, SAMPLE_RATE)
            self._next_pts += chunk.samples
            packets += self.codec.encode(chunk)
        for packet in packets:
            packet.time_base = Fraction(1, SAMPLE_RATE)
        return packets


__all__ = ["KEYFRAME_INTERVAL", "Fanout", "OpusEncoder", "PacketTrack", "VideoEncoder"]
