"""Our generated protobuf modules against the golden vectors made with the upstream protos.

Every vector must decode to exactly its ``fields`` (protobuf JSON mapping, proto field names,
int64 as decimal strings) and encode back to exactly its ``hex``. Not covered here: the socket
and HTTP layers (tests/client, tests/sandbox).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import json_format, symbol_database, unknown_fields

from mezon_nb.protocol import api_pb2, codec, realtime_pb2  # noqa: F401  (registers the types)

ROOT = Path(__file__).resolve().parents[2]


def message_class(full_name: str):
    return symbol_database.Default().GetSymbol(full_name)


def test_decoding_gives_exactly_the_fields(wire_vector):
    message = message_class(wire_vector["type"])()
    message.ParseFromString(bytes.fromhex(wire_vector["hex"]))
    decoded = json_format.MessageToDict(message, preserving_proto_field_name=True)
    assert decoded == wire_vector["fields"]
    assert len(unknown_fields.UnknownFieldSet(message)) == 0, "a vector field is missing from our .proto"


def test_encoding_gives_exactly_the_hex(wire_vector):
    message = json_format.ParseDict(wire_vector["fields"], message_class(wire_vector["type"])())
    assert message.SerializeToString().hex() == wire_vector["hex"]


def test_vectors_cover_every_streaming_event(wire_vectors):
    names = set(wire_vectors)
    assert {"env_streaming_joined", "env_streaming_leaved", "env_streaming_started",
            "env_streaming_ended"} <= names


def test_ids_above_2_pow_53_stay_exact(wire_vectors):
    joined = wire_vectors["env_streaming_joined"]
    envelope = codec.decode_envelope(bytes.fromhex(joined["hex"]))
    event = envelope.streaming_joined_event
    assert event.clan_id > 2**53
    assert codec.id_str(event.clan_id) == joined["fields"]["streaming_joined_event"]["clan_id"]


def test_unknown_envelope_member_decodes_without_error():
    # cid 1 plus member 108 (not in our subset), a length-delimited body of two bytes.
    envelope = codec.decode_envelope(bytes.fromhex("0801e206020801"))
    assert envelope.cid == 1
    assert codec.envelope_member(envelope) is None


def test_garbage_is_a_value_error_not_a_crash():
    with pytest.raises(ValueError, match="not a realtime Envelope"):
        codec.decode_envelope(b"\xff\xff\xff")


def test_generated_modules_are_current():
    """`make proto` output equals the committed *_pb2 files (needs the dev extra)."""
    pytest.importorskip("grpc_tools", reason="grpcio-tools comes with the dev extra")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--check"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
