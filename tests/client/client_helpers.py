"""Helpers shared by the client tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

import asyncio
import contextlib

from mezon_nb import AsyncClient


@contextlib.asynccontextmanager
async def logged_in(sandbox, *, realtime=True, **options):
    """An AsyncClient logged in to ``sandbox``, closed afterwards."""
    client = AsyncClient(sandbox.bot_id, sandbox.bot_token, base_url=sandbox.api_url,
                         stream_url=sandbox.stream_url, **options)
    try:
        await client.login(realtime=realtime)
        yield client
    finally:
        await client.close()


async def control(sandbox, action, **params):
    """``sandbox.control`` without blocking the event loop."""
    return await asyncio.to_thread(sandbox.control, action, **params)


async def wait_until(predicate, timeout=10.0, what="condition"):
    """Poll ``predicate`` every 10 ms; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)
