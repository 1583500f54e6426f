"""A `commondir` planted in a git directory (it makes git read configuration, refs and objects from wherever it names)
never steers the host's git: it is removed before the host uses that directory, not only at a release that a killed
service never reaches. Workspaces outside /tmp, as root and (where the provider runs as the user) unprivileged."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.local import LocalProvider
from sandbox.settings import Isolation, SandboxSettings, WorkspaceMode
from tests.sandbox.service_user import SHARED, drive, drive_as_user, ensure_user

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]


@pytest.fixture
def base() -> Iterator[Path]:
    SHARED.mkdir(parents=True, exist_ok=True)
    SHARED.chmod(0o755)
    path = SHARED / f"steer-{uuid.uuid4().hex[:12]}"
    (path / "state").mkdir(parents=True)
    project = path / "project"
    project.mkdir()
    (project / "README.md").write_text("hello\n")
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "init"], cwd=project, check=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def drive_for(user: str, base: Path, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The spec's threads driven by the service running as `user` (root, or the unprivileged user owning `base`)."""
    if user == "root":
        return await drive(spec)
    account = ensure_user()
    subprocess.run(["chown", "-R", f"{account.pw_uid}:{account.pw_gid}", str(base)], check=True)
    return await drive_as_user(spec)


def rev(project: Path, ref: str) -> str:
    return subprocess.run(["git", "rev-parse", ref], cwd=project, capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("user", ["root", "user"])
async def test_a_commondir_left_by_a_killed_session_is_removed_at_the_next_acquire(base: Path, user: str) -> None:
    """In place: the session that planted it never reached its release (the restore); the next one removes it before
    anything, so the user's `git status` does not read the planted configuration."""
    project, pwned = base / "project", base / "pwned"
    evil = project / "evil"
    evil.mkdir()
    shutil.copytree(project / ".git" / "objects", evil / "objects")
    shutil.copytree(project / ".git" / "refs", evil / "refs")
    (evil / "HEAD").write_text("ref: refs/heads/main\n")
    (evil / "config").write_text(f"[core]\n\tfsmonitor = echo x >> {pwned}\n")
    (project / ".git" / "commondir").write_text("../evil\n")
    spec = {
        "isolation": "bwrap",
        "mode": "in_place",
        "state_dir": str(base / "state"),
        "project": str(project),
        "threads": [["t1", [["exec", "test -e .git/commondir && echo still-there; echo ran"]]]],
    }
    (result,) = await drive_for(user, base, spec)
    assert result["out"] == "ran\n", result
    assert not (project / ".git" / "commondir").exists()
    subprocess.run(["git", "status", "--short"], cwd=project, capture_output=True, check=False)
    assert not pwned.exists(), "the user's git status read the planted configuration"


@pytest.mark.parametrize("isolation", ["bwrap", "none"])
async def test_a_commondir_planted_in_a_clone_does_not_choose_the_branch_brought_back(
    base: Path, isolation: str
) -> None:
    """Worktree mode: the thread points its clone's git directory at a copy whose branch is somewhere else; at
    release the host fetches the thread's real branch, not the one the copy names."""
    project = base / "project"
    settings = SandboxSettings(
        isolation=Isolation(isolation),
        workspace_mode=WorkspaceMode.WORKTREE,
        state_dir=base / "state",
        exec_timeout=30,
    )
    provider = LocalProvider(settings)
    try:
        sandbox = (await provider.acquire("t1", project_path=str(project))).sandbox
        mine = (await sandbox.exec(f"{' '.join(GIT)} commit -q --allow-empty -m mine && git rev-parse HEAD")).output
        plant = (
            "mkdir .git/evil && cp -r .git/objects .git/refs .git/HEAD .git/evil/ && "
            "{ cp .git/packed-refs .git/evil/ 2>/dev/null; true; } && "
            "git --git-dir=.git/evil update-ref refs/heads/agent/t1 HEAD~1 && echo evil > .git/commondir && "
            "git rev-parse HEAD"
        )
        steered = await sandbox.exec(plant)
        assert steered.ok and steered.output.strip() == rev(project, "main"), "the plant steers git in the clone"
        await provider.release(sandbox.id)
    finally:
        await provider.aclose()
    assert rev(project, "agent/t1") == mine.strip(), "the branch brought back is the thread's own"


@pytest.mark.parametrize("user", ["root", "user"])
async def test_a_project_that_is_a_linked_worktree_keeps_its_admin_directory(base: Path, user: str) -> None:
    """In place on a linked worktree, the repository's git directory is writable inside the sandbox; the worktrees'
    admin entries that steer git (`commondir`, `gitdir`, `config.worktree`) are not, nor can an admin directory be
    swapped for another, and a `config.worktree` made there is gone at release."""
    repo, wt = base / "project", base / "wt"
    subprocess.run([*GIT, "worktree", "add", "-q", str(wt), "-b", "side"], cwd=repo, check=True)
    admin = repo / ".git" / "worktrees" / "wt"
    before = {name: (admin / name).read_text() for name in ("commondir", "gitdir")}
    plant = (
        "d=$(git rev-parse --git-dir); (echo ../evil > $d/commondir) 2>/dev/null || echo commondir-refused; "
        "(echo x > $d/gitdir) 2>/dev/null || echo gitdir-refused; mv $d $d.old 2>/dev/null || echo move-refused; "
        "printf '[core]\\n\\tfsmonitor = true\\n' > $d/config.worktree; git status --short >/dev/null && echo git-works"
    )
    spec = {
        "isolation": "bwrap",
        "mode": "in_place",
        "state_dir": str(base / "state"),
        "project": str(wt),
        "threads": [["t1", [["exec", plant]]]],
    }
    (result,) = await drive_for(user, base, spec)
    assert result["out"].split() == ["commondir-refused", "gitdir-refused", "move-refused", "git-works"], result
    assert {name: (admin / name).read_text() for name in ("commondir", "gitdir")} == before
    assert not (admin / "config.worktree").exists(), "restored at release"
