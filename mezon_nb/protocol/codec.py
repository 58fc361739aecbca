"""Small pure helpers shared by the client and the sandbox: envelopes, ids, JWT claims.

Mezon ids are int64 snowflakes above 2**53, so a float (or JavaScript) cannot hold them.
On the wire they are ints; everywhere a user sees them they are exact decimal strings.

>>> parse_id("1840666462012837888")
1840666462012837888
>>> id_str(1840666462012837888)
'1840666462012837888'
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from google.protobuf.message import DecodeError

from mezon_nb.protocol import realtime_pb2
from mezon_nb.protocol.jsontext import parse_json

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: The Envelope members that are server-pushed events we dispatch, by oneof name.
EVENT_MEMBERS = (
    "streaming_joined_event",
    "streaming_leaved_event",
    "streaming_started_event",
    "streaming_ended_event",
    "channel_message",
    "channel_created_event",
    "channel_deleted_event",
)

_DECIMAL = re.compile(r"-?[0-9]+")  # ASCII digits only: str.isdigit() also takes "٣" and "²"

#: The ``error`` message (code 3) for a chat send on a socket that has not joined the channel.
MUST_JOIN = "Must join channel before sending messages"


def parse_id(value: int | str) -> int:
    """Turn a user-given id (``int`` or decimal ``str``) into the int64 the wire carries.

    >>> parse_id(" 42 ")
    42
    >>> parse_id("٣")                                         # an Arabic-Indic three
    Traceback (most recent call last):
    ...
    ValueError: a Mezon id must be decimal digits, got '٣'
    >>> parse_id(1.5)
    Traceback (most recent call last):
    ...
    TypeError: a Mezon id must be an int or a decimal string, got float
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"a Mezon id must be an int or a decimal string, got {type(value).__name__}")
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL.fullmatch(text):
            raise ValueError(f"a Mezon id must be decimal digits, got {value!r}")
        value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"a Mezon id must fit in int64, got {value}")
    return value


def id_str(value: int | str) -> str:
    """The exact decimal string of an id, as the public API and DataFrames show it.

    >>> id_str("0007")
    '7'
    """
    return str(parse_id(value))


def encode_envelope(envelope: realtime_pb2.Envelope) -> bytes:
    """Serialise one realtime ``Envelope`` into the bytes of one binary WebSocket frame.

    >>> encode_envelope(realtime_pb2.Envelope(cid=3, pong=realtime_pb2.Pong())).hex()
    '0803ba0100'
    """
    return envelope.SerializeToString()


def decode_envelope(data: bytes) -> realtime_pb2.Envelope:
    """Parse one binary frame. Unknown oneof members are kept as unknown fields.

    Raises ``ValueError`` (with the frame size, never its content) when the bytes are not an
    Envelope.

    >>> decode_envelope(bytes.fromhex("0803b20100")).WhichOneof("message")
    'ping'
    >>> decode_envelope(b"\\xff\\x00")
    Traceback (most recent call last):
    ...
    ValueError: not a realtime Envelope (2 bytes)
    """
    envelope = realtime_pb2.Envelope()
    try:
        envelope.ParseFromString(bytes(data))
    except DecodeError as exc:
        raise ValueError(f"not a realtime Envelope ({len(data)} bytes)") from exc
    return envelope


def envelope_member(envelope: realtime_pb2.Envelope) -> str | None:
    """The name of the oneof member that is set, or ``None`` for one we do not define.

    >>> envelope_member(decode_envelope(bytes.fromhex("0803b20100")))
    'ping'
    >>> envelope_member(decode_envelope(bytes.fromhex("0801e206020801")))  # member 108: unknown
    """
    return envelope.WhichOneof("message")


#: The largest chat ``content`` (UTF-8 bytes of the JSON string) the client sends. The protocol
#: gives no limit; this one keeps a frame far below the 16 MiB WebSocket message limit both ends
#: use (a frame over it makes the server close the socket, code 1009).
MAX_CONTENT_BYTES = 1_000_000


def text_content(text: str) -> str:
    """A chat message's ``content`` for plain text: the JSON string ``{"t": text}``, compact,
    non-ASCII kept as is (what the SDKs' ``JSON.stringify`` sends).

    >>> text_content("Welcome alice to the stream!")
    '{"t":"Welcome alice to the stream!"}'
    """
    return json.dumps({"t": text}, ensure_ascii=False, separators=(",", ":"))


def content_text(content: str) -> str:
    """The text of a chat message's JSON ``content`` (its ``"t"``); ``""`` when the content is
    not a JSON object with a string ``"t"`` (attachments only, malformed). Never raises.

    >>> content_text('{"t":"hi from the stream"}')
    'hi from the stream'
    >>> content_text("{not json"), content_text('{"lk": []}'), content_text('"t"')
    ('', '', '')
    """
    try:
        value = parse_json(content)
    except (ValueError, TypeError):
        return ""
    text = value.get("t") if isinstance(value, dict) else None
    return text if isinstance(text, str) else ""


def jwt_claims(token: str) -> dict[str, Any]:
    """Read a JWT's payload without checking its signature, as every Mezon client does.

    Raises ``ValueError`` without echoing the token when it is not a three-part JWT.

    >>> jwt_claims("x.eyJleHAiOjEwfQ.y")
    {'exp': 10}
    >>> jwt_claims("secret")
    Traceback (most recent call last):
    ...
    ValueError: the session token is not a JWT (expected three dot-separated parts)
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("the session token is not a JWT (expected three dot-separated parts)")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = parse_json(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        raise ValueError("the session token's payload is not base64 JSON") from None
    if not isinstance(claims, dict):  # a bad token is a bad value, not a caller's type error
        raise ValueError("the session token's payload is not a JSON object")  # noqa: TRY004
    return claims
