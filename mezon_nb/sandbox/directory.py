"""The seeded world: clans, channels, the bot and a pool of viewers, all from one ``seed``.

Every id is an int64 snowflake above 2**53, so any float conversion on the way loses digits
and shows up in tests.

>>> directory = seed_directory(0)
>>> directory == seed_directory(0)
True
>>> all(channel.channel_id > 2**53 for channel in directory.channels)
True
>>> [c.label for c in directory.streaming_channels(directory.clans[0].clan_id)]
['main-stage', 'backstage']

The bot is a member of ``clans`` (what ``ListClanDescs`` lists); ``other_clans`` exist too,
with their own channels (``other_channels``), but the bot is not in them, so the server
refuses it there (:meth:`Directory.is_member`). The sandbox's viewers are members of every
clan.

>>> [(c.clan_name, directory.is_member(directory.bot.user_id, c.clan_id))
...  for c in directory.other_clans]
[('Signal Co', False)]
"""

from __future__ import annotations

import dataclasses
import hashlib
import random

from mezon_nb.protocol.enums import ChannelType

#: Snowflakes start here (about 2**60.7): well above 2**53, well below 2**63.
SNOWFLAKE_FLOOR = 1_840_000_000_000_000_000

VIEWER_POOL_SIZE = 120

_CLAN_NAMES = ("Komu Lab", "Night Owls", "Pixel Guild", "Orbit Crew", "Tea House", "Signal Co")
_FIRST_NAMES = (
    "An", "Binh", "Chi", "Dung", "Giang", "Hoa", "Khanh", "Lan", "Minh", "Ngoc", "Phuong",
    "Quan", "Son", "Thao", "Tuan", "Uyen", "Vy", "Yen", "Alex", "Maya", "Noah", "Iris", "Leo",
)
# (label, type) per clan; the first streaming channel of clan 1 is the main stream.
_CLAN_CHANNELS = (
    (("general", ChannelType.CHANNEL), ("random", ChannelType.CHANNEL),
     ("main-stage", ChannelType.STREAMING), ("backstage", ChannelType.STREAMING),
     ("lounge", ChannelType.MEZON_VOICE)),
    (("general", ChannelType.CHANNEL), ("help", ChannelType.CHANNEL),
     ("live-lab", ChannelType.STREAMING)),
)
# Clans the bot is not in (made after everything above, so the bot's world stays as it was).
_OTHER_CLAN_CHANNELS = (
    (("general", ChannelType.CHANNEL), ("members-live", ChannelType.STREAMING),
     ("voice-room", ChannelType.MEZON_VOICE)),
)


