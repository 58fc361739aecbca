"""The sandbox's stream server (STN stand-in). Interface placeholder, being built (issue 3).

``StreamServer(world)`` exposes ``routes`` (Starlette routes mounted under ``/stn``) and the
``start()`` / ``stop()`` coroutines the sandbox app runs in its lifespan.
"""

from __future__ import annotations

from typing import Any


class StreamServer:
    """Placeholder with the final interface; replaced by the real stream server."""

    def __init__(self, world: Any) -> None:
        self.world = world
        self.routes: list[Any] = []

    async def start(self) -> None:
        """Start built-in publishers (none yet)."""

    async def stop(self) -> None:
        """Stop every publisher and close every viewer (none yet)."""
