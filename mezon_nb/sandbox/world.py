"""The sandbox's live state: logins, stream presence, live channels, and the events they push.

Every method runs on the server's event loop and never blocks: pushes go to socket outboxes
(:mod:`.hub`). The stream server (:mod:`.stn`) calls the presence methods; the crowd and the
control endpoints call them too. Each pushed streaming event gets a fresh snowflake ``id`` and
is recorded with its emit time in :attr:`World.emits`.

>>> world = World(SandboxConfig(seed=0))
>>> channel_id = world.directory.stream_channel_id
>>> viewer = world.directory.viewers[0].user_id
>>> event_id = world.stream_join(channel_id, viewer, "Lan")
>>> [p.user_id for p in world.presence(channel_id=channel_id)] == [viewer]
True
>>> world.emits[-1].kind
'joined'
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import hmac
import random
import time
from typing import Any

from mezon_nb.protocol import api_pb2, realtime_pb2
from mezon_nb.protocol.enums import ChannelStreamMode, ChannelType
from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.directory import (
    ChannelInfo,
    SnowflakeMint,
    UserInfo,
    seed_directory,
)
from mezon_nb.sandbox.hub import Connection, Hub
from mezon_nb.sandbox.sessions import SessionGrant, SessionStore

#: How many emitted events :attr:`World.emits` remembers.
EMIT_LOG_SIZE = 100_000


@dataclasses.dataclass(frozen=True)
class Presence:
    """One user watching one stream, a row of ``ListStreamingChannelUsers``.

    >>> Presence(row_id=1, user_id=2, channel_id=3, clan_id=4, participant="Lan", since=0.0).row_id
    1
    """

    row_id: int
    user_id: int
    channel_id: int
    clan_id: int
    participant: str
    since: float


@dataclasses.dataclass(frozen=True)
class EmitRecord:
    """One pushed streaming event and when (``time.time()``) it was handed to the sockets.

    ``kind`` is ``joined``, ``left``, ``started`` or ``ended``; ``user_id`` is 0 for the last two.

    >>> EmitRecord(event_id=1, kind="joined", user_id=2, channel_id=3, time=0.0).as_json()["id"]
    '1'
    """

    event_id: int
    kind: str
    user_id: int
    channel_id: int
    time: float

    def as_json(self) -> dict[str, Any]:
        """JSON form with ids as exact decimal strings.

        >>> EmitRecord(5, "ended", 0, 6, 1.5).as_json()["channel_id"]
        '6'
        """
        return {
            "id": str(self.event_id),
            "kind": self.kind,
            "user_id": str(self.user_id),
            "channel_id": str(self.channel_id),
            "time": self.time,
        }


class World:
    """Clans, channels, users, sessions, presence and live channels of one sandbox run.

    ``config`` is a plain dict (:meth:`SandboxConfig.to_dict`), read by the stream server.

    >>> world = World(SandboxConfig(seed=0))
    >>> world.bot_user_id == world.directory.bot.user_id
    True
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config: dict[str, Any] = config.to_dict()
        self.directory = seed_directory(config.seed)
        self.bot_user_id = self.directory.bot.user_id
        self.sessions = SessionStore(ttl=config.session_ttl)
        self.hub = Hub()
        self.mint = SnowflakeMint(random.Random(f"mezon_nb-sandbox-runtime-{config.seed}"))
        self.emits: collections.deque[EmitRecord] = collections.deque(maxlen=EMIT_LOG_SIZE)
        self._users = {user.user_id: user for user in (self.directory.bot, *self.directory.viewers)}
        self._presence: dict[int, Presence] = {}
        self._live: set[int] = set()

    # -- logins and lookups -------------------------------------------------------------------

    def login(self, appid: str, token: str) -> SessionGrant | None:
        """A new session when ``appid``/``token`` are the bot's credentials, else ``None``.

        >>> world = World(SandboxConfig())
        >>> world.login(str(world.bot_user_id), "wrong") is None
        True
        >>> world.login(chr(0xD800), "half a surrogate pair") is None
        True
        """
        bot = self.directory.bot
        given = [str(value).encode("utf-8", "surrogatepass") for value in (appid, token)]
        id_ok = hmac.compare_digest(given[0], str(bot.user_id).encode())
        token_ok = hmac.compare_digest(given[1], self.directory.bot_token.encode())
        if not (id_ok and token_ok):
            return None
        return self.sessions.issue(bot.user_id, bot.username)

    def authenticate_session(self, token: str) -> int | None:
        """The user id for a valid session JWT or session id, else ``None``.

        >>> World(SandboxConfig()).authenticate_session("nope") is None
        True
        """
        return self.sessions.authenticate(token)

    def session_of(self, token: str) -> str | None:
        """The login (session id) a valid session JWT or session id belongs to, else ``None``.

        >>> World(SandboxConfig()).session_of("nope") is None
        True
        """
        return self.sessions.session_of(token)

    def channel(self, channel_id: int) -> ChannelInfo | None:
        """The channel (``.clan_id .channel_id .label .type .clan_name``), or ``None``.

        >>> World(SandboxConfig()).channel(1) is None
        True
        """
        return self.directory.channel(channel_id)

    def not_member(self, user_id: int, clan_id: int) -> str | None:
        """Why ``user_id`` may not act in clan ``clan_id`` (it is not a member; the text names
        the clan), or ``None`` when it may. Unknown clans are the caller's business.

        >>> world = World(SandboxConfig())
        >>> other = world.directory.other_clans[0]
        >>> world.not_member(world.bot_user_id, other.clan_id) == (
        ...     f"not a member of clan {other.clan_id} ({other.clan_name})")
        True
        >>> world.not_member(world.bot_user_id, world.directory.clans[0].clan_id) is None
        True
        """
        if self.directory.is_member(user_id, clan_id):
            return None
        clan = self.directory.clan(clan_id)
        return f"not a member of clan {clan_id}" + (f" ({clan.clan_name})" if clan else "")

    def user_name(self, user_id: int) -> str:
        """Display name for presence; unknown users get ``user-<id>``.

        >>> World(SandboxConfig()).user_name(42)
        'user-42'
        """
        user = self._users.get(user_id)
        return user.display_name if user else f"user-{user_id}"

    def user(self, user_id: int) -> UserInfo | None:
        """The user with this id (bot, crowd viewer or guest), or ``None``.

        >>> World(SandboxConfig()).user(42) is None
        True
        """
        return self._users.get(user_id)

    def add_guest(self, display_name: str | None = None) -> UserInfo:
        """Create a new viewer outside the crowd's pool (control endpoints, bursts).

        >>> World(SandboxConfig()).add_guest("Ann").username.startswith("guest.")
        True
        """
        user_id = self.mint()
        name = display_name or f"Guest {user_id % 10_000:04d}"
        user = UserInfo(user_id, f"guest.{user_id % 10_000_000}", name)
        self._users[user_id] = user
        return user

    def streaming_url(self, channel_id: int) -> str:
        """The legacy RTMP ingest URL of a channel (informative, nothing listens there).

        >>> World(SandboxConfig()).streaming_url(5).startswith("rtmp://127.0.0.1/live/")
        True
        """
        key = hashlib.sha256(f"{self.config['seed']}:{channel_id}".encode()).hexdigest()[:20]
        return f"rtmp://127.0.0.1/live/{key}"

    # -- stream presence ----------------------------------------------------------------------

    def presence(self, clan_id: int | None = None, channel_id: int | None = None) -> list[Presence]:
        """Who watches what, in join order, filtered by clan and/or channel.

        >>> World(SandboxConfig()).presence()
        []
        """
        return [
            row for row in self._presence.values()
            if clan_id in (None, row.clan_id) and channel_id in (None, row.channel_id)
        ]

    def stream_join(self, channel_id: int, user_id: int, participant: str) -> int | None:
        """Record that ``user_id`` watches ``channel_id`` and push event 53 to its clan.

        A user watching another stream leaves it first (event 54). Joining the stream one
        already watches changes nothing and returns ``None``; otherwise returns the event id.

        >>> world = World(SandboxConfig())
        >>> a, b = (c.channel_id for c in world.directory.streaming_channels()[:2])
        >>> _ = world.stream_join(a, 7, "x"), world.stream_join(b, 7, "x")
        >>> [e.kind for e in world.emits]
        ['joined', 'left', 'joined']
        """
        channel = self._streaming_channel(channel_id)
        current = self._presence.get(user_id)
        if current is not None:
            if current.channel_id == channel_id:
                return None
            self.stream_leave(current.channel_id, user_id)
        event_id = self.mint()
        self._presence[user_id] = Presence(
            event_id, user_id, channel_id, channel.clan_id, participant, time.time()
        )
        event = realtime_pb2.StreamingJoinedEvent(
            clan_id=channel.clan_id,
            clan_name=channel.clan_name,
            id=event_id,
            participant=participant,
            user_id=user_id,
            streaming_channel_label=channel.label,
            streaming_channel_id=channel_id,
        )
        self._emit(channel, "joined", event_id, user_id, streaming_joined_event=event)
        return event_id

    def stream_leave(self, channel_id: int, user_id: int) -> int | None:
        """Forget that ``user_id`` watches ``channel_id`` and push event 54 (``None`` if absent).

        >>> World(SandboxConfig()).stream_leave(1, 2) is None
        True
        """
        current = self._presence.get(user_id)
        if current is None or current.channel_id != channel_id:
            return None
        del self._presence[user_id]
        channel = self._streaming_channel(channel_id)
        event_id = self.mint()
        event = realtime_pb2.StreamingLeavedEvent(
            id=event_id,
            clan_id=channel.clan_id,
            streaming_channel_id=str(channel_id),
            streaming_user_id=str(user_id),
        )
        self._emit(channel, "left", event_id, user_id, streaming_leaved_event=event)
        return event_id

    def stream_started(self, channel_id: int) -> None:
        """Mark ``channel_id`` live and push event 55 (already live: nothing happens).

        >>> world = World(SandboxConfig())
        >>> world.stream_started(world.directory.stream_channel_id)
        >>> world.is_live(world.directory.stream_channel_id)
        True
        """
        channel = self._streaming_channel(channel_id)
        if channel_id in self._live:
            return
        self._live.add(channel_id)
        event = realtime_pb2.StreamingStartedEvent(
            clan_id=channel.clan_id,
            channel_id=channel_id,
            streaming_url=self.streaming_url(channel_id),
            is_streaming=True,
        )
        self._emit(channel, "started", self.mint(), 0, streaming_started_event=event)

    def stream_ended(self, channel_id: int) -> None:
        """Mark ``channel_id`` not live and push event 56 (not live: nothing happens).

        >>> world = World(SandboxConfig())
        >>> world.stream_ended(world.directory.stream_channel_id)
        >>> len(world.emits)
        0
        """
        channel = self._streaming_channel(channel_id)
        if channel_id not in self._live:
            return
        self._live.discard(channel_id)
        event = realtime_pb2.StreamingEndedEvent(clan_id=channel.clan_id, channel_id=channel_id)
        self._emit(channel, "ended", self.mint(), 0, streaming_ended_event=event)

    def is_live(self, channel_id: int) -> bool:
        """Whether a publisher is streaming to ``channel_id``.

        >>> World(SandboxConfig()).is_live(1)
        False
        """
        return channel_id in self._live

    def live_channels(self) -> list[int]:
        """Ids of every live channel, sorted.

        >>> World(SandboxConfig()).live_channels()
        []
        """
        return sorted(self._live)

    # -- chat ---------------------------------------------------------------------------------

    def post_message(
        self,
        channel_id: int,
        sender_id: int,
        content: str,
        exclude: Connection | None = None,
    ) -> api_pb2.ChannelMessage:
        """Push a chat message to every socket in the channel's chat (except ``exclude``).

        >>> world = World(SandboxConfig())
        >>> world.post_message(world.directory.stream_channel_id, 7, '{"t":"hi"}').username
        'user-7'
        """
        channel = self.directory.channel(channel_id)
        if channel is None:
            raise ValueError(f"unknown channel {channel_id}")
        user = self._users.get(sender_id)
        message = api_pb2.ChannelMessage(
            clan_id=channel.clan_id,
            channel_id=channel_id,
            message_id=self.mint(),
            sender_id=sender_id,
            username=user.username if user else f"user-{sender_id}",
            display_name=self.user_name(sender_id),
            content=content,
            channel_label=channel.label,
            category_name=channel.category_name,
            create_time_seconds=int(time.time()),
            mode=ChannelStreamMode.CHANNEL,
            is_public=True,
        )
        envelope = realtime_pb2.Envelope(channel_message=message)
        self.hub.to_channel(channel_id, envelope, exclude=exclude)
        return message

    # -- internals ----------------------------------------------------------------------------

    def _streaming_channel(self, channel_id: int) -> ChannelInfo:
        channel = self.directory.channel(channel_id)
        if channel is None or channel.type != ChannelType.STREAMING:
            raise ValueError(f"{channel_id} is not a streaming channel of this sandbox")
        return channel

    def _emit(
        self, channel: ChannelInfo, kind: str, event_id: int, user_id: int, **member: Any
    ) -> None:
        self.emits.append(EmitRecord(event_id, kind, user_id, channel.channel_id, time.time()))
        self.hub.to_clan(channel.clan_id, realtime_pb2.Envelope(**member))
