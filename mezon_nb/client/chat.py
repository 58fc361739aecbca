"""Chat in streaming channels: join a channel's chat, send text, keep the joins across reconnects.

A socket must join a channel's chat (``channel_join``) before it may send there; a send without
it gets ``error`` code 3 ("Must join channel before sending messages"). :class:`Chat` joins on
first use, and on that error joins and retries once (as the SDKs do). The server forgets joins
when the socket drops, so after each reconnect :meth:`Chat.rejoin` joins every chat again and
incoming ``channel_message`` events keep coming.

>>> chat = Chat(aclient._socket, aclient.channel)
>>> ack = run(chat.send(sandbox.stream_channel_id, "hello from the docs"))
>>> ack.channel_id == sandbox.stream_channel_id, chat.joined == [sandbox.stream_channel_id]
(True, True)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from mezon_nb.client.models import ChannelInfo, MessageAck
from mezon_nb.client.realtime import RealtimeSocket
from mezon_nb.errors import PermissionDeniedError, ServerError
from mezon_nb.protocol import codec, realtime_pb2
from mezon_nb.protocol.enums import ChannelStreamMode, ChannelType, ErrorCode

log = logging.getLogger(__name__)


def must_join(error: ServerError) -> bool:
    """Whether a send failed because the socket has not joined the channel's chat.

    >>> must_join(ServerError("channel_message_send failed: ...", code=3))
    True
    >>> must_join(ServerError("boom", code=0))
    False
    """
    return error.code == ErrorCode.BAD_INPUT or codec.MUST_JOIN in str(error)


class Chat:
    """The chats one socket has joined, and sending text into them.

    ``lookup(channel_id)`` finds a channel's clan when the caller gives none (the client's
    ``channel()`` RPC); the answer is kept.

    >>> Chat(aclient._socket, aclient.channel).joined
    []
    """

    def __init__(self, socket: RealtimeSocket,
                 lookup: Callable[[str], Awaitable[ChannelInfo]]) -> None:
        self._socket = socket
        self._lookup = lookup
        self._clans: dict[str, str] = {}  # channel_id -> clan_id
        self._joined: dict[str, int] = {}  # channel_id -> the socket connection it was joined on

    @property
    def joined(self) -> list[str]:
        """The channel ids whose chat this socket joined, in join order.

        >>> chat = Chat(aclient._socket, aclient.channel)
        >>> run(chat.join(sandbox.stream_channel_id)); chat.joined == [sandbox.stream_channel_id]
        True
        """
        return list(self._joined)

    async def join(self, channel_id: int | str, clan_id: int | str | None = None) -> None:
        """Join a channel's chat (``channel_join`` → ``channel``); ``ServerError`` if refused.

        >>> run(Chat(aclient._socket, aclient.channel).join(sandbox.stream_channel_id))
        """
        channel = codec.id_str(channel_id)
        clan = await self._clan_of(channel, clan_id)
        try:
            await self._socket.request(realtime_pb2.Envelope(
                channel_join=realtime_pb2.ChannelJoin(
                    clan_id=int(clan), channel_id=int(channel),
                    channel_type=ChannelType.STREAMING, is_public=True)))
        except ServerError as exc:
            raise _refusal(exc, clan) from None
        self._joined[channel] = self._socket.connections

    async def send(self, channel_id: int | str, text: str,
                   clan_id: int | str | None = None) -> MessageAck:
        """Send ``text`` (as content ``{"t": text}``); join first if needed; the server's ack.

        >>> run(Chat(aclient._socket, aclient.channel).send(sandbox.stream_channel_id, "hi")
        ...     ).message_id.isdigit()
        True
        """
        content = message_content(text)
        channel = codec.id_str(channel_id)
        clan = await self._clan_of(channel, clan_id)
        if self._joined.get(channel) != self._socket.connections:
            await self.join(channel, clan)
        try:
            reply = await self._socket.request(_send_envelope(clan, channel, content))
        except ServerError as exc:
            if not must_join(exc):
                raise _refusal(exc, clan) from None
            await self.join(channel, clan)
            reply = await self._socket.request(_send_envelope(clan, channel, content))
        return MessageAck.from_proto(reply.channel_message_ack)

    async def rejoin(self) -> None:
        """Join every chat joined before (after a reconnect); a refused one is forgotten.

        >>> run(Chat(aclient._socket, aclient.channel).rejoin())
        """
        for channel in list(self._joined):
            try:
                await self.join(channel)
            except ServerError as exc:
                log.warning("could not rejoin the chat of channel %s: %s", channel, exc)
                self._joined.pop(channel, None)

    async def _clan_of(self, channel: str, clan_id: int | str | None) -> str:
        if clan_id is not None:
            self._clans[channel] = codec.id_str(clan_id)
        elif channel not in self._clans:
            self._clans[channel] = (await self._lookup(channel)).clan_id
        return self._clans[channel]


def message_content(text: str) -> str:
    """The ``content`` for chat ``text``, checked before anything is sent: ``TypeError`` for a
    non-``str``, ``ValueError`` for an empty (or blank) text or one whose content exceeds
    :data:`~mezon_nb.protocol.codec.MAX_CONTENT_BYTES`.

    >>> message_content("hi")
    '{"t":"hi"}'
    >>> message_content("  ")
    Traceback (most recent call last):
    ...
    ValueError: a chat message cannot be empty
    >>> message_content("x" * 2_000_000)
    Traceback (most recent call last):
    ...
    ValueError: a chat message may hold at most 1000000 bytes of content; this one has 2000008
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("a chat message cannot be empty")
    content = codec.text_content(text)
    try:
        size = len(content.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("a chat message must be valid Unicode text (it has a lone "
                         "surrogate)") from None
    if size > codec.MAX_CONTENT_BYTES:
        raise ValueError(f"a chat message may hold at most {codec.MAX_CONTENT_BYTES} bytes of "
                         f"content; this one has {size}")
    return content


def _refusal(error: ServerError, clan: str) -> ServerError:
    """A refused join or send (error 5, MATCH_JOIN_REJECTED) as a ``PermissionDeniedError``
    naming the clan; other errors unchanged."""
    if error.code != ErrorCode.MATCH_JOIN_REJECTED:
        return error
    return PermissionDeniedError(f"{error} (clan {clan}: the bot is not a member there)",
                                 clan_id=clan, code=error.code, cid=error.cid)


def _send_envelope(clan: str, channel: str, content: str) -> realtime_pb2.Envelope:
    return realtime_pb2.Envelope(channel_message_send=realtime_pb2.ChannelMessageSend(
        clan_id=int(clan), channel_id=int(channel), content=content,
        mode=ChannelStreamMode.CHANNEL, is_public=True))


__all__ = ["Chat", "message_content", "must_join"]
