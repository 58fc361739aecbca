"""``GET /ws``: the realtime socket, binary protobuf ``Envelope`` frames with an int32 cid.

Query: ``token`` (session JWT or session id) is required; ``lang``, ``status``, ``format``,
``platform`` and anything else are ignored. A bad token is refused before the upgrade (HTTP
403). The optional ``protobuf`` sub-protocol is accepted.

=====================  ==========================================================
request                reply (same cid)
=====================  ==========================================================
ping                   pong
clan_join              clan_join echoed; the socket now gets that clan's events
channel_join           channel (id, presences, self, chanel_label)
channel_leave          channel_leave echoed
channel_message_send   channel_message_ack, and channel_message (cid 0) to the
                       other sockets in the channel; error 3 without a join
garbage / no member    error 1 (unrecognised) or 2 (missing), socket stays open
=====================  ==========================================================

In a clan the user is not a member of, ``clan_join``, ``channel_join`` and
``channel_message_send`` get error 5 (``MATCH_JOIN_REJECTED``: the join is refused; which code
the real server uses is not known) with a message naming the clan.

>>> from mezon_nb.sandbox.config import SandboxConfig
>>> from mezon_nb.sandbox.world import World
>>> from mezon_nb.protocol import realtime_pb2
>>> conn = Connection(user_id=1, abort=lambda: None)
>>> reply = answer(World(SandboxConfig()), conn, bytes.fromhex("0803b20100"))
>>> reply.cid, reply.WhichOneof("message")
(3, 'pong')
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from mezon_nb.protocol import realtime_pb2
from mezon_nb.protocol.codec import MUST_JOIN, decode_envelope, encode_envelope, envelope_member
from mezon_nb.protocol.enums import ErrorCode
from mezon_nb.sandbox.hub import Connection
from mezon_nb.sandbox.world import World

#: Scope key under which :class:`TransportCapture` leaves the socket's asyncio transport.
TRANSPORT_KEY = "mezon_nb.sandbox.transport"


class TransportCapture:
    """ASGI middleware: remember each WebSocket's transport so it can be aborted later.

    uvicorn passes its protocol's bound ``send``; its ``transport`` lets fault injection cut
    the TCP connection without a close frame, as a network failure would.

    >>> TransportCapture(app=None).app is None
    True
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            protocol = getattr(send, "__self__", None)
            scope[TRANSPORT_KEY] = getattr(protocol, "transport", None)
        await self.app(scope, receive, send)


def _error(cid: int, code: ErrorCode, message: str) -> realtime_pb2.Envelope:
    return realtime_pb2.Envelope(cid=cid, error=realtime_pb2.Error(code=code, message=message))


def salvage_cid(data: bytes) -> int:
    """The cid at the start of a frame that does not parse, or 0.

    >>> salvage_cid(bytes.fromhex("0807ffff"))
    7
    >>> salvage_cid(b"garbage")
    0
    >>> salvage_cid(bytes.fromhex("08ffffffffffffffffff01ff"))  # int32 -1 takes 10 bytes
    -1
    >>> salvage_cid(bytes.fromhex("08ffffffff7fff"))  # 35 bits: cut to int32, as protobuf does
    -1
    """
    if not data or data[0] != 0x08:
        return 0
    value, shift = 0, 0
    for byte in data[1:11]:  # a varint has at most 10 bytes (a negative int32 takes all 10)
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            value &= 0xFFFFFFFF
            return value - (1 << 32) if value >= 1 << 31 else value
    return 0


def _presence(world: World, conn: Connection) -> realtime_pb2.UserPresence:
    user = world.user(conn.user_id)
    return realtime_pb2.UserPresence(
        user_id=conn.user_id,
        session_id=conn.session_number,
        username=user.username if user else f"user-{conn.user_id}",
        user_status="online",
    )


def _refused(
    world: World, conn: Connection, cid: int, clan_id: int
) -> realtime_pb2.Envelope | None:
    """Error 5 when ``conn``'s user is not in clan ``clan_id``, else ``None``."""
    problem = world.not_member(conn.user_id, clan_id)
    return None if problem is None else _error(cid, ErrorCode.MATCH_JOIN_REJECTED, problem)


def _ping(
    world: World, conn: Connection, envelope: realtime_pb2.Envelope
) -> realtime_pb2.Envelope:
    return realtime_pb2.Envelope(cid=envelope.cid, pong=realtime_pb2.Pong())


def _clan_join(
    world: World, conn: Connection, envelope: realtime_pb2.Envelope
) -> realtime_pb2.Envelope:
    clan_id = envelope.clan_join.clan_id
    if clan_id and world.directory.clan(clan_id) is None:  # clan 0 (DMs) always exists
        return _error(envelope.cid, ErrorCode.BAD_INPUT, f"clan {clan_id} not found")
    refused = _refused(world, conn, envelope.cid, clan_id)
    if refused is not None:
        return refused
    conn.clans.add(clan_id)
    return envelope


