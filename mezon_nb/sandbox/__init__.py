"""A loopback Mezon server for notebooks and tests: same wire protocol, no network, no account.

:class:`Sandbox` runs it in a child process; the server itself is :func:`build_app` over a
seeded :class:`World`. Modules, one concern each:

- :mod:`.config`: :class:`SandboxConfig`, every option with its default;
- :mod:`.directory`: the seeded clans, channels, bot and viewers (ids above 2**53);
- :mod:`.sessions`: HS256 session JWTs and session ids;
- :mod:`.hub`: realtime connections and fan-out;
- :mod:`.world`: live state (presence, live channels) and the events it pushes;
- :mod:`.login`, :mod:`.rpc`, :mod:`.realtime`: the three wire surfaces;
- :mod:`.crowd`: synthetic viewers; :mod:`.control`: ``/sandbox/*`` test controls;
- :mod:`.app`, :mod:`.server`, :mod:`.child`, :mod:`.process`: assembly and processes;
- :mod:`.stn`: the stream server (STN stand-in).

>>> from mezon_nb.sandbox import SandboxConfig
>>> SandboxConfig().crowd
True
"""

from mezon_nb.sandbox.app import build_app
from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.process import Sandbox
from mezon_nb.sandbox.world import World

__all__ = ["Sandbox", "SandboxConfig", "World", "build_app"]
