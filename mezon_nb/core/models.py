"""What the Mezon API answers, as plain frozen dataclasses. Every id is an exact decimal ``str``.

Each class has a ``from_proto`` that reads the generated message, so nothing above this module
touches protobuf objects.

>>> from mezon_nb.protocol import api_pb2
>>> Clan.from_proto(api_pb2.ClanDesc(clan_id=1840666462012837888, clan_name="Lab"))
Clan(clan_id='1840666462012837888', clan_name='Lab', creator_id='0', status=0)
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from mezon_nb.protocol import api_pb2, codec, realtime_pb2
from mezon_nb.protocol.enums import ChannelType


@dataclasses.dataclass(frozen=True)
class Session:
    """A logged-in bot session. ``token`` is the JWT the socket and stream server take.

    The token never shows in the repr.

    >>> s = Session(token="a.b.c", user_id="7", api_url="http://127.0.0.1:1", ws_url="127.0.0.1:1",
    ...             expires_at=None)
    >>> "a.b.c" in repr(s), s.user_id
    (False, '7')
    """

    token: str = dataclasses.field(repr=False)
    user_id: str
    api_url: str
    ws_url: str
    expires_at: datetime | None

    @classmethod
    def from_proto(cls, msg: api_pb2.Session, *, base_url: str) -> Session:
        """Read a ``mezon.api.Session``; ``base_url`` stands in for an empty ``api_url``.

        >>> Session.from_proto(api_pb2.Session(token="x.eyJleHAiOjB9.y", user_id=5),
        ...                    base_url="http://h:1").expires_at.year
        1970
        """
        api_url = (msg.api_url or base_url).rstrip("/")
        return cls(token=msg.token, user_id=codec.id_str(msg.user_id), api_url=api_url,
                   ws_url=msg.ws_url, expires_at=_expiry(msg.token))


def _expiry(token: str) -> datetime | None:
    """The JWT's ``exp`` as an aware UTC datetime, or ``None`` if it has none."""
    try:
        exp = codec.jwt_claims(token).get("exp")
    except ValueError:
        return None
    if not isinstance(exp, (int, float)):
        return None
    return datetime.fromtimestamp(exp, timezone.utc)


def utc_time(seconds: int) -> datetime | None:
    """A wire ``*_time_seconds`` as an aware UTC datetime; 0 (not sent) is ``None``.

    >>> utc_time(1763900000).isoformat(), utc_time(0)
    ('2025-11-23T12:13:20+00:00', None)
    """
    return datetime.fromtimestamp(seconds, timezone.utc) if seconds else None


@dataclasses.dataclass(frozen=True)
class Clan:
    """A clan (server) the bot belongs to.

    >>> Clan(clan_id="1", clan_name="Lab", creator_id="2", status=0).clan_name
    'Lab'
    """

    clan_id: str
    clan_name: str
    creator_id: str
    status: int

    @classmethod
    def from_proto(cls, msg: api_pb2.ClanDesc) -> Clan:
        """Read a ``mezon.api.ClanDesc``.

        >>> Clan.from_proto(api_pb2.ClanDesc(clan_id=5, clan_name="Lab")).clan_id
        '5'
        """
        return cls(clan_id=codec.id_str(msg.clan_id), clan_name=msg.clan_name,
                   creator_id=codec.id_str(msg.creator_id), status=msg.status)


@dataclasses.dataclass(frozen=True)
class ChannelInfo:
    """One channel of a clan; ``type`` is a :class:`~mezon_nb.protocol.enums.ChannelType`.

    >>> ch = ChannelInfo(clan_id="1", channel_id="6", label="Live", type=ChannelType.STREAMING,
    ...                  clan_name="Lab")
    >>> ch.is_streaming, ch.type.name
    (True, 'STREAMING')
    """

    clan_id: str
    channel_id: str
    label: str
    type: ChannelType | int
    clan_name: str = ""
    parent_id: str = "0"
    category_name: str = ""
    private: bool = False
    member_count: int = 0

    @property
    def is_streaming(self) -> bool:
        """Whether this is a streaming channel (type 6).

        >>> ChannelInfo(clan_id="1", channel_id="2", label="t", type=1).is_streaming
        False
        """
        return self.type == ChannelType.STREAMING

    @classmethod
    def from_proto(cls, msg: api_pb2.ChannelDescription) -> ChannelInfo:
        """Read a ``mezon.api.ChannelDescription``; an unknown type number stays a plain int.

        >>> ChannelInfo.from_proto(api_pb2.ChannelDescription(channel_id=3, type=42)).type
        42
        """
        try:
            kind: ChannelType | int = ChannelType(msg.type)
        except ValueError:
            kind = msg.type
        return cls(clan_id=codec.id_str(msg.clan_id), channel_id=codec.id_str(msg.channel_id),
                   label=msg.channel_label, type=kind, clan_name=msg.clan_name,
                   parent_id=codec.id_str(msg.parent_id), category_name=msg.category_name,
                   private=bool(msg.channel_private), member_count=msg.member_count)


@dataclasses.dataclass(frozen=True)
class StreamingUser:
    """Someone in a streaming channel right now (a ``ListStreamingChannelUsers`` row).

    >>> StreamingUser(id="1", user_id="5", channel_id="6", participant="ann").participant
    'ann'
    """

    id: str
    user_id: str
    channel_id: str
    participant: str

    @classmethod
    def from_proto(cls, msg: api_pb2.StreamingChannelUser) -> StreamingUser:
        """Read a ``mezon.api.StreamingChannelUser``.

        >>> StreamingUser.from_proto(api_pb2.StreamingChannelUser(user_id=5, channel_id=6)).user_id
        '5'
        """
        return cls(id=codec.id_str(msg.id), user_id=codec.id_str(msg.user_id),
                   channel_id=codec.id_str(msg.channel_id), participant=msg.participant)


@dataclasses.dataclass(frozen=True)
class MessageAck:
    """The server's receipt for a chat message the bot sent (``channel_message_ack``).

    >>> ack = MessageAck.from_proto(realtime_pb2.ChannelMessageAck(
    ...     channel_id=6, message_id=1840666462012837987, username="streambot",
    ...     create_time_seconds=1763900000))
    >>> ack.message_id, ack.create_time.year
    ('1840666462012837987', 2025)
    """

    channel_id: str
    message_id: str
    username: str
    create_time: datetime | None
    code: int = 0

    @classmethod
    def from_proto(cls, msg: realtime_pb2.ChannelMessageAck) -> MessageAck:
        """Read a ``mezon.realtime.ChannelMessageAck``.

        >>> MessageAck.from_proto(realtime_pb2.ChannelMessageAck(channel_id=6)).channel_id
        '6'
        """
        return cls(channel_id=codec.id_str(msg.channel_id),
                   message_id=codec.id_str(msg.message_id), username=msg.username,
                   create_time=utc_time(msg.create_time_seconds), code=msg.code)


__all__ = ["ChannelInfo", "Clan", "MessageAck", "Session", "StreamingUser", "utc_time"]