def _channel_join(
    world: World, conn: Connection, envelope: realtime_pb2.Envelope
) -> realtime_pb2.Envelope:
    channel = world.channel(envelope.channel_join.channel_id)
    if channel is None:
        return _error(envelope.cid, ErrorCode.BAD_INPUT, "channel not found")
    refused = _refused(world, conn, envelope.cid, channel.clan_id)
    if refused is not None:
        return refused
    others = [_presence(world, other) for other in world.hub.in_channel(channel.channel_id)]
    conn.channels.add(channel.channel_id)
    return realtime_pb2.Envelope(cid=envelope.cid, channel=realtime_pb2.Channel(
        id=channel.channel_id,
        presences=others,
        self=_presence(world, conn),
        chanel_label=channel.label,
        category_name=channel.category_name,
    ))


def _channel_leave(
    world: World, conn: Connection, envelope: realtime_pb2.Envelope
) -> realtime_pb2.Envelope:
    conn.channels.discard(envelope.channel_leave.channel_id)
    return envelope


def _channel_message_send(
    world: World, conn: Connection, envelope: realtime_pb2.Envelope
) -> realtime_pb2.Envelope:
    send = envelope.channel_message_send
    channel = world.channel(send.channel_id)
    refused = _refused(world, conn, envelope.cid, channel.clan_id) if channel else None
    if refused is not None:
        return refused
    if send.channel_id not in conn.channels:
        return _error(envelope.cid, ErrorCode.BAD_INPUT, MUST_JOIN)
    message = world.post_message(send.channel_id, conn.user_id, send.content, exclude=conn)
    ack = realtime_pb2.ChannelMessageAck(
        channel_id=send.channel_id,
        message_id=message.message_id,
        username=message.username,
        create_time_seconds=message.create_time_seconds,
        category_name=message.category_name,
    )
    return realtime_pb2.Envelope(cid=envelope.cid, channel_message_ack=ack)


#: Request member -> handler(world, connection, envelope) -> reply envelope (same cid).
REQUEST_HANDLERS: dict[
    str, Callable[[World, Connection, realtime_pb2.Envelope], realtime_pb2.Envelope]
] = {
    "ping": _ping,
    "clan_join": _clan_join,
    "channel_join": _channel_join,
    "channel_leave": _channel_leave,
    "channel_message_send": _channel_message_send,
}


def answer(world: World, conn: Connection, data: bytes) -> realtime_pb2.Envelope:
    """The reply envelope (same cid) to one binary frame from ``conn``.

    >>> from mezon_nb.sandbox.config import SandboxConfig
    >>> answer(World(SandboxConfig()), Connection(1, lambda: None), b"junk").error.code
    1
    """
    try:
        envelope = decode_envelope(data)
    except ValueError:
        return _error(salvage_cid(data), ErrorCode.UNRECOGNIZED_PAYLOAD, "not a realtime Envelope")
    member = envelope_member(envelope)
    if member in REQUEST_HANDLERS:
        return REQUEST_HANDLERS[member](world, conn, envelope)
    if member is not None:
        return _error(envelope.cid, ErrorCode.UNRECOGNIZED_PAYLOAD, f"{member} is not a request")
    bare = realtime_pb2.Envelope(cid=envelope.cid)
    if envelope.ByteSize() > bare.ByteSize():  # only unknown fields can make the difference
        return _error(envelope.cid, ErrorCode.UNRECOGNIZED_PAYLOAD, "unknown envelope member")
    return _error(envelope.cid, ErrorCode.MISSING_PAYLOAD, "envelope has no message")


def _aborter(websocket: WebSocket) -> Callable[[], None]:
    """Cut the TCP connection; without a captured transport, close with 1012 instead."""
    transport = websocket.scope.get(TRANSPORT_KEY)
    closing: set[asyncio.Task[None]] = set()

    def abort() -> None:
        if transport is not None:
            transport.abort()
        elif not closing:
            closing.add(asyncio.ensure_future(websocket.close(code=1012)))

    return abort


async def _drain(websocket: WebSocket, conn: Connection) -> None:
    """Write queued frames until the connection is aborted or its transport closes (writing to
    a lost transport makes asyncio log ``socket.send() raised exception.`` for every frame)."""
    transport = websocket.scope.get(TRANSPORT_KEY)
    while True:
        frame = await conn.outbox.get()
        if conn.closed or (transport is not None and transport.is_closing()):
            return
        await websocket.send_bytes(frame)


def realtime_routes(world: World) -> list[WebSocketRoute]:
    """The ``/ws`` route, bound to ``world``.

    >>> [route.path for route in realtime_routes(None)]
    ['/ws']
    """

    async def realtime(websocket: WebSocket) -> None:
        token = websocket.query_params.get("token", "")
        user_id = world.authenticate_session(token) if token else None
        if user_id is None:
            await websocket.close(code=1008)  # before accept: the upgrade is refused (403)
            return
        wants_protobuf = "protobuf" in websocket.scope.get("subprotocols", [])
        await websocket.accept(subprotocol="protobuf" if wants_protobuf else None)
        conn = Connection(user_id, abort=_aborter(websocket))
        world.hub.register(conn)
        writer = asyncio.create_task(_drain(websocket, conn))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    reply = answer(world, conn, message["bytes"])
                else:
                    reply = _error(0, ErrorCode.UNRECOGNIZED_PAYLOAD,
                                   "only binary protobuf Envelope frames are supported")
                conn.push(encode_envelope(reply))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            world.hub.unregister(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    return [WebSocketRoute("/ws", realtime)]
