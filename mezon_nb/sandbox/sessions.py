"""Bot logins: HS256 session JWTs (hand-rolled with hmac) and opaque session ids.

The signing keys are random per process, so a token from an earlier run never works. Each
login's JWTs carry a random token id ``tid`` (as Nakama's do), so two logins in the same second
get different tokens, and :meth:`SessionStore.session_of` can tell which login a JWT belongs to.

>>> store = SessionStore(ttl=60)
>>> grant = store.issue(user_id=2**60 + 7, username="bot")
>>> store.authenticate(grant.token) == store.authenticate(grant.session_id) == 2**60 + 7
True
>>> store.authenticate(grant.refresh_token) is None   # a refresh token is not a session
True
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Callable
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_jwt(claims: dict[str, Any], key: bytes) -> str:
    """A compact HS256 JWT for ``claims``.

    >>> encode_jwt({"uid": 1}, b"k").split(".")[0]
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9'
    """
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def decode_jwt(token: str, key: bytes) -> dict[str, Any] | None:
    """The claims of a JWT signed with ``key``, or ``None`` if it is malformed or forged.

    Expiry is not checked here (see :meth:`SessionStore.authenticate`).

    >>> decode_jwt(encode_jwt({"uid": 1}, b"k"), b"k")
    {'uid': 1}
    >>> decode_jwt(encode_jwt({"uid": 1}, b"k"), b"other") is None
    True
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
    expected = _b64(hmac.new(key, signing_input, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return None
    try:
        claims = json.loads(_unb64(parts[1]))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


@dataclasses.dataclass(frozen=True, repr=False)
class SessionGrant:
    """What one login hands out. Its repr shows no secret.

    >>> SessionStore(ttl=1).issue(user_id=5, username="bot")
    SessionGrant(user_id=5)
    """

    user_id: int
    token: str
    refresh_token: str
    session_id: str
    expires_at: float

    def __repr__(self) -> str:
        return f"SessionGrant(user_id={self.user_id})"


class SessionStore:
    """Issues and checks sessions that last ``ttl`` seconds.

    >>> now = [1000.0]
    >>> store = SessionStore(ttl=10, clock=lambda: now[0])
    >>> grant = store.issue(user_id=9, username="bot")
    >>> now[0] += 11
    >>> store.authenticate(grant.token) is None
    True
    """

    def __init__(self, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self._clock = clock
        self._session_key = secrets.token_bytes(32)
        self._refresh_key = secrets.token_bytes(32)
        self._session_ids: dict[str, tuple[int, float]] = {}
        self._token_ids: dict[str, str] = {}  # JWT "tid" -> that login's session id

    def issue(
        self, user_id: int, username: str, vars: dict[str, str] | None = None
    ) -> SessionGrant:
        """Log a user in: a session JWT, a refresh JWT (lives 24 × longer), a session id.

        >>> claims = SessionStore(ttl=5, clock=lambda: 100).issue(7, "bot").token
        >>> from mezon_nb.protocol import jwt_claims
        >>> jwt_claims(claims)  # doctest: +ELLIPSIS
        {'exp': 105, 'uid': 7, 'usn': 'bot', 'vrs': {}, 'tid': '...'}
        """
        now = self._clock()
        expires_at = math.ceil(now + self.ttl)  # whole seconds, as the JWT carries it
        token_id = secrets.token_hex(8)
        claims = {"exp": expires_at, "uid": user_id, "usn": username, "vrs": vars or {},
                  "tid": token_id}
        refresh_claims = dict(claims, exp=math.ceil(now + 24 * self.ttl))
        self._session_ids = {
            sid: entry for sid, entry in self._session_ids.items() if entry[1] > now
        }
        self._token_ids = {
            tid: sid for tid, sid in self._token_ids.items() if sid in self._session_ids
        }
        session_id = secrets.token_urlsafe(24)
        self._session_ids[session_id] = (user_id, expires_at)
        self._token_ids[token_id] = session_id
        return SessionGrant(
            user_id=user_id,
            token=encode_jwt(claims, self._session_key),
            refresh_token=encode_jwt(refresh_claims, self._refresh_key),
            session_id=session_id,
            expires_at=expires_at,
        )

    def session_of(self, token: str) -> str | None:
        """Which login a live session JWT or session id belongs to (its session id), else
        ``None``: the JWT and the session id of one login are one session.

        >>> store = SessionStore(ttl=5)
        >>> grant, other = store.issue(7, "bot"), store.issue(7, "bot")
        >>> store.session_of(grant.token) == store.session_of(grant.session_id) == grant.session_id
        True
        >>> store.session_of(other.token) == grant.session_id
        False
        """
        if self.authenticate(token) is None:
            return None
        if token in self._session_ids:
            return token
        claims = decode_jwt(token, self._session_key) or {}
        return self._token_ids.get(str(claims.get("tid")))

    def authenticate(self, token: str) -> int | None:
        """The user id for a live session JWT or session id, else ``None``.

        >>> SessionStore(ttl=5).authenticate("not-a-token") is None
        True
        """
        now = self._clock()
        entry = self._session_ids.get(token)
        if entry is not None:
            return entry[0] if entry[1] > now else None
        claims = decode_jwt(token, self._session_key)
        if claims is None or not isinstance(claims.get("uid"), int):
            return None
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
            return None
        return claims["uid"]
