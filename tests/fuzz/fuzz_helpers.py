"""Seeded generators of hostile input for the fuzz tier (imported by name: tests/ has no
packages), and the scale knob.

Every generator draws from one ``random.Random(seed)``, so a failure names its seed and case
number and replays exactly. Cases mix well-formed messages with odd values (edge integers,
odd Unicode, lone surrogates), mutations of them (truncated, bytes flipped, fields appended)
and plain garbage, so both the parsers and the handlers behind them are reached.

``MEZON_FUZZ_SCALE`` (default 1) multiplies every case count, for a longer campaign by hand.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from typing import Any

from aiortc import RTCPeerConnection
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from mezon_nb.protocol import api_pb2, realtime_pb2

SCALE = max(1, int(os.environ.get("MEZON_FUZZ_SCALE", "1")))

#: What the sandbox's log must never hold after hostile input.
LOG_ALARMS = ("Traceback", "Exception in ASGI", "ERROR", "exception was never retrieved",
              "socket.send() raised")

_INTS = (0, 1, -1, 2, 7, 255, 2**31 - 1, -(2**31), 2**32 - 1, 2**53 + 1, 2**63 - 1, -(2**63))
_TEXTS = ("", " ", "a", "0", "-1", "٣", "²", "1e400", "NaN", "null", "\x00", "\u202e", "💥",
          "\ud800", "é" * 300, "{", '{"t":"x"}', "candidate:", "v=0", "../../etc/passwd")


def cases(count: int) -> int:
    """``count`` times :data:`SCALE`.

    >>> cases(10) >= 10
    True
    """
    return count * SCALE


def offer_sdp() -> str:
    """A real SDP offer (video + audio, receive only) from aiortc, to cut and mutate.

    >>> offer_sdp().startswith("v=0")
    True
    """
    async def make() -> str:
        pc = RTCPeerConnection()
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    return asyncio.run(make())


def log_alarms(text: str) -> list[str]:
    """The lines of a server log that look like an uncaught exception or error.

    >>> log_alarms("INFO: fine\\nERROR: Exception in ASGI application\\n")
    ['ERROR: Exception in ASGI application']
    """
    return [line for line in text.splitlines() if any(a in line for a in LOG_ALARMS)]


class Fuzz:
    """One seeded source of hostile values.

    >>> Fuzz(1).json_body() == Fuzz(1).json_body()
    True
    """

    def __init__(self, seed: int, ids: tuple[int, ...] = ()) -> None:
        self.rng = random.Random(seed)
        self.ids = ids  # real ids (clans, channels): int64 fields take one now and then

    # -- scalars and JSON -------------------------------------------------------------------

    def text(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.4:
            return rng.choice(_TEXTS)
        if roll < 0.8:
            return "".join(chr(rng.choice((rng.randrange(32, 127), rng.randrange(0x80, 0x3000))))
                           for _ in range(rng.randrange(0, 40)))
        return str(rng.choice(_INTS))

    def number(self) -> Any:
        return self.rng.choice((*_INTS, 0.5, -0.0, 1e300, -1e300, 5e-324, 10**400))

    def scalar(self) -> Any:
        return self.rng.choice((self.text, self.number, lambda: None, lambda: True,
                                lambda: False))()

    def json_value(self, depth: int = 0) -> Any:
        roll = self.rng.random()
        if depth > 3 or roll < 0.5:
            return self.scalar()
        if roll < 0.75:
            return [self.json_value(depth + 1) for _ in range(self.rng.randrange(0, 4))]
        return {self.text(): self.json_value(depth + 1) for _ in range(self.rng.randrange(0, 4))}

    def params(self, keys: tuple[str, ...]) -> dict[str, Any]:
        """A JSON object using some of ``keys`` (and a stray one), with hostile values."""
        chosen = self.rng.sample(keys, self.rng.randrange(0, len(keys) + 1))
        out = {key: self.json_value(2) for key in chosen}
        if self.rng.random() < 0.2:
            out[self.text()] = self.json_value()
        return out

    def json_bytes(self, value: Any) -> bytes:
        """``value`` as JSON (non-finite floats and huge ints included), sometimes broken."""
        try:
            text = json.dumps(value)
        except ValueError:  # an int with too many digits for str()
            text = "1" + "0" * 5000
        data = text.encode("utf-8", "surrogatepass")
        return self.mutate(data) if self.rng.random() < 0.2 else data

    def raw_json(self) -> bytes:
        """A body that breaks JSON parsers: nesting, constants, odd encodings, truncation."""
        depth = self.rng.choice((10, 1000, 50_000))
        return self.rng.choice((
            b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth,
            b"NaN", b"[Infinity, -Infinity]", b'{"count": 1e400}', b'{"limit": -1e999}',
            b"\xef\xbb\xbf{}", b"\xff\xfe\x00{", "{\"t\": \"\ud800\"}".encode("utf-8", "replace"),
            b'{"count": ' + b"9" * 5000 + b"}", b"", b"   ", b"{", b"null", b"[]", b'"s"',
        ))

    def json_body(self) -> bytes:
        return self.raw_json() if self.rng.random() < 0.3 else self.json_bytes(self.json_value())

    # -- bytes and protobuf -----------------------------------------------------------------

    def mutate(self, data: bytes) -> bytes:
        rng, data = self.rng, bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            op = rng.randrange(4)
            if op == 0 and data:
                del data[rng.randrange(len(data)):]
            elif op == 1 and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif op == 2:
                data[rng.randrange(len(data) + 1):0] = rng.randbytes(rng.randrange(1, 12))
            else:
                data += rng.choice((b"\xff" * 11, b"\x0a\xff\xff\xff\xff\x0f", b"\x08",
                                    b"\xe2\x06\x02\x08\x01", b"\x12" + b"\x12\x01" * 60))
        return bytes(data)

    def fill(self, message: Message, depth: int = 0) -> Message:
        """Set a random subset of ``message``'s fields to edge values, recursively."""
        rng = self.rng
        for field in message.DESCRIPTOR.fields:
            if rng.random() < 0.4 or (field.message_type is not None
                                      and field.message_type.GetOptions().map_entry):
                continue  # (maps are left out: no field the server reads is one)
            repeated = field.is_repeated
            for _ in range(rng.randrange(1, 3) if repeated else 1):
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    if depth < 3:
                        target = (getattr(message, field.name).add() if repeated
                                  else getattr(message, field.name))
                        self.fill(target, depth + 1)
                        if not repeated and not target.ByteSize():
                            target.SetInParent()
                    continue
                value = self._field_value(field)
                if repeated:
                    getattr(message, field.name).append(value)
                else:
                    setattr(message, field.name, value)
        return message

    def _field_value(self, field: FieldDescriptor) -> Any:
        rng, kind = self.rng, field.type
        if kind == FieldDescriptor.TYPE_BOOL:
            return rng.random() < 0.5
        if kind == FieldDescriptor.TYPE_STRING:
            text = self.text()
            return text.encode("utf-8", "replace").decode("utf-8", "replace")
        if kind == FieldDescriptor.TYPE_BYTES:
            return rng.randbytes(rng.randrange(0, 20))
        if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
            return rng.choice((0, 1, 2**31, 2**32 - 1))
        if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
            return rng.choice((0, 1, 2**63, 2**64 - 1))
        if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32,
                    FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_ENUM):
            return rng.choice((0, 1, 2, 3, 6, -1, 2**31 - 1, -(2**31)))
        if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return rng.choice((0.0, -1.0, float("inf"), float("nan")))
        if self.ids and rng.random() < 0.4:
            return rng.choice(self.ids)
        return rng.choice(_INTS[:11] + (-(2**63),))  # int64 family

    def envelope(self, cid: int | None = None) -> realtime_pb2.Envelope:
        """A realtime Envelope with one random member filled with edge values."""
        member = self.rng.choice(realtime_pb2.Envelope.DESCRIPTOR.oneofs_by_name["message"].fields)
        envelope = realtime_pb2.Envelope(cid=self.rng.choice((0, 1, 2**31 - 1, -1))
                                         if cid is None else cid)
        self.fill(getattr(envelope, member.name))
        getattr(envelope, member.name).SetInParent()
        return envelope

    def envelope_frame(self, cid: int | None = None) -> bytes:
        """One binary frame: a weird Envelope, a mutated one, or garbage."""
        roll = self.rng.random()
        data = self.envelope(cid).SerializeToString()
        if roll < 0.6:
            return data
        if roll < 0.9:
            return self.mutate(data)
        return self.rng.randbytes(self.rng.randrange(0, 64))

    def rpc_body(self, request_type: type[Message]) -> bytes:
        data = self.fill(request_type()).SerializeToString()
        return self.mutate(data) if self.rng.random() < 0.4 else data

    # -- STN signalling ---------------------------------------------------------------------

    def stn_frame(self, offer: str) -> str | bytes:
        """One STN signalling frame: a known key with a hostile value, or worse."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:
            return rng.randbytes(rng.randrange(1, 40))  # binary
        if roll < 0.15:
            return self.raw_json().decode("utf-8", "replace")
        key = rng.choice(("get_channels", "ping", "session_subscriber", "connect_subscriber",
                          "session_state_changed", "ice_candidate", "set_rendition",
                          "session_publisher", "connect_publisher", "stop_publisher",
                          "subscriber_left", self.text()))
        doc: dict[str, Any] = {"Key": key}
        if key in ("session_subscriber", "session_publisher") and rng.random() < 0.7:
            sdp = offer[:rng.randrange(len(offer))] if rng.random() < 0.7 else \
                self.mutate(offer.encode()).decode("utf-8", "replace")
            doc["Value"] = {"type": "offer", "sdp": sdp} if rng.random() < 0.8 else sdp
        elif key == "ice_candidate":
            line = rng.choice(("candidate:", "candidate:1 2", "", "candidate:1 1 udp 1 x 5 typ",
                               "candidate:a b c d e f g h", self.text()))
            doc["Value"] = rng.choice(({"candidate": line, "sdpMid": self.scalar(),
                                        "sdpMLineIndex": self.scalar()}, line,
                                       json.dumps({"candidate": line})))
        elif key == "connect_publisher":
            doc["Value"] = {"ChannelId": self.scalar(), "FileUrl": self.text()}
        else:
            doc["Value"] = self.json_value()
        for name in rng.sample(("ChannelId", "ClanId", "UserId", "State", "IsPublisher"),
                               rng.randrange(0, 3)):
            doc[name] = self.scalar()
        return json.dumps(doc)


#: The RPC request types the sandbox serves, for the RPC fuzzer.
RPC_REQUESTS = {
    "ListClanDescs": api_pb2.ListClanDescRequest,
    "ListChannelDescs": api_pb2.ListChannelDescsRequest,
    "ListChannelDetail": api_pb2.ListChannelDetailRequest,
    "ListStreamingChannelUsers": api_pb2.ListChannelUsersRequest,
    "RegisterStreamingChannel": api_pb2.RegisterStreamingChannelRequest,
}
