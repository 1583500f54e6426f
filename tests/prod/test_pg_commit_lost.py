"""An append whose COMMIT reached PostgreSQL but whose reply never came back (the connection cut in between) is stored
once: the retry finds the committed row instead of appending the event a second time. The cut is made by a small TCP
relay between the service's connections and the real server, which forwards a COMMIT and then closes both sides."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from urllib.parse import urlsplit

import pytest

from tests.prod.pg_helpers import fresh_database, opened

pytestmark = pytest.mark.e2e


class CommitCutter:
    """Relays TCP to the server; once armed, the next connection that sends COMMIT is closed right after it is sent."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self.armed = False
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self._target)
        writers = (client_w, server_w)  # the client's first
        for pump in (self._pump(client_r, server_w, writers, watch=True), self._pump(server_r, client_w, writers)):
            task = asyncio.create_task(pump)
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        writers: tuple[asyncio.StreamWriter, ...],
        *,
        watch: bool = False,
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
                if watch and self.armed and b"COMMIT" in chunk:
                    self.armed = False
                    self.cuts += 1
                    writers[0].transport.abort()  # the client's side: the server's reply has nowhere to go
                    await asyncio.sleep(0.3)  # while the server reads the COMMIT and commits
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            for w in writers:
                with suppress(Exception):
                    w.transport.abort()


@pytest.fixture
async def cutter(postgres_url: str) -> AsyncIterator[tuple[CommitCutter, str]]:
    url = await fresh_database(postgres_url)
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    relay = CommitCutter(parts.hostname, parts.port)
    port = await relay.start()
    try:
        yield relay, url.replace(f":{parts.port}/", f":{port}/", 1)
    finally:
        await relay.aclose()


async def test_an_append_whose_commit_reply_is_lost_is_stored_once(cutter: tuple[CommitCutter, str]) -> None:
    relay, url = cutter
    task = str(uuid.uuid4())
    async with opened(url) as state:
        await state.events.append(task, "first")
        relay.armed = True
        event = await state.events.append(task, "second", text="no part: nothing else would catch a second copy")
        assert relay.cuts == 1
        events = await state.events.since(task)
    assert [(e["id"], e["event"]) for e in events] == [(1, "first"), (2, "second")]
    assert events[1] == event
