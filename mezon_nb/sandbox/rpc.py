"""``POST /mezon.api.Mezon/<Rpc>``: the protobuf RPCs a bot needs for streaming channels.

Each call carries ``Authorization: Bearer <session token or session id>`` and a protobuf body;
the reply is the protobuf response, or a JSON ``{code, message}`` with 400 (unparsable body,
not a streaming channel), 401 (missing, invalid or expired session), 403 (a clan the caller is
not a member of, or a channel of one; the message names the clan) or 404 (unknown RPC, clan
or channel). ``ListClanDescs`` lists only the caller's clans.

==========================  ===========================  ============================
RPC                         request                      response
==========================  ===========================  ============================
ListClanDescs               ListClanDescRequest          ClanDescList
ListChannelDescs            ListChannelDescsRequest      ChannelDescList (all types)
ListChannelDetail           ListChannelDetailRequest     ChannelDescription
ListStreamingChannelUsers   ListChannelUsersRequest      StreamingChannelUserList
RegisterStreamingChannel    RegisterStreamingChannel…    RegisterStreamingChannelResponse
==========================  ===========================  ============================

>>> sorted(RPCS)[:2]
['ListChannelDescs', 'ListChannelDetail']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError, Message
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mezon_nb.protocol import api_pb2
from mezon_nb.protocol.enums import ChannelType
from mezon_nb.sandbox.directory import ChannelInfo
from mezon_nb.sandbox.responses import json_error, protobuf_response
from mezon_nb.sandbox.world import World


class RpcError(Exception):
    """An RPC failure that becomes a JSON error reply; the message must hold no secret.

    >>> RpcError(404, "clan 1 not found").status
    404
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def describe_channel(channel: ChannelInfo, creator_id: int) -> api_pb2.ChannelDescription:
    """The ``ChannelDescription`` of one sandbox channel.

    >>> from mezon_nb.sandbox.directory import seed_directory
    >>> describe_channel(seed_directory(0).channels[0], 1).channel_label
    'general'
    """
    return api_pb2.ChannelDescription(
        clan_id=channel.clan_id,
        channel_id=channel.channel_id,
        category_id=channel.category_id,
        category_name=channel.category_name,
        type=channel.type,
        creator_id=creator_id,
        channel_label=channel.label,
        clan_name=channel.clan_name,
    )


def _member(world: World, caller: int, clan_id: int) -> None:
    problem = world.not_member(caller, clan_id)
    if problem is not None:
        raise RpcError(403, problem)


def _known_channel(world: World, caller: int, channel_id: int) -> ChannelInfo:
    channel = world.channel(channel_id)
    if channel is None:
        raise RpcError(404, f"channel {channel_id} not found")
    _member(world, caller, channel.clan_id)
    return channel


def _known_clan(world: World, caller: int, clan_id: int) -> None:
    if world.directory.clan(clan_id) is None:
        raise RpcError(404, f"clan {clan_id} not found")
    _member(world, caller, clan_id)


def list_clan_descs(
    world: World, caller: int, _: api_pb2.ListClanDescRequest
) -> api_pb2.ClanDescList:
    """Every clan the caller is in (other clans exist, but are not listed).

    >>> from mezon_nb.sandbox.config import SandboxConfig
    >>> world = World(SandboxConfig())
    >>> len(list_clan_descs(world, world.bot_user_id, api_pb2.ListClanDescRequest()).clandesc)
    2
    """
    return api_pb2.ClanDescList(clandesc=[
        api_pb2.ClanDesc(
            creator_id=clan.creator_id,
            clan_name=clan.clan_name,
            clan_id=clan.clan_id,
            welcome_channel_id=clan.welcome_channel_id,
        )
        for clan in (*world.directory.clans, *world.directory.other_clans)
        if world.not_member(caller, clan.clan_id) is None
    ])


def list_channel_descs(
    world: World, caller: int, request: api_pb2.ListChannelDescsRequest
) -> api_pb2.ChannelDescList:
    """Every channel of a clan, of every type (as upstream does for ``channel_type=1``).

    Clan 0 (direct messages and groups) exists and holds no channel here.

    >>> from mezon_nb.sandbox.config import SandboxConfig
    >>> world = World(SandboxConfig())
    >>> request = api_pb2.ListChannelDescsRequest(clan_id=world.directory.clans[0].clan_id)
    >>> len(list_channel_descs(world, world.bot_user_id, request).channeldesc)
    5
    """
    if request.clan_id == 0:
        return api_pb2.ChannelDescList()
    _known_clan(world, caller, request.clan_id)
    wanted = request.channel_type
    return api_pb2.ChannelDescList(channeldesc=[
        describe_channel(channel, world.bot_user_id)
        for channel in world.directory.channels_of(request.clan_id)
        if wanted in (0, ChannelType.CHANNEL, channel.type)
    ])


