"""Which certificates the client trusts: ``connect(..., verify=...)``, for every socket it opens.

``verify`` reaches the HTTP pool (login, RPCs), the realtime socket and the stream server's
signalling socket alike. It is ``None`` (the default trust store), the path of a PEM CA bundle
(a private CA, such as ``Sandbox.start(tls=True).ca_path``), or a ready ``ssl.SSLContext``.
Turning verification off is not offered: trust the server's CA instead.

>>> trust_context(None) is None
True
>>> trust_context(False)
Traceback (most recent call last):
...
ValueError: verify=False would accept any certificate; pass the server's CA bundle instead, as connect(verify="ca.pem")
"""

from __future__ import annotations

import os
import ssl
from typing import Union

#: What ``verify=`` accepts.
Verify = Union[str, "os.PathLike[str]", ssl.SSLContext, None]


def trust_context(verify: Verify | bool) -> ssl.SSLContext | None:
    """The ``SSLContext`` for ``verify`` (``None`` or ``True``: the default trust store).

    A path that is not a readable PEM bundle raises ``ValueError`` naming the path.

    >>> trust_context("/nonexistent/ca.pem")
    Traceback (most recent call last):
    ...
    ValueError: verify='/nonexistent/ca.pem': no readable PEM CA bundle there
    >>> import ssl; context = ssl.create_default_context()
    >>> trust_context(context) is context
    True
    """
    if verify is None or verify is True:
        return None
    if verify is False:
        raise ValueError("verify=False would accept any certificate; pass the server's CA "
                         'bundle instead, as connect(verify="ca.pem")')
    if isinstance(verify, ssl.SSLContext):
        return verify
    if isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        try:
            return ssl.create_default_context(cafile=path)
        except (OSError, ssl.SSLError):
            raise ValueError(f"verify={path!r}: no readable PEM CA bundle there") from None
    raise TypeError(f"verify must be a CA bundle path or an ssl.SSLContext, "
                    f"not {type(verify).__name__}")


def for_url(context: ssl.SSLContext | None, url: str) -> dict[str, ssl.SSLContext]:
    """``{"ssl": context}`` for a ``wss://`` URL with a context, else ``{}`` (websockets
    refuses an ``ssl`` argument for ``ws://``).

    >>> for_url(None, "wss://h/ws"), for_url(ssl.create_default_context(), "ws://h/ws")
    ({}, {})
    """
    return {"ssl": context} if context is not None and url.startswith("wss://") else {}


def certificate_problem(exc: BaseException) -> str | None:
    """What went wrong with TLS, if ``exc`` (or what caused it) is a TLS failure, else ``None``.

    >>> error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    >>> error.verify_message = "unable to get local issuer certificate"
    >>> certificate_problem(OSError("x")) is None, certificate_problem(error)
    (True, 'certificate verify failed: unable to get local issuer certificate')
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            detail = getattr(current, "verify_message", "") or current.reason or ""
            return f"certificate verify failed: {detail}".rstrip(": ")
        if isinstance(current, ssl.SSLError):
            return f"TLS handshake failed: {current.reason or type(current).__name__}"
        current = current.__cause__ or current.__context__
    return None


def tls_failure_text(what: str, problem: str) -> str:
    """The message of a TLS ``TransportError``: what failed and how to trust the server.

    >>> tls_failure_text("bot login", "certificate verify failed: self-signed certificate")
    'bot login: TLS certificate verify failed: self-signed certificate; if the server uses a private CA, trust it with connect(verify="ca.pem")'
    """
    problem = problem.removeprefix("TLS ")
    return (f"{what}: TLS {problem}; if the server uses a private CA, trust it with "
            f'connect(verify="ca.pem")')


__all__ = ["Verify", "certificate_problem", "for_url", "tls_failure_text", "trust_context"]
