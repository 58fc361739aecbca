"""``/sandbox/<action>``: test and benchmark controls, guarded by ``X-Sandbox-Key``.

Every endpoint needs the header ``X-Sandbox-Key: <admin_key>`` (403 otherwise), takes its
parameters as a JSON object body (ids as decimal strings or ints) and replies JSON with ids as
decimal strings. ``Sandbox.control(action, **params)`` calls them.

=====================  ======================================================================
action                 what it does
=====================  ======================================================================
``add_viewer``         ``{channel_id?, user_id?, name?}``: a viewer joins a stream (default:
                       a new guest in the main stream) → ``{user_id, channel_id, event_id}``
``remove_viewer``      ``{user_id}``: that viewer leaves its stream → ``{removed, event_id}``
``post_message``       ``{text, channel_id?, user_id?, name?}``: a viewer (default: a new
                       guest) says ``text`` in the channel's chat (default: the main stream),
                       pushed to the sockets that joined it → ``{message_id, user_id,
                       channel_id}``
``burst``              ``{count, channel_id?}``: ``count`` events as fast as possible, guests
                       joining then leaving in turn → ``{events: [{id, kind, user_id,
                       channel_id, time}]}`` (``time`` is the emit ``time.time()``)
``emits``              ``{since?, limit?}`` (also GET with a query): the emit log of every
                       streaming event → ``{events: [...]}``
``pause_crowd``        freeze the synthetic crowd → ``{paused: true}``
``resume_crowd``       let it go on → ``{paused: false}``
``drop_sockets``       cut every realtime socket without a close frame → ``{dropped}``
``set_live``           ``{channel_id, live}``: push streaming started (55) / ended (56)
``state``              (also GET) channels, ``other_clans`` (clans the bot is not in, with
                       their channels), presence, live channels, socket count, crowd,
                       and the stream server's ``stream``: signalling sockets, video codec,
                       packet loss, and per live channel its publishing user, viewer count
                       and ``video_stats`` (packets, keyframes, forced ones, requests)
``drop_packets``       ``{share, seconds, retransmissions?}``: drop that share (0..1) of every
                       viewer's outgoing video RTP packets for that long (at most 600 s), to
                       test recovery; what it drops is lost for good (resends of it too),
                       unless ``retransmissions: false`` spares the packets resent for a
                       NACK → the stream server's ``loss`` (``active``, ``dropped``, …)
=====================  ======================================================================

>>> sorted(ACTIONS)[:4]
['add_viewer', 'burst', 'drop_packets', 'drop_sockets']
"""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mezon_nb.protocol.codec import parse_id, text_content
from mezon_nb.protocol.enums import ChannelType
from mezon_nb.protocol.jsontext import parse_json
from mezon_nb.sandbox.crowd import Crowd
from mezon_nb.sandbox.responses import json_error
from mezon_nb.sandbox.stn.server import StreamServer
from mezon_nb.sandbox.world import World

ADMIN_HEADER = "X-Sandbox-Key"
BURST_LIMIT = 100_000
_YIELD_EVERY = 500  # burst events between two event-loop turns

Params = dict[str, Any]


