"""STN signalling envelopes: one JSON text frame per message, ``{Key, ..., Value}``.

The fields are Go's PascalCase names (babelcast lineage, see the streaming spec §2). Parsing is
tolerant: unknown keys and extra fields are ignored, missing ones get defaults. Pure functions,
no I/O; used by the viewer (``mezon_nb.media``) and the sandbox's stream server.

>>> text = encode("connect_subscriber", {"ChannelId": "6"}, ChannelId="6", UserId="1")
>>> msg = decode(text)
>>> (msg.key, msg.channel_id, msg.value)
('connect_subscriber', '6', {'ChannelId': '6'})
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mezon_nb.protocol.jsontext import parse_json

# pion ICEConnectionState numbers carried in ``State`` of ``session_state_changed``.
STATE_CONNECTED = 3
STATE_DISCONNECTED = 5
STATE_CLOSED = 7

_FIELDS = {"ClanId": "clan_id", "ChannelId": "channel_id", "UserId": "user_id",
           "ClientId": "client_id"}


@dataclass(frozen=True)
class StnMessage:
    """One decoded envelope. Ids are strings ('' when absent); ``value`` is any JSON.

    >>> StnMessage("ping").value is None
    True
    """

    key: str
    value: Any = None
    clan_id: str = ""
    channel_id: str = ""
    user_id: str = ""
    client_id: str = ""
    is_publisher: bool = False
    state: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def encode(key: str, value: Any = None, **envelope: Any) -> str:
    """One envelope as JSON text; ``envelope`` holds PascalCase fields (``ChannelId=…``).

    ``None`` values are left out, ``Value`` only when given.

    >>> encode("ping")
    '{"Key": "ping"}'
    >>> encode("session_state_changed", {}, State=3)
    '{"Key": "session_state_changed", "State": 3, "Value": {}}'
    """
    doc: dict[str, Any] = {"Key": key}
    doc.update({k: v for k, v in envelope.items() if v is not None})
    if value is not None:
        doc["Value"] = value
    return json.dumps(doc)


def decode(text: str | bytes) -> StnMessage | None:
    """Parse one frame; ``None`` for anything that is not a JSON object with a string ``Key``.

    >>> decode('{"Key":"channels","Value":["6"],"Surprise":1}').value
    ['6']
    >>> decode("not json") is None
    True
    """
    try:
        doc = parse_json(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("Key"), str):
        return None
    ids = {name: "" if doc.get(k) is None else str(doc[k]) for k, name in _FIELDS.items()}
    state = doc.get("State")
    known = {"Key", "Value", "IsPublisher", "State", *_FIELDS}
    return StnMessage(
        key=doc["Key"], value=doc.get("Value"), **ids,
        is_publisher=bool(doc.get("IsPublisher", False)),
        state=state if isinstance(state, int) else None,
        extra={k: v for k, v in doc.items() if k not in known},
    )


def answer_sdp(value: Any) -> str | None:
    """The SDP of an ``sd_answer``/offer value: a bare string or ``{"sdp": …}``.

    >>> answer_sdp("v=0"), answer_sdp({"type": "answer", "sdp": "v=0"}), answer_sdp(3)
    ('v=0', 'v=0', None)
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("sdp"), str):
        return value["sdp"]
    return None


def error_text(value: Any) -> str:
    """The text of an ``error`` value: a string, ``{message}`` or ``{Error}``.

    >>> error_text({"message": 'channel "6" not found'})
    'channel "6" not found'
    """
    if isinstance(value, dict):
        value = value.get("message", value.get("Error", value))
    return value if isinstance(value, str) else json.dumps(value)


def channel_ids(value: Any) -> dict[str, bool]:
    """Live channels from a ``channels`` value: channel id -> has video.

    Accepts ``["6"]`` and ``[{"ChannelId": "6", "HasVideo": false}]`` (and snake_case forms).

    >>> channel_ids(["6", {"channel_id": 7, "has_video": False}])
    {'6': True, '7': False}
    """
    live: dict[str, bool] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, (str, int)):
            live[str(item)] = True
        elif isinstance(item, dict):
            cid = item.get("ChannelId", item.get("channel_id", item.get("id")))
            if cid is not None:
                live[str(cid)] = bool(item.get("HasVideo", item.get("has_video", True)))
    return live


def candidate_fields(value: Any) -> tuple[str, str | None, int | None] | None:
    """``(candidate line without "candidate:", sdpMid, sdpMLineIndex)`` of an ``ice_candidate``.

    Accepts the ``RTCIceCandidate.toJSON()`` object or that object JSON-encoded as a string;
    ``None`` for an empty (end-of-candidates) or unreadable one.

    >>> candidate_fields({"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
    ...                   "sdpMid": "0", "sdpMLineIndex": 0})
    ('1 1 udp 1 127.0.0.1 5000 typ host', '0', 0)
    >>> candidate_fields({"candidate": ""}) is None
    True
    """
    if isinstance(value, str):
        try:
            value = parse_json(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    line = value.get("candidate")
    if not isinstance(line, str) or not line.strip():
        return None
    index = value.get("sdpMLineIndex")
    mid = value.get("sdpMid")
    return (line.split(":", 1)[1] if line.startswith("candidate:") else line,
            None if mid is None else str(mid), index if isinstance(index, int) else None)


__all__ = ["STATE_CLOSED", "STATE_CONNECTED", "STATE_DISCONNECTED", "StnMessage",
           "answer_sdp", "candidate_fields", "channel_ids", "decode", "encode", "error_text"]
