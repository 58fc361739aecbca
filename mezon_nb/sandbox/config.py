"""The sandbox's settings, in one JSON-friendly dataclass passed from parent to child process.

>>> config = SandboxConfig(seed=7, crowd_rate=60.0)
>>> SandboxConfig.from_dict(config.to_dict()) == config
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

#: ``stream_codec`` option -> RTP codec name (the SDP's ``video/<name>``).
STREAM_CODECS = {"vp8": "VP8", "h264": "H264"}


def video_codec_name(option: str) -> str:
    """The RTP name of a ``stream_codec`` option.

    >>> video_codec_name("h264")
    'H264'
    >>> video_codec_name("av1")
    Traceback (most recent call last):
    ...
    ValueError: stream_codec must be 'vp8' or 'h264', got 'av1'
    """
    name = STREAM_CODECS.get(str(option).lower())
    if name is None:
        raise ValueError(f"stream_codec must be 'vp8' or 'h264', got {option!r}")
    return name


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes one sandbox run; the defaults suit a live demo.

    ``port`` 0 picks a free port. ``seed`` fixes the world (ids, names, the bot token) and the
    crowd's sequence of joins and leaves. ``crowd_rate`` is viewer joins per minute per streaming
    channel; ``time_scale`` runs the crowd's clock faster (10 = ten times faster).
    ``session_ttl`` is the lifetime of a login in seconds. ``stream*`` are read by the stream
    server (``world.config["stream_size"]``, …); ``stream_codec`` is the video codec every
    viewer gets, ``"vp8"`` or ``"h264"`` (anything else raises ``ValueError``).
    ``crowd_chat`` lets crowd viewers say something in chat now and then. Options named ``stn_*`` are kept in ``stn`` and passed through,
    flattened, to ``World.config`` for the stream server.

    >>> SandboxConfig().port, SandboxConfig().session_ttl
    (0, 3600.0)
    """

    port: int = 0
    seed: int = 0
    crowd: bool = True
    crowd_rate: float = 40.0
    time_scale: float = 1.0
    session_ttl: float = 3600.0
    crowd_chat: bool = True
    stream: bool = True
    stream_size: tuple[int, int] = (1280, 720)
    stream_fps: int = 30
    stream_codec: str = "vp8"
    stn: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        video_codec_name(self.stream_codec)  # ValueError unless vp8 or h264

    def to_dict(self) -> dict[str, Any]:
        """A flat plain dict (JSON-serialisable), also what ``World.config`` holds.

        >>> SandboxConfig().to_dict()["stream_size"]
        (1280, 720)
        >>> SandboxConfig.from_dict({"stn_reject_status": 403}).to_dict()["stn_reject_status"]
        403
        """
        values = dataclasses.asdict(self)
        values.update(values.pop("stn"))
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SandboxConfig:
        """Rebuild from :meth:`to_dict` output or JSON; unknown keys raise ``TypeError``.

        >>> SandboxConfig.from_dict({"seed": 3, "stream_size": [640, 360]}).stream_size
        (640, 360)
        >>> SandboxConfig.from_dict({"colour": "red"})
        Traceback (most recent call last):
        ...
        TypeError: unknown sandbox option(s): colour
        """
        names = {field.name for field in dataclasses.fields(cls)} - {"stn"}
        stn = {key: value for key, value in values.items() if key.startswith("stn_")}
        unknown = sorted(set(values) - names - set(stn))
        if unknown:
            raise TypeError(f"unknown sandbox option(s): {', '.join(unknown)}")
        values = {key: value for key, value in values.items() if key not in stn}
        values["stn"] = stn
        if "stream_size" in values:
            width, height = values["stream_size"]
            values["stream_size"] = (int(width), int(height))
        return cls(**values)
