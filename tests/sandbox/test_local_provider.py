"""LocalProvider: workspace modes, locking, worktrees on a real git repository, isolation choice, network."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.base import IsolationUnavailable, SandboxBusy, SandboxError, SandboxProvider
from sandbox.local import LocalProvider
from sandbox.registry import create_provider
from sandbox.settings import Isolation, SandboxSettings, WorkspaceMode


def settings_for(tmp_path: Path, **overrides: Any) -> SandboxSettings:
    values: dict[str, Any] = {
        "project_path": tmp_path / "project",
        "state_dir": tmp_path / "state",
        "isolation": Isolation.NONE,
    }
    values.update(overrides)
    return SandboxSettings(**values)


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=path, check=True)
    (path / "README.md").write_text("hello\n")
    subprocess.run([*git, "add", "."], cwd=path, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=path, check=True)
    return path


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[LocalProvider]:
    make_repo(tmp_path / "project")
    provider = LocalProvider(settings_for(tmp_path))
    yield provider
    await provider.aclose()


def test_registry_builds_it(tmp_path: Path) -> None:
    provider = create_provider("local", settings_for(tmp_path))
    assert isinstance(provider, LocalProvider) and isinstance(provider, SandboxProvider) and provider.name == "local"


# ---------------------------------------------------------------- in place


async def test_in_place_one_thread_at_a_time(provider: LocalProvider, tmp_path: Path) -> None:
    lease = await provider.acquire("t1")
    assert lease.fresh and lease.backend == "local" and lease.sandbox.root == str((tmp_path / "project").resolve())
    assert (await lease.sandbox.exec("cat README.md")).output == "hello\n"
    again = await provider.acquire("t1", sandbox_id=lease.sandbox.id)
    assert again.sandbox is lease.sandbox and not again.fresh
    with pytest.raises(SandboxBusy, match=r"busy.*t1"):
        await provider.acquire("t2")
    await provider.release(lease.sandbox.id)
    other = await provider.acquire("t2")
    assert other.sandbox.root == lease.sandbox.root
    await provider.release(other.sandbox.id)
    await provider.release(other.sandbox.id)  # releasing twice is harmless


async def test_in_place_lock_holds_across_processes(provider: LocalProvider, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, pathlib; from sandbox.workspace import PathLock;"
                f"lock = PathLock(pathlib.Path({str(tmp_path / 'state')!r}),"
                f" pathlib.Path({str((tmp_path / 'project').resolve())!r}));"
                "lock.acquire('other-process'); print('locked', flush=True); sys.stdin.read()"
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(SandboxBusy, match="other-process"):
            await provider.acquire("t1")
    finally:
        holder.communicate("")
    lease = await provider.acquire("t1")
    await provider.release(lease.sandbox.id)


async def test_project_path_errors(tmp_path: Path) -> None:
    provider = LocalProvider(settings_for(tmp_path, project_path=None))
    with pytest.raises(SandboxError, match="OPEN_SWE_LOCAL_PROJECT_PATH"):
        await provider.acquire("t1")
    with pytest.raises(SandboxError, match="does not exist"):
        await provider.acquire("t1", project_path=str(tmp_path / "nowhere"))
    with pytest.raises(SandboxError, match="thread id"):
        await provider.acquire("../evil", project_path=str(tmp_path))
    await provider.aclose()


async def test_a_thread_holds_one_project(provider: LocalProvider, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    await provider.acquire("t1")
    with pytest.raises(SandboxBusy, match="already works on"):
        await provider.acquire("t1", project_path=str(tmp_path / "elsewhere"))


async def test_aclose_stops_runners_and_frees_locks(tmp_path: Path) -> None:
    make_repo(tmp_path / "project")
    provider = LocalProvider(settings_for(tmp_path))
    lease = await provider.acquire("t1")
    await lease.sandbox.exec("true")
    pid = lease.sandbox.runner_pid  # type: ignore[attr-defined]
    await provider.aclose()
    assert pid is not None and not Path(f"/proc/{pid}").exists()
    second = LocalProvider(settings_for(tmp_path))
    await second.acquire("t2")
    await second.aclose()


# ---------------------------------------------------------------- worktrees


async def git_out(lease_sandbox: object, command: str) -> str:
    result = await lease_sandbox.exec(command)  # type: ignore[attr-defined]
    assert result.ok, result.output
    return result.output.strip()


@pytest.mark.parametrize("isolation", [Isolation.NONE, Isolation.BWRAP])
async def test_worktrees_keep_concurrent_threads_apart(tmp_path: Path, isolation: Isolation) -> None:
    repo = make_repo(tmp_path / "project")
    provider = LocalProvider(settings_for(tmp_path, workspace_mode=WorkspaceMode.WORKTREE, isolation=isolation))
    try:
        a, b = await asyncio.gather(provider.acquire("thread-a"), provider.acquire("thread-b"))
        assert a.fresh and b.fresh and a.sandbox.root != b.sandbox.root
        for lease, name in ((a, "thread-a"), (b, "thread-b")):
            assert Path(lease.sandbox.root).is_relative_to(tmp_path / "state" / "worktrees")
            assert await git_out(lease.sandbox, "git rev-parse --abbrev-ref HEAD") == f"agent/{name}"
        await asyncio.gather(a.sandbox.write("README.md", "from a\n"), b.sandbox.write("README.md", "from b\n"))
        assert (await a.sandbox.read("README.md")).text == "from a\n"
        assert (await b.sandbox.read("README.md")).text == "from b\n"
        assert (repo / "README.md").read_text() == "hello\n", "the project itself is untouched"
        commit = "git -c user.name=A -c user.email=a@example.com commit -qam 'a change' && git log --oneline -1"
        assert "a change" in await git_out(a.sandbox, commit)
        assert (await provider.acquire("thread-a")).sandbox is a.sandbox

        root_a = Path(a.sandbox.root)
        await provider.release(a.sandbox.id)
        assert not root_a.exists()
        assert Path(b.sandbox.root, "README.md").read_text() == "from b\n", "b's clone is untouched"
        branches = subprocess.run(
            ["git", "branch", "--list", "agent/*"], cwd=repo, capture_output=True, text=True
        ).stdout
        assert "agent/thread-a" in branches, "the branch (the thread's work) survives the worktree"
        log = subprocess.run(["git", "log", "--oneline", "agent/thread-a"], cwd=repo, capture_output=True, text=True)
        assert "a change" in log.stdout

        again = await provider.acquire("thread-a")  # resumes on the existing branch
        assert again.fresh and (await again.sandbox.read("README.md")).text == "from a\n"
    finally:
        await provider.aclose()


async def test_worktree_kept_when_not_deleted(tmp_path: Path) -> None:
    make_repo(tmp_path / "project")
    settings = settings_for(tmp_path, workspace_mode=WorkspaceMode.WORKTREE)
    provider = LocalProvider(settings)
    lease = await provider.acquire("t1")
    await lease.sandbox.write("notes.txt", "uncommitted")
    await provider.release(lease.sandbox.id, delete=False)
    again = await provider.acquire("t1")
    assert not again.fresh and (await again.sandbox.read("notes.txt")).text == "uncommitted"
    await provider.release(again.sandbox.id)
    assert not Path(again.sandbox.root).exists()
    await provider.aclose()


async def test_worktree_mode_needs_a_repository(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    provider = LocalProvider(settings_for(tmp_path, workspace_mode=WorkspaceMode.WORKTREE))
    with pytest.raises(SandboxError, match="git repository"):
        await provider.acquire("t1")
    await provider.aclose()


# ---------------------------------------------------------------- isolation choice


async def test_bwrap_requested_but_missing_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "project").mkdir()
    explicit = LocalProvider(settings_for(tmp_path, isolation=Isolation.BWRAP, bwrap_path=str(tmp_path / "no-bwrap")))
    with pytest.raises(IsolationUnavailable, match="apt-get install bubblewrap"):
        await explicit.acquire("t1")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("SANDBOX_ISOLATION", "bwrap")
    from_env = LocalProvider(SandboxSettings(project_path=tmp_path / "project", state_dir=tmp_path / "state"))
    with pytest.raises(IsolationUnavailable, match=r"SANDBOX_ISOLATION=bwrap.*not found"):
        await from_env.acquire("t1")


async def test_bwrap_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    provider = LocalProvider(settings_for(tmp_path, isolation=Isolation.BWRAP, bwrap_path=str(fake)))
    with pytest.raises(IsolationUnavailable, match=r"cannot create a sandbox.*No permissions"):
        await provider.acquire("t1")


async def test_auto_logs_its_choice(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "project").mkdir()
    with caplog.at_level(logging.INFO, logger="sandbox.isolation"):
        provider = LocalProvider(settings_for(tmp_path, isolation=Isolation.AUTO))
        lease = await provider.acquire("t1")
        assert lease.sandbox.isolated  # type: ignore[attr-defined]
        await provider.aclose()
    assert "sandbox isolation: bwrap" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sandbox.isolation"):
        provider = LocalProvider(settings_for(tmp_path, isolation=Isolation.AUTO, bwrap_path=str(tmp_path / "none")))
        lease = await provider.acquire("t1")
        assert not lease.sandbox.isolated  # type: ignore[attr-defined]
        assert (await lease.sandbox.exec("echo works")).ok
        await provider.aclose()
    assert "sandbox isolation: none" in caplog.text and "apt-get install bubblewrap" in caplog.text


@pytest.mark.parametrize("allow_network", [False, True])
async def test_network_is_off_unless_allowed(tmp_path: Path, allow_network: bool) -> None:
    (tmp_path / "project").mkdir()
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    provider = LocalProvider(settings_for(tmp_path, isolation=Isolation.BWRAP, allow_network=allow_network))
    try:
        async with server:
            lease = await provider.acquire("t1")
            probe = (
                f"timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' 2>/dev/null && echo CONNECTED || echo BLOCKED"
            )
            result = await lease.sandbox.exec(probe)
        assert result.output.strip() == ("CONNECTED" if allow_network else "BLOCKED")
    finally:
        await provider.aclose()


async def test_empty_variables_mean_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an empty project path must not silently become the current directory
    monkeypatch.setenv("OPEN_SWE_LOCAL_PROJECT_PATH", "")
    monkeypatch.setenv("OPEN_SWE_STATE_DIR", "")
    settings = SandboxSettings()
    assert settings.project_path is None and settings.state_dir.is_absolute()
    with pytest.raises(SandboxError, match="no project path"):
        await LocalProvider(settings).acquire("t1")
