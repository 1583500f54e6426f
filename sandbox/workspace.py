"""Where a local sandbox works: the project itself (locked, one thread at a time) or a git worktree per thread."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import re
from pathlib import Path

from sandbox.base import SandboxBusy, SandboxError
from sandbox.secrets import command_env

_THREAD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def path_key(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:16]


def check_thread_id(thread_id: str) -> str:
    """Thread ids become branch and directory names: keep them to a safe alphabet."""
    if not _THREAD_ID.fullmatch(thread_id) or ".." in thread_id or thread_id.endswith((".lock", ".")):
        raise SandboxError(f"thread id {thread_id!r} cannot name a workspace (use letters, digits, '.', '_', '-')")
    return thread_id


class PathLock:
    """An exclusive lock on a project path, held across processes with flock(2) on a file under the state dir."""

    def __init__(self, state_dir: Path, target: Path) -> None:
        self.file = state_dir / "locks" / f"{path_key(target)}.lock"
        self.target = target
        self._fd: int | None = None

    def acquire(self, owner: str) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise SandboxBusy(
                f"{self.target} is busy: in use by {holder}; wait for that task or use worktree mode"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"thread {owner} (pid {os.getpid()})\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


async def git(*args: str, cwd: Path) -> str:
    """Run git on the host with a scrubbed environment and hooks disabled (a repository's hooks are its code)."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-c",
        "core.hooksPath=/dev/null",
        *args,
        cwd=cwd,
        env=command_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SandboxError(f"git {args[0]} failed: {err.decode(errors='replace').strip() or f'exit {proc.returncode}'}")
    return out.decode().strip()


async def repository(project: Path) -> tuple[Path, Path]:
    """(top level, common git dir) of the repository at `project`, or a clear error."""
    try:
        top, common = (await git("rev-parse", "--show-toplevel", "--git-common-dir", cwd=project)).splitlines()
    except SandboxError:
        raise SandboxError(f"worktree mode needs a git repository, and {project} is not one") from None
    return Path(top), (project / common).resolve()


def worktree_path(state_dir: Path, repo: Path, thread_id: str) -> Path:
    return state_dir / "worktrees" / path_key(repo) / thread_id


async def add_worktree(repo: Path, dest: Path, branch: str) -> bool:
    """Check out `branch` (created from HEAD if new) at `dest`. False when the worktree was already there."""
    if await asyncio.to_thread((dest / ".git").exists):
        return False
    await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
    await git("worktree", "prune", cwd=repo)
    exists = bool(await git("branch", "--list", branch, cwd=repo))
    await git("worktree", "add", *([str(dest), branch] if exists else ["-b", branch, str(dest)]), cwd=repo)
    return True


async def remove_worktree(repo: Path, dest: Path) -> None:
    """Remove the worktree (uncommitted changes go with it; its branch stays) and prune git's record of it."""
    if await asyncio.to_thread(dest.exists):
        await git("worktree", "remove", "--force", str(dest), cwd=repo)
    await git("worktree", "prune", cwd=repo)
