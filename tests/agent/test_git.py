"""Git in the sandbox: the agent's branch, commits that leave out .env and build artifacts, the diff vs the base."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.git import branch_name, commit_all, diff_against, porcelain, prepare_workspace, revert_new_changes
from sandbox.local import LocalSandbox
from sandbox.settings import SandboxSettings
from tests.support.fixture_repo import FixtureRepo


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
async def repo_sandbox(fixture_repo: FixtureRepo, tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    async with LocalSandbox(fixture_repo.path, settings=SandboxSettings(state_dir=tmp_path / "state")) as sb:
        yield sb


def test_branch_names_are_safe() -> None:
    assert branch_name("abc-123") == "agent/abc-123"
    assert branch_name("we ird:id?") == "agent/we-ird-id"


async def test_commits_leave_out_env_files_and_build_artifacts(fixture_repo: FixtureRepo, repo_sandbox) -> None:
    ws = await prepare_workspace(repo_sandbox, "t-1")
    assert ws.branch == "agent/t-1" and ws.base_commit == fixture_repo.base_commit and ws.snapshot is None
    root = fixture_repo.path
    (root / "calc.py").write_text((root / "calc.py").read_text().replace("a - b", "a + b"))
    (root / ".env").write_text("OPENAI_API_KEY=sk-secret-value-1234\n")
    for artifact in ("build/lib/x.py", "dist/pkg.whl", "node_modules/m/index.js", "sub/.env", "pkg/__pycache__/a.pyc"):
        (root / artifact).parent.mkdir(parents=True, exist_ok=True)
        (root / artifact).write_text("artifact")
    commit = await commit_all(repo_sandbox, "fix add")
    assert commit is not None and commit["message"] == "fix add"
    assert git(root, "show", "--name-only", "--format=", commit["sha"]).split() == ["calc.py"]
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD").strip() == "agent/t-1"
    assert await commit_all(repo_sandbox, "nothing new") is None
    diff = await diff_against(repo_sandbox, ws.base_commit)
    assert "+    return a + b" in diff and ".env" not in diff


async def test_uncommitted_changes_before_the_task_stay_out_of_its_diff(
    fixture_repo: FixtureRepo, repo_sandbox
) -> None:
    (fixture_repo.path / "README.md").write_text("# calc\n\nlocal edit\n")
    ws = await prepare_workspace(repo_sandbox, "t-2")
    assert ws.snapshot is not None and ws.base_commit == ws.snapshot["sha"]
    assert await diff_against(repo_sandbox, ws.base_commit) == ""


async def test_a_directory_without_git_becomes_a_repository(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "a.txt").write_text("a\n")
    async with LocalSandbox(root, settings=SandboxSettings(state_dir=tmp_path / "state")) as sb:
        ws = await prepare_workspace(sb, "t-3")
    assert ws.branch == "agent/t-3" and len(ws.base_commit) == 40
    assert git(root, "ls-files").split() == ["a.txt"]


async def test_reverting_restores_only_new_changes(fixture_repo: FixtureRepo, repo_sandbox) -> None:
    root = fixture_repo.path
    (root / "README.md").write_text("dirty before\n")
    baseline = await porcelain(repo_sandbox)
    (root / "calc.py").write_text("broken\n")
    (root / "new.txt").write_text("new\n")
    reverted = await revert_new_changes(repo_sandbox, baseline)
    assert sorted(reverted) == ["calc.py", "new.txt"]
    assert "return a - b" in (root / "calc.py").read_text() and not (root / "new.txt").exists()
    assert (root / "README.md").read_text() == "dirty before\n"


async def test_a_local_path_with_a_remote_backend_is_refused_clearly(tmp_path: Path) -> None:
    from agent.runtime import acquire_sandbox
    from sandbox.base import SandboxError

    with pytest.raises(SandboxError, match="only the local backend can use; give a git URL for the daytona backend"):
        await acquire_sandbox(
            {"repo": str(tmp_path)}, {"configurable": {"sandbox_backend": "daytona", "thread_id": "x"}}
        )


async def test_concurrent_first_runs_share_one_provider(agent_env: None, runtime_cleanup: None) -> None:
    import asyncio

    from agent.runtime import provider_for

    providers = await asyncio.gather(*(provider_for("local") for _ in range(8)))
    assert len({id(p) for p in providers}) == 1
