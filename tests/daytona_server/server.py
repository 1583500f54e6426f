"""Running the test server: an aiohttp app on a free loopback port, in a background thread with its own loop."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from tests.daytona_server.app import build_app
from tests.daytona_server.faults import Faults
from tests.daytona_server.process import bwrap_binary
from tests.daytona_server.state import CURRENT_VERSION, SandboxRecord, ServerState
from tests.support.net import free_port

API_KEY = "test-daytona-key-0123456789"


class DaytonaTestServer:
    def __init__(self, root: Path, *, minute_seconds: float = 60.0, version: str = CURRENT_VERSION) -> None:
        """`version=SELF_HOSTED_VERSION` answers like the open-source server archived at v0.190."""
        bwrap_binary()  # fail early with the install hint
        self.state = ServerState(root, minute_seconds=minute_seconds, version=version)
        self.faults = Faults()
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="daytona-test-server", daemon=True)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)

    async def _start(self) -> None:
        self._runner = web.AppRunner(build_app(self.state, self.faults), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # ------------------------------------------------------------ helpers for tests

    def sandbox(self, sandbox_id: str) -> SandboxRecord | None:
        return self.state.find(sandbox_id)

    def vanish(self, sandbox_id: str) -> None:
        """Delete a sandbox behind the client's back."""
        if not self.state.destroy(sandbox_id):
            raise KeyError(sandbox_id)

    def set_state(self, sandbox_id: str, state: str) -> None:
        record = self.state.find(sandbox_id)
        if record is None:
            raise KeyError(sandbox_id)
        record.state = state


@contextmanager
def running_server(
    root: Path | None = None, *, minute_seconds: float = 60.0, version: str = CURRENT_VERSION
) -> Iterator[DaytonaTestServer]:
    """The test server on a free port until the block ends; sandboxes under `root` (made if missing) or scratch."""
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="daytona-server-") as scratch:
        server = DaytonaTestServer(root or Path(scratch), minute_seconds=minute_seconds, version=version)
        server.start()
        try:
            yield server
        finally:
            server.stop()
