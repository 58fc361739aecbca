"""Every exception mezon_nb raises on purpose, under one root, :class:`MezonError`.

::

    MezonError
    ├── AuthenticationError      bad bot id or token, expired session, 401/403 from the server
    ├── NotFoundError            unknown clan, channel or stream
    ├── ServerError              the server answered with an error (HTTP status or `error` envelope)
    │   └── PermissionDeniedError  refused in a clan the bot is not in (403, join refused)
    ├── ProtocolError            bytes that are not the Mezon protocol (garbage frame, bad reply)
    ├── TransportError           the network path failed
    │   ├── MezonTimeoutError    no reply in time (also a builtin ``TimeoutError``)
    │   └── ConnectionClosedError  the socket closed while a request waited
    ├── StreamError              live media
    │   ├── StreamNotLiveError   the channel has no publisher (yet)
    │   │   └── NotStreamingChannelError  a text or voice channel: never a stream
    │   ├── StreamEndedError     the publisher stopped, the channel closed
    │   └── MediaError           WebRTC failed (ICE, DTLS, codec), or a recording failed
    └── ClientClosedError        the client (or session) was closed; also a ``RuntimeError``

Messages say what to do next and never contain a token.

>>> from mezon_nb.errors import MezonError, StreamNotLiveError
>>> issubclass(StreamNotLiveError, MezonError)
True
"""

from __future__ import annotations


class MezonError(Exception):
    """Root of every mezon_nb error: ``except mezon_nb.MezonError`` catches them all.

    >>> isinstance(NotFoundError("channel 1 not found"), MezonError)
    True
    """


class AuthenticationError(MezonError):
    """The server refused the credentials. Check ``MEZON_BOT_ID`` / ``MEZON_BOT_TOKEN``.

    >>> str(AuthenticationError("bot login refused (HTTP 401)"))
    'bot login refused (HTTP 401)'
    """


class NotFoundError(MezonError):
    """A clan, channel or stream that does not exist (or the bot cannot see).

    >>> NotFoundError("channel '7' not found").args[0]
    "channel '7' not found"
    """


class ServerError(MezonError):
    """The server answered with an error: an HTTP status or an ``error`` envelope.

    ``code`` is the realtime error code or the HTTP status; ``cid`` the request it answers.

    >>> err = ServerError("bad input", code=3, cid=9)
    >>> (err.code, err.cid)
    (3, 9)
    """

    def __init__(self, message: str, *, code: int | None = None, cid: int | None = None):
        super().__init__(message)
        self.code = code
        self.cid = cid


class PermissionDeniedError(ServerError):
    """The server refused the bot in a clan it is not a member of (an RPC's HTTP 403, a
    refused ``clan_join``/``channel_join``, the stream server's refusal); ``clan_id`` names the
    clan when known. Ask the clan's owner to add the bot, or use one of ``client.clans()``.

    >>> err = PermissionDeniedError("ListChannelDescs: not a member of clan 5", clan_id="5")
    >>> err.clan_id, isinstance(err, ServerError)
    ('5', True)
    """

    def __init__(self, message: str, *, clan_id: str | None = None, code: int | None = None,
                 cid: int | None = None):
        super().__init__(message, code=code, cid=cid)
        self.clan_id = clan_id


class ProtocolError(MezonError):
    """Bytes that do not follow the Mezon protocol: a garbage frame, an unparsable reply.

    >>> raise ProtocolError("ListClanDescs: reply is not a ClanDescList (12 bytes)")
    Traceback (most recent call last):
    ...
    mezon_nb.errors.ProtocolError: ListClanDescs: reply is not a ClanDescList (12 bytes)
    """


class TransportError(MezonError):
    """The network path failed: connection refused, reset, DNS, TLS.

    >>> issubclass(MezonTimeoutError, TransportError)
    True
    """


class MezonTimeoutError(TransportError, TimeoutError):
    """No reply within the timeout. Also a builtin ``TimeoutError``.

    >>> isinstance(MezonTimeoutError("no pong within 10 s"), TimeoutError)
    True
    """


class ConnectionClosedError(TransportError):
    """The socket closed while a request was waiting for its reply.

    >>> str(ConnectionClosedError("realtime socket closed (code 1006)"))
    'realtime socket closed (code 1006)'
    """


class StreamError(MezonError):
    """Something went wrong with a live stream.

    >>> issubclass(StreamEndedError, StreamError)
    True
    """


class StreamNotLiveError(StreamError):
    """The streaming channel has no publisher; start one or wait for it.

    >>> str(StreamNotLiveError("channel '6' is not live"))
    "channel '6' is not live"
    """


class NotStreamingChannelError(StreamNotLiveError):
    """The channel is not a streaming channel (a text or voice channel), so it never has a
    stream to join or to publish into. ``channel_type`` is its type number.

    >>> err = NotStreamingChannelError("channel '5' is a text channel", channel_type=1)
    >>> err.channel_type, isinstance(err, StreamNotLiveError)
    (1, True)
    """

    def __init__(self, message: str, *, channel_type: int | None = None):
        super().__init__(message)
        self.channel_type = channel_type


class StreamEndedError(StreamError):
    """The publisher stopped or the stream server closed the channel.

    >>> StreamEndedError("stream ended").args
    ('stream ended',)
    """


class MediaError(StreamError):
    """WebRTC failed (ICE, DTLS, codec) or a recording could not be written.

    >>> str(MediaError("ICE failed"))
    'ICE failed'
    """


class ClientClosedError(MezonError, RuntimeError):
    """The client or session was closed; open a new one with ``mezon_nb.connect()``.

    >>> isinstance(ClientClosedError("client is closed"), RuntimeError)
    True
    """


__all__ = [
    "AuthenticationError",
    "ClientClosedError",
    "ConnectionClosedError",
    "MediaError",
    "MezonError",
    "MezonTimeoutError",
    "NotFoundError",
    "NotStreamingChannelError",
    "PermissionDeniedError",
    "ProtocolError",
    "ServerError",
    "StreamEndedError",
    "StreamError",
    "StreamNotLiveError",
    "TransportError",
]
