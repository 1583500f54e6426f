"""The task API under abuse, against a real `langgraph dev` server: schemathesis over every task route (no 5xx,
responses and status codes as documented), numbers beyond the bounds, bodies over the limit or not UTF-8, repos the
server does not allow, and websocket frames it cannot use."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from langgraph_sdk import get_client
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service.conftest import ALICE_KEY, server_env
from tests.service.taskclient import TaskClient, next_message
from tests.support.fixture_repo import FIXTURE_TASK, create_fixture_repo
from tests.support.langgraph_server import LangGraphServer, running_server
from tests.support.scripted_openai import ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

BODY_LIMIT = 65536
SECRET = "ghp_fuzzSECRET0123456789"
TASK_ROUTES = r"^/(tasks|healthz$|readyz$)"
EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 20, schemathesis.GenerationMode.NEGATIVE: 10}
"""Examples per operation: valid requests, and requests with one part made invalid (slower to generate)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TASK_REPO_ROOTS of this server: only repositories made here (the server's own directory lies outside)."""
    return tmp_path_factory.mktemp("repos")


@pytest.fixture(scope="module")
def server(
    scripted_model: ScriptedOpenAI, repos: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LangGraphServer]:
    root = tmp_path_factory.mktemp("service-abuse")
    env = server_env(
        scripted_model,
        root / "state",
        TASK_REPO_ROOTS=str(repos),
        TASK_REPO_URL_HOSTS="git.example.com",
        SERVICE_MAX_BODY_BYTES=str(BODY_LIMIT),
        TASK_RATE_LIMIT="30",
    )
    with running_server(root / "srv", env) as running:
        yield running


@pytest.fixture
async def alice(server):
    client = TaskClient(server.url, ALICE_KEY)
    yield client
    await client.aclose()


def fuzz(operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode, base_url: str) -> int:
    """Send EXAMPLES[mode] generated requests of one operation; how many were sent. Raises on a failure."""
    checks = [*CHECKS, negative_data_rejection] if mode == schemathesis.GenerationMode.NEGATIVE else CHECKS
    sent = 0

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,  # a fixed seed: the same requests on every run
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        nonlocal sent
        sent += 1
        case.call_and_validate(base_url=base_url, headers={"x-api-key": ALICE_KEY}, checks=checks, timeout=30)

    try:
        run()
    except Unsatisfiable:  # nothing it can make invalid (no parameters, an optional nullable body)
        assert mode == schemathesis.GenerationMode.NEGATIVE, operation.path
    return sent


def test_fuzzing_the_task_routes_finds_no_server_error_and_no_undocumented_answer(server):
    spec = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec).include(path_regex=TASK_ROUTES)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), [r for r in results if not isinstance(r, Ok)]
    assert {op.path for op in operations} >= {"/tasks", "/tasks/{task_id}", "/healthz", "/readyz"}
    failures: list[str] = []
    requests = 0
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            try:
                requests += fuzz(operation, mode, server.url)
            except Exception as exc:  # hypothesis reports the smallest failing case
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
    assert requests >= len(operations) * 10
    assert "Traceback" not in server.log_text()


async def two_requests_on_one_connection(server: LangGraphServer, first: bytes, second: bytes) -> list[int]:
    """Send two raw HTTP/1.1 requests on one TCP connection; the statuses (the second is missing if it closed)."""
    host, port = "127.0.0.1", server.port
    reader, writer = await asyncio.open_connection(host, port)
    statuses: list[int] = []
    try:
        for request in (first, second):
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            lines = head.decode().split("\r\n")
            statuses.append(int(lines[0].split()[1]))
            headers = {k.lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if ":" in x)}
            await reader.readexactly(int(headers.get("content-length", "0")))
            if headers.get("connection") == "close":
                break
    finally:
        writer.close()
    return statuses


def raw(method: str, path: str, body: dict[str, object] | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nx-api-key: {ALICE_KEY}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    return head.encode() + b"\r\n" + payload


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (f"/tasks?offset={2**64}", None),
        ("/tasks?limit=100000", None),
        ("/tasks", {"max_steps": 2**64}),
        ("/tasks", {"max_total_tokens": 2**70}),
        ("/tasks", {"max_wall_seconds": 10**30}),
        ("/tasks", {"max_steps": -1}),
    ],
)
async def test_numbers_beyond_the_bounds_get_422_and_the_connection_stays_open(server, repos, path, fields):
    if fields is None:
        bad = raw("GET", path)
    else:  # an allowed repo: the number is the only thing wrong
        repo = repos / "numbers"
        if not repo.exists():
            create_fixture_repo(repo)
        bad = raw("POST", path, {"task": "x", "repo": str(repo), **fields})
    assert await two_requests_on_one_connection(server, bad, raw("GET", "/tasks")) == [422, 200]


