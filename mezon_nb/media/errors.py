"""The one boundary where aiortc and PyAV exceptions become :class:`~mezon_nb.errors.MediaError`.

>>> with map_media_errors("applying the answer"):
...     raise ValueError("bad SDP")
Traceback (most recent call last):
...
mezon_nb.errors.MediaError: applying the answer failed: ValueError: bad SDP
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import av
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError

from mezon_nb.errors import MediaError

MEDIA_EXCEPTIONS = (ValueError, InternalError, InvalidAccessError, InvalidStateError,
                    OperationError, av.FFmpegError)


@contextlib.contextmanager
def map_media_errors(doing: str) -> Iterator[None]:
    """Re-raise aiortc/PyAV failures inside the block as ``MediaError`` (chained)."""
    try:
        yield
    except MEDIA_EXCEPTIONS as exc:
        raise MediaError(f"{doing} failed: {type(exc).__name__}: {exc}") from exc


__all__ = ["MEDIA_EXCEPTIONS", "map_media_errors"]
