"""Bot login: ``POST /v2/apps/authenticate/token`` (spec §1, §6.1).

Not covered here: session expiry (``test_sandbox_rpc.py``).
"""

from __future__ import annotations

import time

import httpx

from mezon_nb.protocol import api_pb2, jwt_claims
from mezon_nb.sandbox import Sandbox

LOGIN = "/v2/apps/authenticate/token"


def test_login_reply_pins_every_session_field(sandbox: Sandbox, login) -> None:
    """Every field of ``mezon.api.Session`` (spec §1.2 table, §6.1), what must be empty too."""
    session = login(sandbox)
    assert [field.name for field in session.DESCRIPTOR.fields] == [
        "created", "token", "refresh_token", "user_id", "is_remember", "api_url", "id_token",
        "ws_url", "session_id", "tcp_url"]
    assert session.created is False
    assert str(session.user_id) == sandbox.bot_id and session.user_id > 2**53
    assert session.is_remember is False
    assert session.api_url == sandbox.api_url == f"http://127.0.0.1:{sandbox.port}"
    assert session.id_token == ""
    # host[:port], no scheme: the TS SDK dials scheme + ws_url + "/ws?..." (spec §3.1).
    assert session.ws_url == f"127.0.0.1:{sandbox.port}"
    assert "://" not in session.ws_url
    assert session.session_id and "." not in session.session_id  # opaque, not a JWT
    assert session.tcp_url == ""  # no abridged TCP transport here
    for token in (session.token, session.refresh_token):
        claims = jwt_claims(token)
        # spec §1.3, §6.1: exp, uid, usn, vrs; plus Nakama's token id (clients ignore it)
        assert set(claims) == {"exp", "uid", "usn", "vrs", "tid"}
        assert claims["uid"] == session.user_id
    assert session.token != session.refresh_token
    assert login(sandbox).token != session.token  # each login its own tokens, same second too


def test_login_content_type_and_headers(sandbox: Sandbox) -> None:
    reply = httpx.post(
        sandbox.api_url + LOGIN,
        content=f'{{"account":{{"appid":"{sandbox.bot_id}","token":"{sandbox.bot_token}"}}}}',
        headers={"Content-Type": "application/x-protobuf", "Authorization": "Basic b'junk'"},
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/x-protobuf"
    api_pb2.Session.FromString(reply.content)


def test_session_lifetime_is_the_default(sandbox: Sandbox, login) -> None:
    claims = jwt_claims(login(sandbox).token)

    assert 3500 < claims["exp"] - time.time() <= 3601


def test_wrong_token_is_401_without_echo(sandbox: Sandbox) -> None:
    reply = httpx.post(sandbox.api_url + LOGIN,
                       json={"account": {"appid": sandbox.bot_id, "token": "wrong-secret-xyz"}})
    assert reply.status_code == 401
    assert reply.json()["code"] == 16
    assert "wrong-secret-xyz" not in reply.text
    assert sandbox.bot_token not in reply.text


def test_wrong_appid_is_401(sandbox: Sandbox) -> None:
    reply = httpx.post(sandbox.api_url + LOGIN,
                       json={"account": {"appid": "1", "token": sandbox.bot_token}})
    assert reply.status_code == 401


def test_unparsable_login_body_is_400(sandbox: Sandbox) -> None:
    for body in (b"", b"not json", b'{"account": 3}', b"[]"):
        reply = httpx.post(sandbox.api_url + LOGIN, content=body)
        assert reply.status_code == 400, body
