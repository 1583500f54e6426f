"""Runs tests/chatui/chatui.test.mjs (node's test runner, the official `@langchain/langgraph-sdk` from the npm
registry) against a real `langgraph dev` server and the scripted model, so `make test` covers the chat-UI flow."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.service.conftest import ALICE_KEY, RepoFactory
from tests.support.fixture_repo import FIXTURE_TASK, PLAN, SUMMARY
from tests.support.langgraph_server import LangGraphServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

PACKAGE = Path(__file__).resolve().parent


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: install Node.js 20+ and npm (Debian: apt-get install nodejs npm)")
    return path


async def _run(*argv: str, env: dict[str, str] | None = None, timeout: float) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=PACKAGE,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
        return -1, out.decode(errors="replace") + f"\n(killed after {timeout} s)"
    return int(process.returncode or 0), out.decode(errors="replace")


@pytest.fixture(scope="session")
def node_package() -> Path:
    """`npm ci` once, when node_modules is missing or older than package-lock.json (it is never committed)."""
    installed = PACKAGE / "node_modules" / ".package-lock.json"
    lock = PACKAGE / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        npm = [_tool("npm"), "ci", "--no-audit", "--no-fund"]
        done = subprocess.run(npm, cwd=PACKAGE, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return PACKAGE


async def test_langgraph_sdk_chat_ui_flow(node_package: Path, service: LangGraphServer, new_repo: RepoFactory) -> None:
    env = {
        "OPEN_SWE_URL": service.url,
        "OPEN_SWE_API_KEY": ALICE_KEY,
        "OPEN_SWE_REPOS": json.dumps([str(new_repo().path), str(new_repo().path)]),
        "OPEN_SWE_TASK": FIXTURE_TASK,
        "OPEN_SWE_PLAN": json.dumps(PLAN),
        "OPEN_SWE_SUMMARY": SUMMARY,
    }
    code, out = await _run(_tool("node"), "--test", "--test-reporter=tap", "chatui.test.mjs", env=env, timeout=360)
    assert code == 0, f"node --test failed:\n{out}"
    assert "# pass 2" in out and "# fail 0" in out, out
