"""The service (a real `langgraph dev` server) serves our MCP sandbox server at /mcp, behind its API keys,
instead of langgraph-api's own MCP endpoint (langgraph.json `http.disable_mcp`)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from agent.http.apikeys import hash_key
from tests.mcp.support import PROTOCOLS, connect, structured, text
from tests.support.langgraph_server import LangGraphServer, running_server

pytestmark = pytest.mark.e2e

ALICE_KEY = "osk_mcp_alice_0123456789"
BOB_KEY = "osk_mcp_bob_9876543210"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LangGraphServer]:
    root = tmp_path_factory.mktemp("mcp-service")
    env = {
        "API_KEYS": f"alice:{hash_key(ALICE_KEY)},bob:{hash_key(BOB_KEY)}",
        "OPEN_SWE_STATE_DIR": str(root / "state"),
        "SANDBOX_ISOLATION": "none",
        "MCP_BACKENDS": "local",
        "SANDBOX_ROUTES": '[{"owner": "bob", "backend": "mcp"}, {"backend": "local", "allow": ["mcp"]}]',
    }
    with running_server(root / "srv", env, jobs=1) as server:
        yield server


@pytest.mark.parametrize("mode", PROTOCOLS)
async def test_the_service_serves_sandboxes_at_mcp(service: LangGraphServer, mode: str) -> None:
    url = f"{service.url}/mcp"
    async with connect(url, ALICE_KEY, mode=mode) as alice, connect(url, BOB_KEY, mode=mode) as bob:
        tools = {tool.name for tool in (await alice.list_tools()).tools}
        assert {"sandbox_create", "exec", "git_commit"} <= tools  # ours, not langgraph-api's graph tools
        sandbox_id = structured(await alice.call_tool("sandbox_create", {}))["id"]
        chunks: list[str] = []

        async def progress(progress: float, total: float | None, message: str | None) -> None:
            chunks.append(message or "")

        args = {"sandbox_id": sandbox_id, "command": "echo hi"}
        result = structured(await alice.call_tool("exec", args, progress_callback=progress))
        assert result["output"] == "hi\n" and chunks == ["hi\n"]
        refused = await bob.call_tool("exec", args)
        assert refused.is_error and "not found" in text(refused)
        assert structured(await alice.call_tool("sandbox_delete", {"sandbox_id": sandbox_id}))["deleted"]
        async with httpx2.AsyncClient() as http:  # the service's /metrics: the MCP server's sandboxes are local ones
            metrics = (await http.get(f"{service.url}/metrics")).text
        assert 'sandbox_exec_seconds_count{backend="local"}' in metrics
        assert 'sandbox_create_seconds_count{backend="local"}' in metrics and 'sandbox_live{backend="local"}' in metrics


async def test_the_service_refuses_mcp_without_a_valid_key(service: LangGraphServer) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx2.AsyncClient() as http:
        for headers in ({"Authorization": "Bearer osk_wrong"}, {}):
            response = await http.post(f"{service.url}/mcp", json=body, headers=headers)
            assert response.status_code == 401, response.text
            assert "resource_metadata" not in response.headers.get("www-authenticate", "")
        assert (await http.get(f"{service.url}/.well-known/oauth-protected-resource")).status_code in (401, 404)


def _repo(root: Path) -> str:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return str(root)


async def test_hybrid_routing_picks_the_backend_per_task_and_refuses_what_the_rules_do_not_allow(
    service: LangGraphServer, tmp_path: Path
) -> None:
    """SANDBOX_ROUTES (see the fixture): bob's tasks run on mcp; others on local, or on mcp when they ask."""
    repo = _repo(tmp_path / "repo")
    async with httpx2.AsyncClient(base_url=service.url, timeout=60) as http:

        async def create(key: str, **body: object) -> httpx2.Response:
            return await http.post("/tasks", json={"task": "noop", "repo": repo, **body}, headers={"x-api-key": key})

        bob = await create(BOB_KEY)
        assert bob.status_code == 201, bob.text
        view = (await http.get(f"/tasks/{bob.json()['id']}", headers={"x-api-key": BOB_KEY})).json()
        assert view["sandbox"] == "mcp"
        refused = await create(BOB_KEY, sandbox="local")
        assert refused.status_code == 422
        assert "sandbox 'local' is not allowed for this task by SANDBOX_ROUTES rule 0 (allowed: mcp)" in refused.text
        alice = await create(ALICE_KEY)
        assert alice.status_code == 201, alice.text
        view = (await http.get(f"/tasks/{alice.json()['id']}", headers={"x-api-key": ALICE_KEY})).json()
        assert view["sandbox"] == "local"
        chosen = await create(ALICE_KEY, sandbox="mcp")
        assert chosen.status_code == 201, chosen.text
        refused = await create(ALICE_KEY, sandbox="daytona")
        assert refused.status_code == 422 and "(allowed: local, mcp)" in refused.text
