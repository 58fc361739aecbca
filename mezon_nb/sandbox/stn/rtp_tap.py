"""Where the stream server meets aiortc's RTP sender: keyframe requests in, test loss out.

aiortc answers a viewer's RTCP PLI or FIR by calling its sender's ``_send_keyframe()``, which
only flags its own encoder; our senders relay pre-encoded packets (no encoder of theirs), so
:func:`tap_video_sender` sends that request to the shared :class:`Fanout` instead. It also
passes every outgoing RTP packet of that video sender (RTX retransmissions included) through
the server's :class:`PacketLoss`, which drops a share of them while a ``drop_packets`` control
is on (RTCP and audio are never dropped), and counts as ``resent`` the packets sent a second
time: the viewer saw the gap and asked for them (RTCP NACK). Unless told to spare
retransmissions, a dropped packet is lost for good: every resend of it is dropped too, during
the period and after it (the last few thousand drops are remembered), so the viewer has to
live with the gap (a keyframe request) rather than wait for a repair.

>>> loss = PacketLoss(seed=1)
>>> loss.start(share=0.5, seconds=2.0, now=100.0)
>>> sum(loss.drop(100.0 + i / 1000) for i in range(1000))  # about half, while it lasts
473
>>> loss.drop(102.5), loss.active(102.5)
(False, False)
>>> loss.drop(100.0, key=7), loss.drop(102.5, resent=True, key=7)   # lost for good
(True, True)
"""

from __future__ import annotations

import random
import struct
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc.rtp import is_rtcp

from mezon_nb.sandbox.stn.fanout import Fanout

MAX_DROP_SECONDS = 600.0
_REMEMBERED = 4096  # dropped packets whose resends are dropped too


class PacketLoss:
    """A share of packets to drop until a deadline, on the caller's clock; counts what it did.

    >>> loss = PacketLoss()
    >>> loss.start(share=1.5, seconds=1.0, now=0.0)
    Traceback (most recent call last):
    ...
    ValueError: share must be between 0 and 1, got 1.5
    """

    def __init__(self, seed: int | None = None) -> None:
        self.share = 0.0
        self.until = 0.0
        self.retransmissions = True
        self.dropped = 0
        self.passed = 0
        self.resent = 0
        self._random = random.Random(seed)
        self._lost: OrderedDict[Any, None] = OrderedDict()

    def start(self, share: float, seconds: float, now: float,
              retransmissions: bool = True) -> None:
        """Drop ``share`` (0..1) of the packets from ``now`` for ``seconds`` (up to 600);
        ``retransmissions=False`` spares the packets resent for a NACK (every loss is then
        repaired, the way a receiver's NACK is meant to work); otherwise what it drops is lost
        for good (see the module doc)."""
        share, seconds = float(share), float(seconds)
        if not isinstance(retransmissions, bool):
            raise TypeError("retransmissions must be true or false")
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be between 0 and 1, got {share:g}")
        if not 0.0 < seconds <= MAX_DROP_SECONDS:
            raise ValueError(f"seconds must be > 0 and <= {MAX_DROP_SECONDS:g}, got {seconds:g}")
        self.share, self.until, self.retransmissions = share, now + seconds, retransmissions

    def active(self, now: float) -> bool:
        """Whether a drop period is on at ``now``."""
        return now < self.until and self.share > 0.0

    def drop(self, now: float, resent: bool = False, key: Any = None) -> bool:
        """Drop this packet (``resent``: a retransmission; ``key``: what names the original
        packet, say its SSRC and sequence number)? A resend of a packet dropped for good is
        dropped at any time; other packets are counted while a period is on.

        >>> loss = PacketLoss(seed=1); loss.start(1.0, 1.0, now=0.0, retransmissions=False)
        >>> loss.drop(0.5, key=1), loss.drop(0.6, resent=True, key=1)     # repaired
        (True, False)
        """
        if resent and not self.retransmissions:
            return False
        if resent and key is not None and key in self._lost:
            self.dropped += 1
            return True
        if not self.active(now):
            return False
        if self._random.random() < self.share:
            self.dropped += 1
            if key is not None and not resent:
                self._lost[key] = None
                while len(self._lost) > _REMEMBERED:
                    self._lost.popitem(last=False)
            return True
        self.passed += 1
        return False

    def stats(self, now: float) -> dict[str, Any]:
        """Whether it is dropping now, the share, packets dropped and let through while it was,
        and packets resent (for a viewer's NACK) at any time.

        >>> PacketLoss().stats(now=0.0)
        {'active': False, 'share': 0.0, 'dropped': 0, 'passed': 0, 'resent': 0}
        """
        return {"active": self.active(now), "share": self.share, "dropped": self.dropped,
                "passed": self.passed, "resent": self.resent}


def _seq_ssrc(packet: bytes) -> tuple[int, int] | None:
    if len(packet) < 12:
        return None
    seq, _, ssrc = struct.unpack_from("!HII", packet, 2)
    return seq, ssrc


def _rtx_original_seq(packet: bytes) -> int | None:
    """The original sequence number an RTX packet carries first in its payload (RFC 4588 §4).

    >>> _rtx_original_seq(bytes([0x80, 97]) + bytes(10) + bytes([0x12, 0x34, 0xff]))
    4660
    """
    offset = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10 and len(packet) >= offset + 4:     # a header extension
        offset += 4 + 4 * struct.unpack_from("!H", packet, offset + 2)[0]
    if len(packet) < offset + 2:
        return None
    return struct.unpack_from("!H", packet, offset)[0]


def tap_video_sender(sender: Any, fanout: Fanout, loss: PacketLoss,
                     clock: Callable[[], float]) -> None:
    """Route ``sender``'s PLI/FIR to ``fanout`` and its RTP packets through ``loss``.

    ``sender`` is an aiortc ``RTCRtpSender`` (tested against aiortc 1.x: its RTCP handler
    calls ``_send_keyframe()``; it sends through its DTLS transport's ``_send_rtp``, shared
    with the audio sender of the same peer connection, told apart by SSRC).

    >>> callable(tap_video_sender)
    True
    """
    own = sender._send_keyframe  # still flags aiortc's encoder, for a track of raw frames

    def on_keyframe_request() -> None:
        own()
        fanout.request_keyframe("pli")

    sender._send_keyframe = on_keyframe_request
    transport = sender.transport
    ssrcs = {sender._ssrc, sender._rtx_ssrc}
    highest: dict[int, int] = {}
    send: Callable[[bytes], Awaitable[None]] = transport._send_rtp

    async def send_rtp(data: bytes) -> None:
        header = None if is_rtcp(data) else _seq_ssrc(data)
        if header is not None and header[1] in ssrcs:
            seq, ssrc = header
            last = highest.get(ssrc)
            rtx = ssrc != sender._ssrc  # on the RTX stream, if one was negotiated
            resent = rtx
            if last is None or 0 < (seq - last) & 0xFFFF < 0x8000:
                highest[ssrc] = seq
            else:  # an older number again: resent for a NACK
                resent = True
            loss.resent += resent
            original = _rtx_original_seq(data) if rtx else seq
            if loss.drop(clock(), resent, (id(sender), original)):
                return
        await send(data)

    transport._send_rtp = send_rtp


__all__ = ["MAX_DROP_SECONDS", "PacketLoss", "tap_video_sender"]
