"""The notebook API on top of every layer: ``connect()``, ``Client`` and ``AsyncClient``.

``AsyncClient`` puts the protocol client (:mod:`mezon_nb.client`), the stream layer
(:mod:`mezon_nb.media`) and the participant log (:mod:`mezon_nb.analytics`) together;
``Client`` (made by :func:`connect`) is its blocking twin for notebooks, running on the
library's background loop, with the widget helpers (``viewer()``, ``participants_panel()``).

- :mod:`.async_client`: ``AsyncClient``;
- :mod:`.client`: ``Client`` (the blocking twins, written out and typed) and ``connect()``.

>>> from mezon_nb.facade import AsyncClient, Client, connect
>>> [name for name in dir(Client) if name in ("clans", "events", "messages", "on")]
['clans', 'events', 'messages', 'on']
"""

from mezon_nb.facade.async_client import AsyncClient
from mezon_nb.facade.client import Client, connect

__all__ = ["AsyncClient", "Client", "connect"]
