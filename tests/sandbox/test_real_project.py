"""A real PyPI project's own test suite, run by the agent's shell tool in a bubblewrap sandbox through the provider,
with the system's Python (not the service's), workspace outside /tmp: its result reaches the model as it is.

The sdist (more-itertools, pure Python, unittest-based tests shipped in it) is fetched once with the system's pip
(the sandbox has no network) and cached under /var/tmp/open-swe-tests/sdists.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from agent.config import AgentSettings
from agent.tools import PROGRAMMER_TOOLS
from agent.tools.base import ToolContext
from agent.tools.executor import run_tool_calls
from sandbox.base import Sandbox
from sandbox.local import LocalProvider
from sandbox.settings import Isolation, SandboxSettings
from tests.sandbox.service_user import SHARED

PACKAGE = "more-itertools==10.5.0"
SDIST = "more-itertools-10.5.0"


def sdist() -> Path:
    cache = SHARED / "sdists"
    archive = cache / f"{SDIST}.tar.gz"
    if not archive.exists():
        cache.mkdir(parents=True, exist_ok=True)
        fetched = subprocess.run(
            [
                "/usr/bin/python3",
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                PACKAGE,
                "-d",
                str(cache),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if fetched.returncode != 0:
            pytest.fail(f"cannot fetch {PACKAGE} from PyPI with the system's pip: {fetched.stderr[-500:]}")
    return archive


@pytest.fixture
async def project() -> AsyncIterator[Sandbox]:
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        with tarfile.open(sdist()) as archive:
            archive.extractall(tmp, filter="data")
        provider = LocalProvider(SandboxSettings(isolation=Isolation.BWRAP, state_dir=Path(tmp) / "state"))
        try:
            yield (await provider.acquire("real", project_path=str(Path(tmp) / SDIST))).sandbox
        finally:
            await provider.aclose()


async def shell(sandbox: Sandbox, command: str) -> tuple[bool, str]:
    reply = AIMessage("", tool_calls=[{"name": "shell", "args": {"command": command}, "id": "c1", "type": "tool_call"}])
    settings = AgentSettings(MODEL="m")
    result = await run_tool_calls(
        reply,
        PROGRAMMER_TOOLS,
        lambda cid, upd: ToolContext(sandbox, settings, {}, cid, lambda _: None, upd),
        output_chars=settings.tool_output_chars,
        emit=lambda _: None,
    )
    (message,) = result.messages
    return message.status == "success", str(message.content)


async def test_a_real_projects_suite_runs_with_the_system_python_and_its_result_is_unchanged(project: Sandbox) -> None:
    ok, text = await shell(project, "command -v python3 && python3 -m unittest tests.test_recipes 2>&1 | tail -3")
    assert ok and text.startswith("[exit code 0]\n/usr/bin/python3\n"), text
    assert "Ran " in text and "\nOK" in text, text
    recipes = (await project.read("more_itertools/recipes.py")).text
    assert recipes is not None and "def take(n, iterable):" in recipes
    broken = recipes.replace(
        "def take(n, iterable):", "def take(n, iterable):\n    return []\n\n\ndef _take(n, iterable):"
    )
    await project.write("more_itertools/recipes.py", broken)
    ok, text = await shell(project, "python3 -m unittest tests.test_recipes 2>&1 | tail -3; exit ${PIPESTATUS[0]}")
    assert not ok and text.startswith("[exit code 1]"), text
    assert "FAILED (failures=" in text, text