class SnowflakeMint:
    """Hands out increasing int64 snowflakes above 2**53, deterministic from its seed.

    >>> mint = SnowflakeMint(random.Random(1))
    >>> first, second = mint(), mint()
    >>> 2**53 < first < second < 2**63
    True
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._next = SNOWFLAKE_FLOOR + rng.randrange(10**16)

    def __call__(self) -> int:
        value = self._next
        self._next += self._rng.randrange(1, 1 << 22)
        return value


@dataclasses.dataclass(frozen=True)
class UserInfo:
    """A user of the sandbox: the bot, a crowd viewer or a guest added later.

    >>> UserInfo(user_id=2**60 + 1, username="lan.42", display_name="Lan").display_name
    'Lan'
    """

    user_id: int
    username: str
    display_name: str


@dataclasses.dataclass(frozen=True)
class ClanInfo:
    """One clan as ``ListClanDescs`` shows it.

    >>> seed_directory(0).clans[0].clan_id > 2**53
    True
    """

    clan_id: int
    clan_name: str
    creator_id: int
    welcome_channel_id: int


@dataclasses.dataclass(frozen=True)
class ChannelInfo:
    """One channel; ``type`` is a :class:`~mezon_nb.protocol.enums.ChannelType` value.

    >>> channel = seed_directory(0).channels[0]
    >>> (channel.label, channel.type)
    ('general', 1)
    """

    clan_id: int
    channel_id: int
    label: str
    type: int
    clan_name: str
    category_id: int
    category_name: str = "Channels"


@dataclasses.dataclass(frozen=True)
class Directory:
    """The static part of the world, built by :func:`seed_directory`.

    >>> d = seed_directory(0)
    >>> d.channel(d.stream_channel_id).label
    'main-stage'
    """

    clans: tuple[ClanInfo, ...]
    channels: tuple[ChannelInfo, ...]
    bot: UserInfo
    bot_token: str
    viewers: tuple[UserInfo, ...]
    stream_channel_id: int
    other_clans: tuple[ClanInfo, ...] = ()
    other_channels: tuple[ChannelInfo, ...] = ()

    def clan(self, clan_id: int) -> ClanInfo | None:
        """The clan with this id, or ``None``.

        >>> seed_directory(0).clan(5) is None
        True
        """
        return next((clan for clan in (*self.clans, *self.other_clans)
                     if clan.clan_id == clan_id), None)

    def channel(self, channel_id: int) -> ChannelInfo | None:
        """The channel with this id, or ``None``.

        >>> seed_directory(0).channel(5) is None
        True
        """
        return next((c for c in (*self.channels, *self.other_channels)
                     if c.channel_id == channel_id), None)

    def channels_of(self, clan_id: int) -> list[ChannelInfo]:
        """Every channel of a clan, all types, in seeded order.

        >>> d = seed_directory(0)
        >>> len(d.channels_of(d.clans[1].clan_id)), len(d.channels_of(d.other_clans[0].clan_id))
        (3, 3)
        """
        return [channel for channel in (*self.channels, *self.other_channels)
                if channel.clan_id == clan_id]

    def is_member(self, user_id: int, clan_id: int) -> bool:
        """Whether ``user_id`` is in clan ``clan_id``: the bot is in :attr:`clans` only, every
        other user in every clan; everyone is in clan 0 (direct messages and groups).

        >>> d = seed_directory(0)
        >>> d.is_member(d.bot.user_id, d.clans[0].clan_id), d.is_member(d.bot.user_id, 0)
        (True, True)
        >>> other = d.other_clans[0].clan_id
        >>> d.is_member(d.bot.user_id, other), d.is_member(7, other)
        (False, True)
        """
        if user_id != self.bot.user_id or clan_id == 0:
            return True
        return any(clan.clan_id == clan_id for clan in self.clans)

    def streaming_channels(self, clan_id: int | None = None) -> list[ChannelInfo]:
        """Streaming (type 6) channels of one of the bot's clans, or of all of them when
        ``clan_id`` is None.

        >>> len(seed_directory(0).streaming_channels())
        3
        """
        return [
            channel for channel in self.channels
            if channel.type == ChannelType.STREAMING and clan_id in (None, channel.clan_id)
        ]


def seed_directory(seed: int) -> Directory:
    """Build the deterministic world for ``seed``: the bot's two clans, their channels, bot,
    viewers, and one clan the bot is not in.

    >>> seed_directory(1).bot_token != seed_directory(2).bot_token
    True
    """
    rng = random.Random(f"mezon_nb-sandbox-directory-{seed}")
    mint = SnowflakeMint(rng)
    bot = UserInfo(user_id=mint(), username="sandbox-bot", display_name="Sandbox Bot")
    clans, channels = _clans(mint, rng.sample(_CLAN_NAMES, len(_CLAN_CHANNELS)),
                             _CLAN_CHANNELS, bot.user_id)
    viewers = tuple(_viewer(rng, mint()) for _ in range(VIEWER_POOL_SIZE))
    bot_token = hashlib.sha256(f"mezon_nb-sandbox-bot-token-{seed}".encode()).hexdigest()[:40]
    main_stream = next(c for c in channels if c.type == ChannelType.STREAMING)
    used = {clan.clan_name for clan in clans}
    other_clans, other_channels = _clans(
        mint, [name for name in _CLAN_NAMES if name not in used][-len(_OTHER_CLAN_CHANNELS):],
        _OTHER_CLAN_CHANNELS, viewers[0].user_id)
    return Directory(
        other_clans=tuple(other_clans),
        other_channels=tuple(other_channels),
        clans=tuple(clans),
        channels=tuple(channels),
        bot=bot,
        bot_token=bot_token,
        viewers=viewers,
        stream_channel_id=main_stream.channel_id,
    )


def _clans(
    mint: SnowflakeMint, names: list[str], layouts: tuple[tuple[tuple[str, int], ...], ...],
    creator_id: int,
) -> tuple[list[ClanInfo], list[ChannelInfo]]:
    """Clans named ``names`` with the channels of ``layouts`` (ids from ``mint``, in order)."""
    clans: list[ClanInfo] = []
    channels: list[ChannelInfo] = []
    for clan_name, layout in zip(names, layouts):
        clan_id, category_id = mint(), mint()
        clan_channels = [
            ChannelInfo(clan_id, mint(), label, int(kind), clan_name, category_id)
            for label, kind in layout
        ]
        clans.append(ClanInfo(clan_id, clan_name, creator_id, clan_channels[0].channel_id))
        channels.extend(clan_channels)
    return clans, channels


def _viewer(rng: random.Random, user_id: int) -> UserInfo:
    name = rng.choice(_FIRST_NAMES)
    return UserInfo(user_id, f"{name.lower()}.{rng.randrange(10, 1000)}", name)
