"""Keeping a bot session alive: log in once, again shortly before the JWT expires, and on a 401.

Mezon's Gen B bots have no refresh call; they simply log in again. :class:`SessionKeeper` does
that in the background (``refresh_margin`` before ``exp``, at most a fifth of the lifetime), and
concurrent callers share one login.

>>> from mezon_nb.client.http import HttpTransport
>>> keeper = SessionKeeper(HttpTransport(), "https://gw.mezon.ai", bot_id="1", token="secret")
>>> keeper.current is None and "secret" not in repr(keeper)
True
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from mezon_nb.client.http import HttpTransport
from mezon_nb.core.models import Session

log = logging.getLogger(__name__)


class SessionKeeper:
    """Owns the current :class:`Session` and the background re-login timer."""

    def __init__(self, http: HttpTransport, base_url: str, *, bot_id: str, token: str,
                 refresh_margin: float = 60.0) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self.bot_id = bot_id
        self._token = token
        self.refresh_margin = refresh_margin
        self.current: Session | None = None
        self._refresh_at: datetime | None = None
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"SessionKeeper(base_url={self.base_url!r}, bot_id={self.bot_id!r})"

    async def session(self) -> Session:
        """The current session, logging in first if there is none or it is about to expire.

        >>> keeper = SessionKeeper(HttpTransport(), sandbox.api_url, bot_id=sandbox.bot_id,
        ...                        token=sandbox.bot_token)
        >>> run(keeper.session()) is run(keeper.session())
        True
        >>> keeper.close()
        """
        current = self.current
        if current is None or self._seconds_left() <= 0:
            return await self.login(stale=current)
        return current

    async def login(self, *, stale: Session | None = None) -> Session:
        """Log in now. Callers that saw ``stale`` share one login instead of each doing one.

        >>> keeper = SessionKeeper(HttpTransport(), sandbox.api_url, bot_id=sandbox.bot_id,
        ...                        token=sandbox.bot_token)
        >>> first = run(keeper.login())
        >>> run(keeper.login(stale=first)) is not first
        True
        >>> keeper.close()
        """
        async with self._lock:
            if self.current is not None and self.current is not stale:
                return self.current  # someone else logged in while we waited
            msg = await self._http.authenticate(self.base_url, self.bot_id, self._token)
            session = Session.from_proto(msg, base_url=self.base_url)
            self.current = session
            self._refresh_at = _refresh_time(session, self.refresh_margin)
            log.info("bot %s logged in (user %s, session until %s)", self.bot_id,
                     session.user_id, session.expires_at)
            self._schedule(session)
            return session

    def _seconds_left(self) -> float:
        """Seconds until the current session should be replaced."""
        if self._refresh_at is None:
            return float("inf")
        return (self._refresh_at - datetime.now(timezone.utc)).total_seconds()

    def _schedule(self, session: Session) -> None:
        if self._timer is not None:
            self._timer.cancel()
        delay = self._seconds_left()
        if delay != float("inf"):
            self._timer = asyncio.get_running_loop().create_task(self._relogin(session, delay))

    async def _relogin(self, session: Session, delay: float) -> None:
        await asyncio.sleep(max(delay, 0.0))
        try:
            self._timer = None  # login() must not cancel the task it runs in
            await self.login(stale=session)
        except Exception as exc:  # noqa: BLE001 - retried on next use; never shown with a token
            log.warning("proactive re-login failed: %s", exc)

    def close(self) -> None:
        """Stop the re-login timer (idempotent).

        >>> SessionKeeper(HttpTransport(), "http://127.0.0.1:9", bot_id="1", token="t").close()
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _refresh_time(session: Session, margin: float) -> datetime | None:
    """When to log in again: ``margin`` seconds before expiry, at most a fifth of the lifetime.

    >>> from datetime import timedelta
    >>> now = datetime.now(timezone.utc)
    >>> s = Session(token="", user_id="1", api_url="", ws_url="",
    ...             expires_at=now + timedelta(seconds=10))
    >>> round((_refresh_time(s, 60.0) - now).total_seconds(), 1)
    8.0
    """
    if session.expires_at is None:
        return None
    lifetime = (session.expires_at - datetime.now(timezone.utc)).total_seconds()
    return session.expires_at - timedelta(seconds=min(margin, max(lifetime, 0.0) / 5))


__all__ = ["SessionKeeper"]
