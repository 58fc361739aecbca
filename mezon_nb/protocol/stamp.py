"""The frame stamp: a frame counter and a capture time drawn as big black/white blocks.

The sandbox's test pattern (and ``mezon_nb.media.publish``) writes a stamp into the top-left
corner of every frame; a viewer reads it back after VP8/H.264 compression to measure latency.
Pure numpy, no I/O, shared by the sandbox stream server and the viewer.

Layout: a 10 x 6 grid of square blocks, one bit each, row-major, most significant bit first:
20 bits frame counter, 32 bits capture time (milliseconds, modulo 2**32), 8 bits CRC. The block
side depends only on the frame height (``block_size``). Both rgb24 (H x W x 3) and luma (H x W)
arrays work.

>>> import numpy as np
>>> img = np.full((240, 320, 3), 90, np.uint8)
>>> write_stamp(img, 41, captured_at=1_700_000_000.25)
>>> read_stamp(img, now=1_700_000_000.5)
Stamp(index=41, captured_at=1700000000.25)
"""

from __future__ import annotations

import time
import zlib
from typing import NamedTuple

import numpy as np

COLS, ROWS = 10, 6
_INDEX_BITS, _TIME_BITS, _CRC_BITS = 20, 32, 8
_PAYLOAD_BITS = _INDEX_BITS + _TIME_BITS


class Stamp(NamedTuple):
    """A decoded stamp: the publisher's frame counter and capture time (``time.time()`` s).

    >>> Stamp(3, 10.0).index
    3
    """

    index: int  # type: ignore[assignment]  # a field named like tuple.index
    captured_at: float


def block_size(height: int) -> int:
    """Side of one stamp block in pixels for a frame ``height`` pixels tall.

    >>> block_size(240), block_size(720), block_size(1080)
    (8, 16, 24)
    """
    return max(8, height // 45)


def _crc(payload: int) -> int:
    return zlib.crc32(payload.to_bytes(7, "big")) & 0xFF


def _bits(index: int, millis: int) -> np.ndarray:
    payload = ((index % (1 << _INDEX_BITS)) << _TIME_BITS) | (millis % (1 << _TIME_BITS))
    word = (payload << _CRC_BITS) | _crc(payload)
    shifts = np.arange(COLS * ROWS - 1, -1, -1, dtype=np.uint64)
    return ((np.uint64(word) >> shifts) & np.uint64(1)).astype(bool).reshape(ROWS, COLS)


def write_stamp(image: np.ndarray, index: int, captured_at: float | None = None) -> None:
    """Draw the stamp for frame ``index`` (captured at ``captured_at``, default now) in place.

    >>> img = np.zeros((240, 320), np.uint8)
    >>> write_stamp(img, 7, captured_at=5.0)
    >>> int(img[:48, :80].max())
    255
    """
    when = time.time() if captured_at is None else captured_at
    bits = _bits(index, round(when * 1000))
    side = block_size(image.shape[0])
    cells = np.where(bits, 255, 0).astype(np.uint8)
    grid = np.repeat(np.repeat(cells, side, axis=0), side, axis=1)
    if image.ndim == 3:
        grid = grid[:, :, None]
    image[: ROWS * side, : COLS * side] = grid


def read_stamp(image: np.ndarray, now: float | None = None) -> Stamp | None:
    """Decode the stamp of a frame (rgb24 or luma); ``None`` when there is none or it is damaged.

    The 32-bit millisecond clock wraps every 49 days; ``now`` (default ``time.time()``) picks
    the most recent capture time consistent with it.

    >>> read_stamp(np.zeros((240, 320, 3), np.uint8)) is None
    True
    """
    side = block_size(image.shape[0])
    if image.shape[0] < ROWS * side or image.shape[1] < COLS * side:
        return None
    area = image[: ROWS * side, : COLS * side]
    if area.ndim == 3:
        area = area[:, :, 1]
    lo, hi = side // 4, side - side // 4
    centres = area.reshape(ROWS, side, COLS, side)[:, lo:hi, :, lo:hi]
    bits = centres.mean(axis=(1, 3)) > 128
    word = 0
    for bit in bits.ravel():
        word = (word << 1) | int(bit)
    payload, crc = word >> _CRC_BITS, word & 0xFF
    if _crc(payload) != crc:
        return None
    index, millis = payload >> _TIME_BITS, payload & ((1 << _TIME_BITS) - 1)
    now_ms = round((time.time() if now is None else now) * 1000)
    age = (now_ms - millis) % (1 << _TIME_BITS)
    if age >= 1 << (_TIME_BITS - 1):  # a little in the future: clocks a few ms apart
        age -= 1 << _TIME_BITS
    captured_ms = now_ms - age
    return Stamp(index, captured_ms / 1000)


__all__ = ["Stamp", "block_size", "read_stamp", "write_stamp"]
