"""A throwaway certificate authority for ``Sandbox.start(tls=True)``: https and wss on one port.

The real Mezon endpoints speak TLS only. With ``tls=True`` the sandbox makes a fresh CA
(``trustme``) and a certificate for ``127.0.0.1`` and ``localhost`` when it starts, serves
with them, and hands the CA's PEM path to the caller, who trusts it explicitly
(``mezon_nb.connect(..., verify=sandbox.ca_path)``). Nothing is installed system-wide; the
files live in a private temporary folder that :meth:`ThrowawayTLS.close` removes.

>>> tls = ThrowawayTLS()
>>> import ssl; context = ssl.create_default_context(cafile=tls.ca_path)
>>> sorted(p.name for p in tls.folder.iterdir())
['ca.pem', 'server-cert.pem', 'server-key.pem']
>>> tls.close(); tls.folder.exists()
False
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import trustme

#: The names the server certificate is valid for (the sandbox binds 127.0.0.1 only).
SERVER_NAMES = ("127.0.0.1", "localhost")


class ThrowawayTLS:
    """A new CA and server certificate, written as PEM files into a private temp folder.

    ``ca_path`` is what clients trust; ``cert_path`` and ``key_path`` are what uvicorn serves.

    >>> tls = ThrowawayTLS(); Path(tls.cert_path).read_text().startswith("-----BEGIN")
    True
    >>> tls.close()
    """

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="mezon_nb-sandbox-tls-"))  # mode 0700
        authority = trustme.CA(organization_name="mezon_nb sandbox (throwaway)")
        server = authority.issue_cert(*SERVER_NAMES)
        self.ca_path = str(self.folder / "ca.pem")
        self.cert_path = str(self.folder / "server-cert.pem")
        self.key_path = str(self.folder / "server-key.pem")
        authority.cert_pem.write_to_path(self.ca_path)
        server.private_key_pem.write_to_path(self.key_path)
        with open(self.cert_path, "wb") as chain:
            chain.writelines(blob.bytes() for blob in server.cert_chain_pems)

    def close(self) -> None:
        """Delete the folder and its files (idempotent).

        >>> tls = ThrowawayTLS(); tls.close(); tls.close()
        """
        shutil.rmtree(self.folder, ignore_errors=True)


__all__ = ["SERVER_NAMES", "ThrowawayTLS"]
