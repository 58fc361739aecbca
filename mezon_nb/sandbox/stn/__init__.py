"""The sandbox's stream server: a loopback STN stand-in (streaming spec §8).

``StreamServer(world)`` exposes ``routes`` (mounted under ``/stn``) and the ``start()`` /
``stop()`` coroutines the sandbox app runs in its lifespan. Modules: ``server`` (route, auth,
live channels, presence), ``connection`` (one socket's signalling), ``sources`` (test pattern,
file, WebRTC publisher), ``fanout`` (encode once, relay to every viewer), ``pattern`` (the
stamped test pattern and tone).

>>> from mezon_nb.sandbox.stn import StreamServer
>>> StreamServer.__name__
'StreamServer'
"""

from __future__ import annotations

from mezon_nb.sandbox.stn.server import StreamServer

__all__ = ["StreamServer"]
