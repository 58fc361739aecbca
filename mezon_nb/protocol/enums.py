"""Mezon's integer enums. Upstream sends them as plain ``int32`` fields, not proto enums.

>>> from mezon_nb.protocol.enums import ChannelType
>>> ChannelType(6).name
'STREAMING'
"""

from __future__ import annotations

import enum


class ChannelType(enum.IntEnum):
    """``ChannelDescription.type`` and the ``channel_type`` request fields."""

    CHANNEL = 1
    GROUP = 2
    DM = 3
    GMEET_VOICE = 4
    FORUM = 5
    STREAMING = 6
    THREAD = 7
    APP = 8
    ANNOUNCEMENT = 9
    MEZON_VOICE = 10


def channel_kind(channel_type: int) -> str:
    """A channel type in words, for messages: ``text``, ``voice``, ``streaming``, ``forum``...

    >>> channel_kind(1), channel_kind(10), channel_kind(6), channel_kind(99)
    ('text', 'voice', 'streaming', 'type 99')
    """
    words = {ChannelType.CHANNEL: "text", ChannelType.GMEET_VOICE: "voice",
             ChannelType.MEZON_VOICE: "voice"}
    try:
        kind = ChannelType(channel_type)
    except ValueError:
        return f"type {channel_type}"
    return words.get(kind, kind.name.lower())


class ChannelStreamMode(enum.IntEnum):
    """The ``mode`` of a chat message: 2 for any clan channel, streaming channels included."""

    CHANNEL = 2
    GROUP = 3
    DM = 4
    CLAN = 5
    THREAD = 6


class ErrorCode(enum.IntEnum):
    """``realtime.Error.code`` values sent on the realtime socket."""

    RUNTIME_EXCEPTION = 0
    UNRECOGNIZED_PAYLOAD = 1
    MISSING_PAYLOAD = 2
    BAD_INPUT = 3
    MATCH_NOT_FOUND = 4
    MATCH_JOIN_REJECTED = 5
    RUNTIME_FUNCTION_NOT_FOUND = 6
    RUNTIME_FUNCTION_EXCEPTION = 7
