"""MCP Inspector's CLI (`@modelcontextprotocol/inspector`, pinned in tests/mcp/package.json) against a real
`open-swe mcp` server: a second, independent client implementation (TypeScript SDK) over streamable HTTP."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.mcp.process import McpServerProcess

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
INSPECTOR = HERE / "node_modules" / ".bin" / "mcp-inspector"


@pytest.fixture(scope="session")
def inspector() -> Path:
    """The Inspector's CLI, installed from tests/mcp/package-lock.json on first use (`npm ci`)."""
    if not INSPECTOR.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("the MCP Inspector tests need node 20+ and npm (apt-get install nodejs npm)", pytrace=False)
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"npm ci in tests/mcp failed: {done.stderr[-2000:]}"
    return INSPECTOR


async def run_cli(inspector: Path, server: McpServerProcess, key: str, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(inspector), "--cli", server.url, "--transport", "http", "--header", f"Authorization: Bearer {key}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def call(inspector: Path, server: McpServerProcess, tool: str, **args: str) -> dict[str, Any]:
    pairs = [f"{name}={value}" for name, value in args.items()]
    code, out, err = await run_cli(
        inspector,
        server,
        server.key,
        "--method",
        "tools/call",
        "--tool-name",
        tool,
        *(["--tool-arg", *pairs] if pairs else []),
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["isError"] is False, result
    return result["structuredContent"]


async def test_inspector_cli_lists_tools_creates_runs_echo_hi_and_deletes(
    inspector: Path, mcp_process: McpServerProcess
) -> None:
    code, out, err = await run_cli(inspector, mcp_process, mcp_process.key, "--method", "tools/list")
    assert code == 0, err
    tools = {tool["name"]: tool for tool in json.loads(out)["tools"]}
    assert {"sandbox_create", "exec", "read_file", "git_diff"} <= set(tools)
    assert tools["exec"]["outputSchema"]["properties"]["exit_code"]["type"] == "integer"

    sandbox_id = (await call(inspector, mcp_process, "sandbox_create"))["id"]
    result = await call(inspector, mcp_process, "exec", sandbox_id=sandbox_id, command="echo hi")
    assert result["output"] == "hi\n" and result["exit_code"] == 0
    assert (await call(inspector, mcp_process, "sandbox_delete", sandbox_id=sandbox_id))["deleted"] is True


async def test_inspector_cli_with_a_wrong_key_gets_nothing(inspector: Path, mcp_process: McpServerProcess) -> None:
    code, out, err = await run_cli(inspector, mcp_process, "osk_wrong", "--method", "tools/list")
    assert code != 0 and "sandbox_create" not in out, (out, err)
