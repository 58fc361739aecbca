"""The one token-hiding log filter: every logger that may see a URL with ``token=`` gets it.

websockets logs its handshake request line at DEBUG, and both sockets (realtime, STN) put the
session token in the query string; :class:`TokenFilter` rewrites such a record before any
handler sees it.

>>> import logging
>>> record = logging.LogRecord("x", logging.DEBUG, "", 0, "GET /ws?token=%s&a=1", ("abc",), None)
>>> TokenFilter().filter(record), record.getMessage()
(True, 'GET /ws?token=***&a=1')
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"token=[^&\s]+")


def redact(text: str) -> str:
    """``text`` with every ``token=<value>`` replaced by ``token=***``.

    >>> redact("wss://h/ws?lang=en&token=a.b.c&format=protobuf")
    'wss://h/ws?lang=en&token=***&format=protobuf'
    """
    return _TOKEN.sub("token=***", text)


class TokenFilter(logging.Filter):
    """A logging filter that hides ``token=...`` in a record's message (example above)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "token=" in text:
            record.msg, record.args = redact(text), None
        return True


__all__ = ["TokenFilter", "redact"]
