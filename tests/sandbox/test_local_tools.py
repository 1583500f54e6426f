"""The agent's search tools on the local sandbox: ripgrep is there under /tmp and elsewhere, failures are failures."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.config import AgentSettings
from agent.tools.base import ToolContext, ToolError
from agent.tools.search import FindFilesArgs, GrepArgs, find_files, grep
from sandbox.isolation import choose
from sandbox.local import LocalSandbox
from sandbox.settings import Isolation, SandboxSettings


@pytest.fixture(params=["bwrap-tmp", "bwrap-var-tmp", "none-var-tmp"])
async def context(request: pytest.FixtureRequest) -> AsyncIterator[ToolContext]:
    isolation, where = request.param.split("-", 1)
    with tempfile.TemporaryDirectory(dir="/tmp" if where == "tmp" else "/var/tmp") as tmp:
        root = Path(tmp) / "ws"
        (root / "pkg").mkdir(parents=True)
        (root / "pkg" / "mod.py").write_text("def f():\n    return 1\n")
        (root / "a.py").write_text("x = 1\n")
        settings = SandboxSettings(isolation=Isolation(isolation), state_dir=Path(tmp) / "state")
        bwrap = await choose(settings)
        async with LocalSandbox(root, settings=settings, isolation=bwrap) as sandbox:
            yield ToolContext(sandbox, AgentSettings(MODEL="m"), {}, "c1", lambda _: None, {})


async def test_find_files_and_grep_work_wherever_the_workspace_is(context: ToolContext) -> None:
    assert (await find_files(context, FindFilesArgs(pattern="*.py"))).splitlines() == ["a.py", "pkg/mod.py"]
    assert await find_files(context, FindFilesArgs(pattern="*.rs")) == "no files match"
    assert await grep(context, GrepArgs(pattern="return")) == "pkg/mod.py:2:     return 1"


async def test_a_failing_ripgrep_is_reported_as_a_failure(context: ToolContext) -> None:
    with pytest.raises(ToolError, match="find_files failed"):
        await find_files(context, FindFilesArgs(pattern="*.py", path="no-such-dir"))
    with pytest.raises(ToolError, match="find_files failed"):
        await find_files(context, FindFilesArgs(pattern="{unclosed"))