def list_channel_detail(
    world: World, caller: int, request: api_pb2.ListChannelDetailRequest
) -> api_pb2.ChannelDescription:
    """One channel's description; 404 when unknown, 403 in a clan the caller is not in.

    >>> from mezon_nb.sandbox.config import SandboxConfig
    >>> request = api_pb2.ListChannelDetailRequest(channel_id=1)
    >>> list_channel_detail(World(SandboxConfig()), 0, request)
    Traceback (most recent call last):
    ...
    mezon_nb.sandbox.rpc.RpcError: channel 1 not found
    """
    return describe_channel(_known_channel(world, caller, request.channel_id), world.bot_user_id)


def list_streaming_channel_users(
    world: World, caller: int, request: api_pb2.ListChannelUsersRequest
) -> api_pb2.StreamingChannelUserList:
    """Who watches a streaming channel, or every stream of a clan when ``channel_id`` is 0.

    >>> from mezon_nb.sandbox.config import SandboxConfig
    >>> world = World(SandboxConfig())
    >>> request = api_pb2.ListChannelUsersRequest(clan_id=world.directory.clans[0].clan_id)
    >>> list_streaming_channel_users(world, world.bot_user_id, request).streaming_channel_users
    []
    """
    if request.channel_id:
        channel = _known_channel(world, caller, request.channel_id)
        if request.clan_id and request.clan_id != channel.clan_id:
            raise RpcError(404, f"channel {request.channel_id} not found in clan {request.clan_id}")
        rows = world.presence(channel_id=channel.channel_id)
    else:
        _known_clan(world, caller, request.clan_id)
        rows = world.presence(clan_id=request.clan_id)
    if request.limit > 0:
        rows = rows[: request.limit]
    return api_pb2.StreamingChannelUserList(streaming_channel_users=[
        api_pb2.StreamingChannelUser(
            id=row.row_id, user_id=row.user_id, channel_id=row.channel_id,
            participant=row.participant,
        )
        for row in rows
    ])


def register_streaming_channel(
    world: World, caller: int, request: api_pb2.RegisterStreamingChannelRequest
) -> api_pb2.RegisterStreamingChannelResponse:
    """The (legacy, informative) ingest URL of a streaming channel; 400 for other types, 403
    in a clan the caller is not in.

    >>> from mezon_nb.sandbox.config import SandboxConfig
    >>> world = World(SandboxConfig())
    >>> channel = world.channel(world.directory.stream_channel_id)
    >>> request = api_pb2.RegisterStreamingChannelRequest(
    ...     clan_id=channel.clan_id, channel_id=channel.channel_id)
    >>> register_streaming_channel(world, world.bot_user_id, request).streaming_url[:7]
    'rtmp://'
    """
    channel = _known_channel(world, caller, request.channel_id)
    if request.clan_id and request.clan_id != channel.clan_id:
        raise RpcError(404, f"channel {request.channel_id} not found in clan {request.clan_id}")
    if channel.type != ChannelType.STREAMING:
        raise RpcError(400, f"channel {request.channel_id} is not a streaming channel")
    return api_pb2.RegisterStreamingChannelResponse(
        clan_id=channel.clan_id,
        channel_id=channel.channel_id,
        streaming_url=world.streaming_url(channel.channel_id),
    )


#: RPC name -> (request message class, handler(world, caller, request) -> response message).
RPCS: dict[str, tuple[type[Message], Callable[[World, int, Any], Message]]] = {
    "ListClanDescs": (api_pb2.ListClanDescRequest, list_clan_descs),
    "ListChannelDescs": (api_pb2.ListChannelDescsRequest, list_channel_descs),
    "ListChannelDetail": (api_pb2.ListChannelDetailRequest, list_channel_detail),
    "ListStreamingChannelUsers": (api_pb2.ListChannelUsersRequest, list_streaming_channel_users),
    "RegisterStreamingChannel": (
        api_pb2.RegisterStreamingChannelRequest, register_streaming_channel,
    ),
}


def bearer_user(world: World, request: Request) -> int | None:
    """The user id of the request's ``Authorization: Bearer`` session, else ``None``.

    >>> bearer_user(None, Request({"type": "http", "headers": []})) is None
    True
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return world.authenticate_session(token.strip())


def rpc_routes(world: World) -> list[Route]:
    """The ``/mezon.api.Mezon/{rpc}`` route, bound to ``world``.

    >>> [route.path for route in rpc_routes(None)]
    ['/mezon.api.Mezon/{rpc}']
    """

    async def call(request: Request) -> Response:
        name = request.path_params["rpc"]
        if name not in RPCS:
            return json_error(404, f"unknown RPC {name!r}")
        caller = bearer_user(world, request)
        if caller is None:
            return json_error(401, "missing, invalid or expired session; log in again")
        request_type, handler = RPCS[name]
        message = request_type()
        try:
            message.ParseFromString(await request.body())
        except DecodeError:
            return json_error(400, f"{name}: body is not a {request_type.__name__}")
        try:
            return protobuf_response(handler(world, caller, message))
        except RpcError as exc:
            return json_error(exc.status, str(exc))

    return [Route("/mezon.api.Mezon/{rpc}", call, methods=["POST"])]