async def test_bodies_over_the_limit_or_not_utf8_and_large_inputs_are_not_echoed(alice):
    big = await alice.http.post("/tasks", json={"task": "x" * (10 * 1024 * 1024)})
    assert big.status_code == 413 and len(big.content) < 300 and str(BODY_LIMIT) in big.json()["detail"]
    not_utf8 = await alice.http.post(
        "/tasks", content=b'{"task": "caf\xe9"}', headers={"content-type": "application/json"}
    )
    assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.text
    long_task = await alice.http.post("/tasks", json={"task": "y" * 60_000})  # under the body limit, over max_length
    assert long_task.status_code == 422 and len(long_task.content) < 2000
    assert (await alice.http.get("/tasks")).status_code == 200


@pytest.mark.parametrize(
    ("repo", "fragment"),
    [
        ("file:///etc", "TASK_REPO_ROOTS"),
        ("/etc", "TASK_REPO_ROOTS"),
        ("ext::sh -c touch% /tmp/pwned", "remote helpers"),
        ("--upload-pack=touch /tmp/pwned", "start with '-'"),
        ("https://github.com/org/repo.git", "TASK_REPO_URL_HOSTS"),
        ("http://git.example.com/org/repo.git", "TASK_REPO_URL_SCHEMES"),
        (f"https://bob:{SECRET}@git.example.com/org/repo.git", "credentials"),
    ],
)
async def test_repos_the_server_does_not_allow_are_refused(server, alice, repo, fragment):
    before = len((await alice.http.get("/tasks")).json()["tasks"])
    response = await alice.http.post("/tasks", json={"task": "x", "repo": repo})
    assert response.status_code == 422 and fragment in response.text, response.text
    assert SECRET not in response.text and SECRET not in server.log_text()
    assert len((await alice.http.get("/tasks")).json()["tasks"]) == before


@pytest.mark.parametrize(
    ("repo", "fragment"),
    [
        ("file:///etc", "TASK_REPO_ROOTS"),
        ("/etc", "TASK_REPO_ROOTS"),
        ("ext::sh -c touch% /tmp/pwned", "remote helpers"),
        ("https://github.com/org/repo.git", "TASK_REPO_URL_HOSTS"),
        (["/etc"], "must be a string"),
    ],
)
async def test_a_run_created_through_the_langgraph_api_passes_the_same_repo_allow_list(server, repos, repo, fragment):
    """The LangGraph API beside the task API: a run whose input names a repo is checked like a task (422), and
    no run starts; an allowed repo is accepted."""
    client = get_client(url=server.url, api_key=ALICE_KEY)
    thread = await client.threads.create()
    refused_input: dict[str, Any] = {"messages": [{"role": "user", "content": "x"}], "repo": repo}
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.runs.create(thread["thread_id"], "agent", input=refused_input)
    assert refused.value.response.status_code == 422 and fragment in refused.value.response.text
    assert await client.runs.list(thread["thread_id"]) == []
    allowed = create_fixture_repo(repos / f"via-langgraph-api-{uuid.uuid4().hex[:8]}")
    allowed_input: dict[str, Any] = {**refused_input, "repo": str(allowed.path)}
    run = await client.runs.create(thread["thread_id"], "agent", input=allowed_input)
    await client.runs.cancel(thread["thread_id"], run["run_id"])


async def test_websocket_answers_every_frame_it_cannot_use_and_stays_open(server, alice, repos):
    repo = create_fixture_repo(repos / "ws-frames")
    task_id = (await alice.create(FIXTURE_TASK, str(repo.path)))["id"]
    async with websockets.connect(alice.ws_url(task_id), additional_headers=alice.headers, max_size=None) as ws:
        frames: list[str | bytes] = [
            b"\x00\x01binary",
            b'{"type": "approve"}',  # JSON, but in a binary frame
            "{not json",
            json.dumps({"type": "launch"}),
            json.dumps([1, 2, 3]),
            json.dumps({"type": "message", "message": ""}),
            json.dumps({"type": "message", "message": "m" * (BODY_LIMIT + 1)}),
        ]
        for frame in frames:
            await ws.send(frame)
            while (message := await next_message(ws))["type"] == "event":
                pass
            assert message["type"] == "error" and message["status"] == 400, message
            assert len(message["detail"]) < 1000
        await ws.send(json.dumps({"type": "reject"}))  # still usable: a real step gets its answer
        while (message := await next_message(ws))["type"] == "event":
            pass
        assert message["type"] in ("ack", "error") and message.get("action") == "reject"
    assert "Traceback" not in server.log_text()
    await alice.http.delete(f"/tasks/{task_id}")
