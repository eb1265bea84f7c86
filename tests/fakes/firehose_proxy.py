"""A fault-injecting firehose: a WebSocket proxy in front of a real PDS's subscribeRepos.

The firehose suite must notice a PDS that drops events or reorders them; a real PDS never does, so the
self-test puts this proxy between the suite's subscription and a real reference PDS. Every subscription to
the proxy opens one to the upstream with the same path and query (so cursors work), and a *fault* decides
what is passed on: everything, all but every third frame, or neighbours swapped.

Runs its own asyncio loop on a thread; binds 127.0.0.1 on a free port; ``close()`` stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

Recv = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
Fault = Callable[[Recv, Send], Awaitable[None]]


async def pass_through(recv: Recv, send: Send) -> None:
    while True:
        await send(await recv())


async def drop_every_third(recv: Recv, send: Send) -> None:
    """Pass two frames, drop the third, and so on."""
    count = 0
    while True:
        message = await recv()
        count += 1
        if count % 3:
            await send(message)


async def swap_neighbours(recv: Recv, send: Send) -> None:
    """Send each pair of frames in reverse order (a lone frame goes on after a short wait)."""
    while True:
        first = await recv()
        try:
            second = await asyncio.wait_for(recv(), 0.3)
        except TimeoutError:
            await send(first)
            continue
        await send(second)
        await send(first)


class FaultyFirehose:
    """Proxy ``ws://127.0.0.1:<port>/xrpc/...`` to the same path at ``upstream`` (an http:// base URL)."""

    def __init__(self, upstream: str, fault: Fault) -> None:
        self.upstream = upstream.replace("http://", "ws://", 1).rstrip("/")
        self.fault = fault
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faulty-firehose", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault-injecting proxy did not start within 10 s")

    @property
    def url(self) -> str:
        """The proxy's base URL, as a PDS URL (``http://``); subscriptions turn it into ``ws://``."""
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", 0, compression=None, max_size=None)
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def _handle(self, downstream: ServerConnection) -> None:
        path = downstream.request.path if downstream.request is not None else "/"
        try:
            async with connect(self.upstream + path, compression=None, max_size=None, proxy=None) as up:
                relay = asyncio.ensure_future(self.fault(up.recv, downstream.send))
                gone = asyncio.ensure_future(downstream.wait_closed())
                await asyncio.wait({relay, gone}, return_when=asyncio.FIRST_COMPLETED)
                for task in (relay, gone):
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await relay
        except (ConnectionClosed, OSError):
            pass

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
