"""Fuzz tier, server side: seeded hostile input at every surface of one sandbox child.

Covers: the login (1 500 bodies), the RPCs (2 500 calls: odd and mutated protobuf bodies, bad
sessions), the controls (2 000: every action, hostile parameters, broken JSON), the realtime
socket (3 000 frames on one socket), STN signalling (1 000 frames, a new socket whenever one
is closed). Asserted: no 5xx, every 4xx carries a message, the realtime socket answers in order
and stays open, an STN socket only closes after an ``error`` reply and with a normal close, the
sandbox's log has no uncaught exception (conftest, after each test), and it still serves.
Counts scale with ``MEZON_FUZZ_SCALE``.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from fuzz_helpers import RPC_REQUESTS, Fuzz, cases, offer_sdp
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from mezon_nb.protocol import api_pb2, codec, realtime_pb2
from mezon_nb.sandbox.control import ACTIONS, ADMIN_HEADER

LOGIN = "/v2/apps/authenticate/token"
PROBE_CID = 123_456_789  # never drawn by the fuzzer (its cids are 0, 1, 2**31 - 1, -1)
CONTENT_TYPES = ("application/json", "application/proto", "application/x-protobuf",
                 "text/plain", "", "application/json; charset=utf-16")


class Verdicts:
    """Collects what went wrong (seeded case numbers), so one run reports every failure."""

    def __init__(self) -> None:
        self.bad: list[str] = []
        self.count = 0

    def check(self, case: int, reply: httpx.Response, what: str) -> None:
        self.count += 1
        if reply.status_code >= 500:
            self.bad.append(f"case {case} {what}: HTTP {reply.status_code} {reply.text[:200]}")
        elif reply.status_code >= 400:
            try:
                message = reply.json().get("message")
            except (ValueError, AttributeError):
                message = None
            if not message:
                self.bad.append(f"case {case} {what}: {reply.status_code} without a message")

    def assert_clean(self, expected: int) -> None:
        assert self.count == expected
        assert not self.bad, "\n".join(self.bad[:20])


def test_login_bodies(sandbox) -> None:
    fuzz, verdicts, n = Fuzz(101), Verdicts(), cases(1500)
    with httpx.Client(base_url=sandbox.api_url, timeout=30) as http:
        for case in range(n):
            roll = fuzz.rng.random()
            if roll < 0.5:
                account = {"appid": fuzz.rng.choice((sandbox.bot_id, fuzz.scalar())),
                           "token": fuzz.rng.choice((sandbox.bot_token, fuzz.scalar()))}
                body = fuzz.json_bytes({"account": fuzz.rng.choice((account, fuzz.json_value()))})
            else:
                body = fuzz.json_body()
            reply = http.post(LOGIN, content=body,
                              headers={"Content-Type": fuzz.rng.choice(CONTENT_TYPES)})
            verdicts.check(case, reply, f"login {body[:60]!r}")
    verdicts.assert_clean(n)


def _real_ids(sandbox) -> tuple[int, ...]:
    return (int(sandbox.clan_id), int(sandbox.stream_channel_id), int(sandbox.bot_id))


def test_rpc_calls(sandbox, session) -> None:
    fuzz, verdicts, n = Fuzz(202, _real_ids(sandbox)), Verdicts(), cases(2500)
    auths = (f"Bearer {session.token}", f"Bearer {session.session_id}", "Bearer", "Basic x",
             "Bearer a.b.c", "")
    with httpx.Client(base_url=sandbox.api_url, timeout=30) as http:
        for case in range(n):
            name = fuzz.rng.choice((*RPC_REQUESTS, "Nope", "listclandescs"))
            roll = fuzz.rng.random()
            if name in RPC_REQUESTS and roll < 0.7:
                body = fuzz.rpc_body(RPC_REQUESTS[name])
            elif roll < 0.85:
                body = fuzz.json_body()
            else:
                body = fuzz.rng.randbytes(fuzz.rng.randrange(0, 80))
            auth = fuzz.rng.choice(auths[:2]) if fuzz.rng.random() < 0.8 else \
                fuzz.rng.choice(auths)
            reply = http.post(f"/mezon.api.Mezon/{name}", content=body, headers={
                "Authorization": auth, "Content-Type": "application/proto"})
            verdicts.check(case, reply, f"{name} {body[:40]!r}")
    verdicts.assert_clean(n)


def test_control_actions(sandbox) -> None:
    fuzz, verdicts, n = Fuzz(303), Verdicts(), cases(2000)
    keys = ("channel_id", "user_id", "name", "text", "count", "since", "limit", "live")
    real_ids = (sandbox.stream_channel_id, sandbox.clan_id, sandbox.bot_id)
    with httpx.Client(base_url=sandbox.api_url, timeout=30) as http:
        for case in range(n):
            action = fuzz.rng.choice((*ACTIONS, "nope"))
            key = sandbox.admin_key if fuzz.rng.random() < 0.9 else \
                "".join(c for c in fuzz.text() if " " < c < "\x7f")  # what a header can hold
            headers = {ADMIN_HEADER: key,
                       "Content-Type": "application/json"}
            params = fuzz.params(keys)
            if "channel_id" in params and fuzz.rng.random() < 0.5:
                params["channel_id"] = fuzz.rng.choice(real_ids)
            if action == "post_message" and fuzz.rng.random() < 0.5:
                params["text"] = fuzz.text()
            if action == "emits":  # keep replies small: the emit log grows all run long
                params["limit"] = fuzz.rng.choice((-1, 0, 1, 5, "3", "x", None, [], 1.5, 1e400))
            if fuzz.rng.random() < 0.15 and action in ("state", "emits"):
                query = {k: str(v)[:40].encode("utf-8", "replace").decode() for k, v in params.items()}
                reply = http.get(f"/sandbox/{action}", params=query, headers=headers)
            else:
                body = fuzz.json_bytes(params) if fuzz.rng.random() < 0.75 else fuzz.json_body()
                reply = http.post(f"/sandbox/{action}", content=body, headers=headers)
            verdicts.check(case, reply, f"{action} {params!r:.120}")
    verdicts.assert_clean(n)


def test_realtime_frames(sandbox, session) -> None:
    fuzz, n = Fuzz(404, _real_ids(sandbox)), cases(3000)

    async def main() -> tuple[int, realtime_pb2.Envelope]:
        url = f"{sandbox.ws_url}/ws?token={session.token}&format=protobuf"
        async with connect(url, max_size=None, close_timeout=2) as ws:
            for case in range(n):
                if fuzz.rng.random() < 0.03:
                    await ws.send(fuzz.text().encode("utf-8", "replace").decode() or "x")  # text
                else:
                    await ws.send(fuzz.envelope_frame())
            probe = realtime_pb2.Envelope(cid=PROBE_CID, ping=realtime_pb2.Ping())
            await ws.send(codec.encode_envelope(probe))
            received = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                reply = codec.decode_envelope(await asyncio.wait_for(ws.recv(), 30))
                received += 1
                if reply.cid == PROBE_CID:
                    return received, reply
            raise AssertionError("no pong to the probe within 60 s")

    received, pong = asyncio.run(main())
    assert pong.WhichOneof("message") == "pong"
    assert received >= n + 1  # one reply per frame (in order), events besides


def test_stn_signalling(sandbox, session) -> None:
    fuzz, n, offer = Fuzz(505), cases(1000), offer_sdp()
    probe = json.dumps({"Key": "get_channels"})
    bad: list[str] = []

    async def main() -> int:
        url = f"{sandbox.stream_url}/ws?token={session.token}"
        opened = 0
        ws = None
        for case in range(n):
            if ws is None:
                ws = await connect(url, close_timeout=2)
                opened += 1
            frame = fuzz.stn_frame(offer)
            replies = []
            try:
                await ws.send(frame)
                await ws.send(probe)
            except ConnectionClosed:  # closed by the reply to ``frame``: read what it said
                pass
            try:
                while True:
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    replies.append(reply)
                    if reply.get("Key") == "channels":
                        break
            except ConnectionClosed:
                if not replies or replies[-1].get("Key") != "error" or ws.close_code != 1000:
                    bad.append(f"case {case}: closed ({ws.close_code}) after {replies} "
                               f"for {str(frame)[:120]!r}")
                ws = None
        if ws is not None:
            await ws.close()
        return opened

    opened = asyncio.run(main())
    assert not bad, "\n".join(bad[:20])
    assert opened >= 1


def test_the_server_still_serves_every_surface(sandbox, session) -> None:
    reply = httpx.post(f"{sandbox.api_url}/mezon.api.Mezon/ListClanDescs",
                       content=api_pb2.ListClanDescRequest(limit=100).SerializeToString(),
                       headers={"Authorization": f"Bearer {session.token}",
                                "Content-Type": "application/proto"})
    assert reply.status_code == 200 and api_pb2.ClanDescList.FromString(reply.content).clandesc
    assert sandbox.control("state")["clans"]

    async def sockets() -> tuple[str, str]:
        async with connect(f"{sandbox.ws_url}/ws?token={session.token}") as ws:
            await ws.send(codec.encode_envelope(realtime_pb2.Envelope(
                cid=PROBE_CID, ping=realtime_pb2.Ping())))
            while (pong := codec.decode_envelope(await asyncio.wait_for(ws.recv(), 10))
                   ).cid != PROBE_CID:
                pass
        async with connect(f"{sandbox.stream_url}/ws?token={session.token}") as stn:
            await stn.send(json.dumps({"Key": "get_channels"}))
            channels = json.loads(await asyncio.wait_for(stn.recv(), 10))
        return pong.WhichOneof("message"), channels["Key"]

    assert asyncio.run(sockets()) == ("pong", "channels")


@pytest.fixture(autouse=True)
def _timed(request) -> None:
    """Print each fuzzer's wall time (``pytest -s``): the tier's budget is about a minute."""
    start = time.monotonic()
    yield
    print(f"\n[fuzz] {request.node.name}: {time.monotonic() - start:.1f} s")
