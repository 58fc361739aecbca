"""Malformed JSON bodies at login and the controls: every one gets a 4xx with a message.

Covers: nesting deeper than Python's parser follows, non-finite numbers (``Infinity``, ``NaN``,
``1e400``) where ints are made, bytes that are not UTF-8, and the server serving normally
afterwards. The random campaign over the same surfaces is tests/fuzz/.
"""

from __future__ import annotations

import httpx
import pytest

from mezon_nb.sandbox import Sandbox

LOGIN = "/v2/apps/authenticate/token"
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"account":' * 5_000 + b"1" + b"}" * 5_000


def _post(sandbox: Sandbox, path: str, body: bytes) -> httpx.Response:
    return httpx.post(sandbox.api_url + path, content=body,
                      headers={"X-Sandbox-Key": sandbox.admin_key,
                               "Content-Type": "application/json"})


def _assert_refused(reply: httpx.Response, status: int = 400) -> str:
    assert reply.status_code == status, reply.text
    message = reply.json()["message"]
    assert message
    return message


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, b"\xff\xfe{", b"NaN", b"[Infinity]"])
@pytest.mark.parametrize("path", [LOGIN, "/sandbox/burst", "/sandbox/emits",
                                  "/sandbox/add_viewer"])
def test_unparsable_bodies_get_400_with_a_reason(sandbox: Sandbox, path, body) -> None:
    _assert_refused(_post(sandbox, path, body))


@pytest.mark.parametrize("action, field", [("burst", "count"), ("emits", "limit"),
                                           ("emits", "since")])
@pytest.mark.parametrize("number", [b"Infinity", b"-Infinity", b"NaN", b"1e400", b"-1e400"])
def test_non_finite_numbers_get_400(sandbox: Sandbox, action, field, number) -> None:
    body = b'{"%s": %s}' % (field.encode(), number)
    message = _assert_refused(_post(sandbox, f"/sandbox/{action}", body))
    assert "JSON" in message


def test_the_server_still_serves_after_bad_bodies(sandbox: Sandbox) -> None:
    for body in (DEEP, b'{"count": 1e400}'):
        _post(sandbox, "/sandbox/burst", body)
    assert sandbox.control("burst", count=2)["events"][0]["kind"] == "joined"
    reply = httpx.post(sandbox.api_url + LOGIN,
                       json={"account": {"appid": sandbox.bot_id, "token": sandbox.bot_token}})
    assert reply.status_code == 200
