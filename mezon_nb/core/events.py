"""The realtime events a user receives, as frozen dataclasses with the proto's field names.

Every id is an exact decimal ``str`` (Mezon ids exceed 2**53); ``received_at`` is the UTC time
the client decoded the frame. ``event_from_envelope`` maps an Envelope to one of these (the
four streaming events and :class:`ChannelMessage`, a chat message), or ``None`` for members
that are not user events.

>>> from mezon_nb.protocol import codec
>>> env = codec.decode_envelope(bytes.fromhex("aa030b08012203626f6228023803"))
>>> ev = event_from_envelope(env)
>>> (ev.event_name, ev.participant, ev.user_id, ev.streaming_channel_id)
('streaming_joined', 'bob', '2', '3')
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import ClassVar

from mezon_nb.core.models import utc_time
from mezon_nb.protocol import api_pb2, codec, realtime_pb2


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclasses.dataclass(frozen=True)
class StreamingJoined:
    """A user joined a streaming channel (Envelope member 53, ``streaming_joined_event``).

    >>> StreamingJoined(clan_id="1", clan_name="c", id="9", participant="ann", user_id="5",
    ...                 streaming_channel_label="Live", streaming_channel_id="6").event_name
    'streaming_joined'
    """

    event_name: ClassVar[str] = "streaming_joined"
    clan_id: str
    clan_name: str
    id: str
    participant: str
    user_id: str
    streaming_channel_label: str
    streaming_channel_id: str
    received_at: datetime = dataclasses.field(default_factory=_now, compare=False)


@dataclasses.dataclass(frozen=True)
class StreamingLeaved:
    """A user left a streaming channel (member 54, ``streaming_leaved_event``).

    >>> StreamingLeaved(id="9", clan_id="1", streaming_channel_id="6",
    ...                 streaming_user_id="5").streaming_user_id
    '5'
    """

    event_name: ClassVar[str] = "streaming_leaved"
    id: str
    clan_id: str
    streaming_channel_id: str
    streaming_user_id: str
    received_at: datetime = dataclasses.field(default_factory=_now, compare=False)


@dataclasses.dataclass(frozen=True)
class StreamingStarted:
    """A stream went live (member 55, ``streaming_started_event``).

    >>> StreamingStarted(clan_id="1", channel_id="6", streaming_url="",
    ...                  is_streaming=True).channel_id
    '6'
    """

    event_name: ClassVar[str] = "streaming_started"
    clan_id: str
    channel_id: str
    streaming_url: str
    is_streaming: bool
    received_at: datetime = dataclasses.field(default_factory=_now, compare=False)


@dataclasses.dataclass(frozen=True)
class StreamingEnded:
    """A stream ended (member 56, ``streaming_ended_event``).

    >>> StreamingEnded(clan_id="1", channel_id="6").event_name
    'streaming_ended'
    """

    event_name: ClassVar[str] = "streaming_ended"
    clan_id: str
    channel_id: str
    received_at: datetime = dataclasses.field(default_factory=_now, compare=False)


@dataclasses.dataclass(frozen=True)
class ChannelMessage:
    """A chat message someone sent in a channel the bot joined (member 6, ``channel_message``).

    ``text`` is read from the JSON ``content`` (its ``"t"``); it is ``""`` when the content
    has no text or is not valid JSON, and ``content`` always keeps the raw string. ``code`` 0 is
    a normal message (others mark edits, deletions, system messages). ``create_time`` is the
    server's time (``None`` if it sent none).

    >>> msg = ChannelMessage.from_proto(api_pb2.ChannelMessage(
    ...     channel_id=6, message_id=9, sender_id=5, username="alice", content="{broken"))
    >>> (msg.message_id, msg.sender_id, msg.text, msg.content)
    ('9', '5', '', '{broken')
    """

    event_name: ClassVar[str] = "channel_message"
    clan_id: str
    channel_id: str
    message_id: str
    sender_id: str
    username: str
    display_name: str
    text: str
    content: str
    code: int
    channel_label: str
    create_time: datetime | None
    received_at: datetime = dataclasses.field(default_factory=_now, compare=False)

    @property
    def sender_name(self) -> str:
        """The name to show: ``display_name``, else ``username``.

        >>> ChannelMessage.from_proto(api_pb2.ChannelMessage(username="alice")).sender_name
        'alice'
        """
        return self.display_name or self.username

    @classmethod
    def from_proto(cls, m: api_pb2.ChannelMessage,
                   received_at: datetime | None = None) -> ChannelMessage:
        """Read a ``mezon.api.ChannelMessage``.

        >>> ChannelMessage.from_proto(api_pb2.ChannelMessage(content='{"t":"hi"}')).text
        'hi'
        """
        return cls(clan_id=str(m.clan_id), channel_id=str(m.channel_id),
                   message_id=str(m.message_id), sender_id=str(m.sender_id),
                   username=m.username, display_name=m.display_name,
                   text=codec.content_text(m.content), content=m.content, code=m.code,
                   channel_label=m.channel_label, create_time=utc_time(m.create_time_seconds),
                   received_at=received_at or _now())


StreamingEvent = StreamingJoined | StreamingLeaved | StreamingStarted | StreamingEnded
#: Anything ``event_from_envelope`` returns: a streaming event or a chat message.
Event = StreamingEvent | ChannelMessage

#: The streaming event names (what ``client.events()`` yields).
STREAMING_EVENT_NAMES = ("streaming_joined", "streaming_leaved", "streaming_started",
                         "streaming_ended")
#: Event names a user can pass to ``client.on(name, fn)``.
EVENT_NAMES = (*STREAMING_EVENT_NAMES, "channel_message")


def event_from_envelope(envelope: realtime_pb2.Envelope,
                        received_at: datetime | None = None) -> Event | None:
    """The user event an Envelope carries, or ``None`` if its member is not one.

    >>> event_from_envelope(realtime_pb2.Envelope(cid=1, ping=realtime_pb2.Ping())) is None
    True
    """
    at = received_at or _now()
    # Wire ids are int64 already, so str() is exact (no codec.id_str checks on the hot path).
    member = envelope.WhichOneof("message")
    if member == "streaming_joined_event":
        m = envelope.streaming_joined_event
        return StreamingJoined(
            clan_id=str(m.clan_id), clan_name=m.clan_name, id=str(m.id),
            participant=m.participant, user_id=str(m.user_id),
            streaming_channel_label=m.streaming_channel_label,
            streaming_channel_id=str(m.streaming_channel_id), received_at=at)
    if member == "streaming_leaved_event":
        m = envelope.streaming_leaved_event
        return StreamingLeaved(
            id=str(m.id), clan_id=str(m.clan_id),
            streaming_channel_id=m.streaming_channel_id, streaming_user_id=m.streaming_user_id,
            received_at=at)
    if member == "streaming_started_event":
        m = envelope.streaming_started_event
        return StreamingStarted(
            clan_id=str(m.clan_id), channel_id=str(m.channel_id),
            streaming_url=m.streaming_url, is_streaming=m.is_streaming, received_at=at)
    if member == "streaming_ended_event":
        m = envelope.streaming_ended_event
        return StreamingEnded(clan_id=str(m.clan_id),
                              channel_id=str(m.channel_id), received_at=at)
    if member == "channel_message":
        return ChannelMessage.from_proto(envelope.channel_message, at)
    return None


__all__ = [
    "EVENT_NAMES",
    "STREAMING_EVENT_NAMES",
    "ChannelMessage",
    "Event",
    "StreamingEnded",
    "StreamingEvent",
    "StreamingJoined",
    "StreamingLeaved",
    "StreamingStarted",
    "event_from_envelope",
]
