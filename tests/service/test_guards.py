"""The task API's guards (agent/http/guards.py) on a small app of their own, over a real uvicorn server where the
connection matters: 413 over the body limit, 422 for bodies that are not UTF-8 or not readable, 422 answers that
never echo large inputs or URL credentials, a JSON 503 with Retry-After naming a dependency that is down, and a 500
that keeps the client's connection open."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

from agent.http.guards import RETRY_AFTER_SECONDS, install_guards
from coordination.store import StoreUnavailable
from tests.support.net import free_port

LIMIT = 4096


class Body(BaseModel):
    task: str = Field(max_length=10)
    repo: str | None = Field(default=None, max_length=10)
    count: int | None = Field(default=None, le=10)


def make_app() -> FastAPI:
    app = FastAPI()
    install_guards(app)
    app.state.max_body_bytes = LIMIT

    @app.post("/tasks")
    async def create(body: Body) -> dict[str, str]:
        return {"task": body.task}

    @app.get("/tasks/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/tasks/redis")
    async def redis_down() -> None:
        raise StoreUnavailable("TimeoutError")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://app") as c:
        yield c


@pytest.fixture
async def server_port() -> AsyncIterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(), host="127.0.0.1", port=port, log_level="critical"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
        await asyncio.sleep(0.02)
    yield port
    server.should_exit = True
    await serving


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def test_a_500_keeps_the_connection_open_for_the_next_request(server_port):
    reader, writer = await asyncio.open_connection("127.0.0.1", server_port)
    try:
        writer.write(b"GET /tasks/boom HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = await read_response(reader)
        assert status == 500 and headers["content-type"] == "application/json"
        assert json.loads(body) == {"detail": "internal error (logged on the server)"}
        assert headers.get("connection") != "close"
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connection
        status, _, body = await read_response(reader)
        assert status == 200 and json.loads(body) == {"status": "ok"}
    finally:
        writer.close()


async def test_a_body_over_the_limit_gets_413_by_length_or_while_streamed(client, server_port):
    big = json.dumps({"task": "x" * (LIMIT + 1)})
    response = await client.post("/tasks", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and f"at most {LIMIT} bytes" in response.json()["detail"]
    assert len(response.content) < 200

    reader, writer = await asyncio.open_connection("127.0.0.1", server_port)  # chunked: counted while reading
    try:
        writer.write(b"POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        writer.write(b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(5):
            writer.write(b"3e8\r\n" + b" " * 1000 + b"\r\n")
        writer.write(b"0\r\n\r\n")  # the server reads the rest before answering (lingering close)
        status, headers, body = await read_response(reader)
        assert status == 413 and headers["connection"] == "close"
        assert f"at most {LIMIT} bytes" in json.loads(body)["detail"]
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"task": "caf\xe9"}', "not valid UTF-8"),
        (b'{"task": "x", "count": ' + b"9" * 5000 + b"}", "JSON decode error"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON decode error"),
    ],
)
async def test_unreadable_json_bodies_get_422(client, body, message):
    app_limit_bytes = LIMIT if len(body) <= LIMIT else None
    if app_limit_bytes is None:  # the nesting case: allow it through the size limit
        client._transport.app.state.max_body_bytes = len(body)
    response = await client.post("/tasks", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert message in json.dumps(response.json())
    assert len(response.content) < 1000


async def test_syntax_errors_keep_fastapis_422(client):
    response = await client.post("/tasks", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "json_invalid"


async def test_a_422_never_echoes_a_large_input_or_url_credentials(client):
    response = await client.post(
        "/tasks", json={"task": "y" * 3000, "repo": "https://bob:ghp_s3cret@github.com/x.git", "count": 10**30}
    )
    assert response.status_code == 422
    errors = {e["loc"][-1]: e for e in response.json()["detail"]}
    assert errors["task"]["input"].endswith("... (3000 characters)") and len(errors["task"]["input"]) < 300
    assert "ghp_s3cret" not in response.text and "https://***@github.com/x.git" in errors["repo"]["input"]
    assert errors["count"]["input"] == "an integer of 100 bits (not repeated)"
    assert len(response.content) < 2000


async def test_a_dependency_that_is_down_gets_a_json_503_with_retry_after(client, caplog):
    caplog.set_level(logging.WARNING, logger="open_swe.service.guards")
    answers = [await client.get("/tasks/redis") for _ in range(20)]
    assert {a.status_code for a in answers} == {503}
    assert answers[0].headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert answers[0].json() == {"detail": "redis is unavailable (TimeoutError); retry shortly", "dependency": "redis"}
    lines = [r for r in caplog.records if r.name == "open_swe.service.guards"]
    assert len(lines) <= 1 and all(r.exc_info is None for r in lines)  # no traceback, no flood
