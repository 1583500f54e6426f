"""The round-robin proxy fixture itself (real Caddy): requests alternate between the upstreams, websockets pass
through both ways, bad upstreams are refused, the log lands in the
caller's directory and nothing is left listening afterwards."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from tests.support.proxy import caddy_config, running_proxy

pytestmark = pytest.mark.e2e

SECRET = "osk_proxy_test_0123456789"
"""An API key sent through the proxy: it must not reach the proxy's log."""


async def named_upstream(name: str) -> Server:
    """A loopback server answering plain GETs with its name and echoing websocket messages as `name: message`."""

    def answer_http(connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        return Response(HTTPStatus.OK.value, "OK", Headers({"Content-Type": "text/plain"}), name.encode())

    async def echo(connection: ServerConnection) -> None:
        async for message in connection:
            await connection.send(f"{name}: {message}" if isinstance(message, str) else message)

    return await serve(echo, "127.0.0.1", 0, process_request=answer_http)


def url_of(server: Server) -> str:
    host, port = next(iter(server.sockets)).getsockname()[:2]
    return f"http://{host}:{port}"


@pytest.fixture
async def upstreams() -> AsyncIterator[list[Server]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(await named_upstream(name)) for name in ("one", "two")]


@pytest.fixture
async def proxy(tmp_path: Path, upstreams: list[Server]) -> AsyncIterator[str]:
    # Entered and left in a thread: Caddy's start and graceful stop must not block the loop serving the upstreams.
    context = running_proxy(tmp_path / "proxy", [url_of(s) for s in upstreams])
    url = await asyncio.to_thread(context.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(context.__exit__, None, None, None)


async def test_requests_alternate_between_the_upstreams(proxy: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=proxy, headers={"x-api-key": SECRET}) as client:
        names = [(await client.get("/")).text for _ in range(6)]
    assert sorted(names[:2]) == ["one", "two"]
    assert names == names[:2] * 3
    log = (tmp_path / "proxy" / "caddy.log").read_text()
    assert log.count('"handled request"') == 6 and SECRET not in log


async def test_websockets_pass_through_and_are_spread_too(proxy: str) -> None:
    ws_url = proxy.replace("http://", "ws://") + "/echo"
    replies = []
    for index in range(4):
        async with websockets.connect(ws_url) as ws:
            for round_ in range(3):
                await ws.send(f"{index}.{round_}")
                replies.append(await asyncio.wait_for(ws.recv(decode=True), 10))
    names = [reply.split(": ")[0] for reply in replies]
    assert [reply.split(": ")[1] for reply in replies] == [f"{i}.{r}" for i in range(4) for r in range(3)]
    assert all(names[i * 3 : i * 3 + 3] == [names[i * 3]] * 3 for i in range(4))  # one connection, one upstream
    assert sorted({names[0], names[3]}) == ["one", "two"] and names[:3] == names[6:9]


def test_bad_upstreams_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one upstream"):
        caddy_config(1, [], tmp_path)
    for bad in ("https://127.0.0.1:1", "127.0.0.1:1", "http://127.0.0.1", "http://127.0.0.1:1/api"):
        with pytest.raises(ValueError, match="upstream must be http://host:port"):
            caddy_config(1, [bad], tmp_path)


async def test_stop_frees_the_port(tmp_path: Path, upstreams: list[Server]) -> None:
    context = running_proxy(tmp_path / "proxy", [url_of(upstreams[0])])
    url = await asyncio.to_thread(context.__enter__)
    await asyncio.to_thread(context.__exit__, None, None, None)
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