class Controls:
    """The control actions on one world and its (optional) crowd; see the table above.

    >>> from mezon_nb.sandbox.config import SandboxConfig
    >>> controls = Controls(World(SandboxConfig()), crowd=None)
    >>> asyncio.run(controls.run("add_viewer", {"name": "Ann"}))["event_id"] is not None
    True
    >>> asyncio.run(controls.run("state", {}))["presence"][0]["participant"]
    'Ann'
    """

    def __init__(self, world: World, crowd: Crowd | None,
                 stream: StreamServer | None = None) -> None:
        self.world = world
        self.crowd = crowd
        self.stream = stream

    async def run(self, action: str, params: Params) -> Params:
        """Do one action; ``KeyError`` for an unknown one, ``ValueError``/``LookupError`` for
        bad parameters.

        >>> from mezon_nb.sandbox.config import SandboxConfig
        >>> asyncio.run(Controls(World(SandboxConfig()), None).run("drop_sockets", {}))
        {'dropped': 0}
        """
        if action not in ACTIONS:
            raise KeyError(action)
        return await getattr(self, f"_{action}")(params)

    def _streaming_channel_id(self, params: Params) -> int:
        channel_id = parse_id(params.get("channel_id", self.world.directory.stream_channel_id))
        channel = self.world.channel(channel_id)
        if channel is None or channel.type != ChannelType.STREAMING:
            raise LookupError(f"channel {channel_id} is not a streaming channel")
        return channel_id

    def _user_id(self, params: Params) -> int:
        """The ``user_id`` parameter, else a new guest named ``name``."""
        if "user_id" in params:
            return parse_id(params["user_id"])
        return self.world.add_guest(params.get("name")).user_id

    async def _add_viewer(self, params: Params) -> Params:
        channel_id = self._streaming_channel_id(params)
        user_id = self._user_id(params)
        name = params.get("name") or self.world.user_name(user_id)
        event_id = self.world.stream_join(channel_id, user_id, name)
        return {"user_id": str(user_id), "channel_id": str(channel_id), "event_id": _id(event_id)}

    async def _remove_viewer(self, params: Params) -> Params:
        user_id = parse_id(params["user_id"])
        rows = [row for row in self.world.presence() if row.user_id == user_id]
        event_id = self.world.stream_leave(rows[0].channel_id, user_id) if rows else None
        return {"removed": bool(rows), "event_id": _id(event_id)}

    async def _post_message(self, params: Params) -> Params:
        text = params["text"]
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        channel_id = self._streaming_channel_id(params)
        user_id = self._user_id(params)
        message = self.world.post_message(channel_id, user_id, text_content(text))
        return {"message_id": str(message.message_id), "user_id": str(user_id),
                "channel_id": str(channel_id)}

    async def _burst(self, params: Params) -> Params:
        count = int(params.get("count", 100))
        if not 0 < count <= BURST_LIMIT:
            raise ValueError(f"count must be between 1 and {BURST_LIMIT}")
        channel_id = self._streaming_channel_id(params)
        records = []
        guest = None
        for index in range(count):
            if guest is None:
                guest = self.world.add_guest()
                self.world.stream_join(channel_id, guest.user_id, guest.display_name)
            else:
                self.world.stream_leave(channel_id, guest.user_id)
                guest = None
            records.append(self.world.emits[-1])
            if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)
        return {"events": [record.as_json() for record in records]}

    async def _emits(self, params: Params) -> Params:
        since = float(params.get("since", 0.0))
        limit = int(params.get("limit", 10_000))
        if limit < 0:
            raise ValueError("limit must be 0 or more")
        records = [record.as_json() for record in self.world.emits if record.time >= since]
        return {"events": records[:limit]}

    async def _pause_crowd(self, params: Params) -> Params:
        if self.crowd is not None:
            self.crowd.pause()
        return {"paused": self.crowd is not None and self.crowd.paused}

    async def _resume_crowd(self, params: Params) -> Params:
        if self.crowd is not None:
            self.crowd.resume()
        return {"paused": self.crowd is not None and self.crowd.paused}

    async def _drop_sockets(self, params: Params) -> Params:
        return {"dropped": self.world.hub.abort_all()}

    async def _set_live(self, params: Params) -> Params:
        channel_id = self._streaming_channel_id(params)
        if params.get("live", True):
            self.world.stream_started(channel_id)
        else:
            self.world.stream_ended(channel_id)
        return {"channel_id": str(channel_id), "live": self.world.is_live(channel_id)}

    async def _drop_packets(self, params: Params) -> Params:
        if self.stream is None:
            raise LookupError("this sandbox has no stream server")
        now = time.monotonic()
        self.stream.loss.start(params["share"], params["seconds"], now,
                               params.get("retransmissions", True))
        return self.stream.loss.stats(now)

    async def _state(self, params: Params) -> Params:
        world, crowd = self.world, self.crowd
        return {
            "clans": [{"clan_id": str(c.clan_id), "clan_name": c.clan_name}
                      for c in world.directory.clans],
            "channels": [{"channel_id": str(c.channel_id), "clan_id": str(c.clan_id),
                          "label": c.label, "type": c.type} for c in world.directory.channels],
            "other_clans": [  # clans the bot is not a member of: the server refuses it there
                {"clan_id": str(c.clan_id), "clan_name": c.clan_name, "channels": [
                    {"channel_id": str(ch.channel_id), "label": ch.label, "type": ch.type}
                    for ch in world.directory.channels_of(c.clan_id)]}
                for c in world.directory.other_clans],
            "presence": [{"user_id": str(p.user_id), "channel_id": str(p.channel_id),
                          "participant": p.participant, "since": p.since}
                         for p in world.presence()],
            "live": [str(channel_id) for channel_id in world.live_channels()],
            "sockets": world.hub.connection_count,
            "crowd": None if crowd is None else {"paused": crowd.paused, "steps": crowd.steps_done},
            "stream": None if self.stream is None else self.stream.summary(),
        }


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


#: Action names: the URL segment, and ``Controls._<name>``.
ACTIONS = (
    "add_viewer", "remove_viewer", "post_message", "burst", "emits", "pause_crowd", "resume_crowd",
    "drop_sockets", "set_live", "state", "drop_packets",
)
READ_ONLY_ACTIONS = ("emits", "state")


def control_routes(controls: Controls, admin_key: str) -> list[Route]:
    """The ``/sandbox/{action}`` route; requests without the right key get 403.

    >>> [route.path for route in control_routes(None, "k")]
    ['/sandbox/{action}']
    """

    async def control(request: Request) -> Response:
        given = request.headers.get(ADMIN_HEADER, "")
        if not hmac.compare_digest(given.encode(), admin_key.encode()):
            return json_error(403, f"missing or wrong {ADMIN_HEADER} header")
        action = request.path_params["action"]
        if action not in ACTIONS:
            return json_error(404, f"unknown sandbox action {action!r}")
        if request.method == "GET" and action not in READ_ONLY_ACTIONS:
            return json_error(405, f"{action} needs POST")
        try:
            if request.method == "GET":
                params: Params = dict(request.query_params)
            else:
                body = await request.body()
                params = parse_json(body) if body.strip() else {}
            if not isinstance(params, dict):
                raise TypeError("parameters must be a JSON object")
            return JSONResponse(await controls.run(action, params))
        except KeyError as exc:
            return json_error(400, f"missing parameter {exc}")
        except LookupError as exc:
            return json_error(404, str(exc))
        except (ValueError, TypeError) as exc:
            return json_error(400, str(exc))

    return [Route("/sandbox/{action}", control, methods=["GET", "POST"])]
