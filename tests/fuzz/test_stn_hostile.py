"""Hostile STN signalling: each bad message gets the spec's ``error`` reply, then a clean close.

Covers (mezon-streaming.md §6, babelcast semantics: error, then the socket closes): a binary
frame, SDP offers cut anywhere, malformed ICE candidates after a good offer, a publisher that
fails right after its answer; the sandbox's log (the child's stderr, captured by conftest.py and
checked after each test) has no traceback, and signalling still works afterwards. No media flows here (no ICE is completed).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from fuzz_helpers import offer_sdp
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

OFFER = offer_sdp()


def exchange(sandbox, session, frames: list[str | bytes],
             replies: int = 2) -> tuple[list[dict], bool]:
    """Send ``frames``; the decoded replies (up to ``replies``) and whether the socket closed."""
    token = session.token

    async def main() -> tuple[list[dict], bool]:
        got: list[dict] = []
        async with connect(f"{sandbox.stream_url}/ws?token={token}", close_timeout=2) as ws:
            for frame in frames:
                await ws.send(frame)
            try:
                while len(got) < replies:
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            except ConnectionClosed:
                return got, True
        return got, False

    return asyncio.run(main())


def _offer_message(sdp: str) -> str:
    return json.dumps({"Key": "session_subscriber", "Value": {"type": "offer", "sdp": sdp}})


def _assert_error_then_close(replies: list[dict], closed: bool, text: str) -> None:
    assert closed, replies
    assert replies[-1]["Key"] == "error" and text in replies[-1]["Value"], replies


def test_a_binary_frame_gets_an_error_and_a_clean_close(sandbox, session) -> None:
    replies, closed = exchange(sandbox, session, [b"\x00\x01binary", json.dumps({"Key": "get_channels"})])
    assert replies == [{"Key": "error", "Value": replies[0]["Value"]}]
    _assert_error_then_close(replies, closed, "binary frame")


# Where to cut the offer: a few characters past a marker (the offer's length changes from run to
# run with its candidates' ports and its session id, so fixed offsets would sometimes cut at a
# line end and leave a shorter offer that is still valid).
CUTS = [("o=- ", 10), ("m=video", 3), ("a=recvonly", 10), ("a=extmap:", 12),
        ("a=rtpmap:98", 16), ("a=ice-pwd:", 10), ("a=fingerprint:", 20), ("m=audio", 3)]


def _cut(marker: str, past: int) -> str:
    """The offer cut ``past`` characters after the first ``marker``."""
    return OFFER[:OFFER.index(marker) + past]


@pytest.mark.parametrize(("marker", "past"), CUTS, ids=[m for m, _ in CUTS])
def test_a_truncated_offer_gets_an_error_and_a_clean_close(sandbox, session, marker,
                                                           past) -> None:
    replies, closed = exchange(sandbox, session, [_offer_message(_cut(marker, past))])
    _assert_error_then_close(replies, closed, "invalid offer")


@pytest.mark.parametrize("line", ["candidate:", "candidate:1 2", "candidate:1", "1 2 3",
                                  "candidate:a b c d e f g h", "candidate:1 1 udp 1 x 5 typ"])
def test_a_malformed_ice_candidate_gets_an_error_and_a_clean_close(sandbox, session, line) -> None:
    candidate = json.dumps({"Key": "ice_candidate",
                            "Value": {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0}})
    replies, closed = exchange(sandbox, session, [_offer_message(OFFER), candidate], replies=3)
    assert replies[0] == {"Key": "session_received"}
    _assert_error_then_close(replies, closed, "invalid ICE candidate")


def _publisher_offer() -> str:
    return json.dumps({"Key": "session_publisher", "Value": {"type": "offer", "sdp": OFFER}})


def test_a_publisher_closed_right_after_its_answer_leaves_no_failed_task(sandbox, session,
                                                                         server_log) -> None:
    """The answer starts aiortc's ICE connect as a task; a socket that fails at once (here a
    binary frame queued behind the offer) closes the peer connection in the same pass. The
    close must end that task cleanly: aiortc before 1.16 (what Python 3.10 installs) raised
    ``InvalidStateError('RTCIceTransport is closed')`` in it, logged as "Task exception was
    never retrieved". The server writes that log line before it closes the socket, so the
    log is complete once the close arrives."""
    for _ in range(3):
        replies, closed = exchange(sandbox, session, [_publisher_offer(), b"\x00"], replies=3)
        assert [r["Key"] for r in replies] == ["sd_answer", "error"], replies
        _assert_error_then_close(replies, closed, "binary frame")
    text = server_log.read_text(errors="replace")
    assert "never retrieved" not in text and "RTCIceTransport is closed" not in text, \
        text[-3000:]


def test_signalling_still_works_afterwards(sandbox, session) -> None:
    replies, closed = exchange(sandbox, session, [_offer_message(OFFER), json.dumps({"Key": "get_channels"})])
    assert not closed
    assert [r["Key"] for r in replies] == ["session_received", "channels"]
