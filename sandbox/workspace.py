"""Where a local sandbox works: the project itself (locked, one thread at a time) or a clone per thread.

Every git command the service runs on the host goes through `git`, with a configuration the repository cannot
influence: a repository's content and configuration are the thread's (hostile) input.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shlex
import shutil
import stat
from pathlib import Path

from sandbox.base import SandboxBusy, SandboxError
from sandbox.secrets import command_env

log = logging.getLogger(__name__)

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


GitSnapshot = dict[str, bytes | None]
STEERING = ("commondir",)
"""Files at a git directory's root that would make git read its configuration elsewhere (never in a main repository)."""
MAX_MODULES = 500


def snapshot_git(git_dir: Path) -> GitSnapshot:
    """What in a repository's git directory steers git but cannot be made read-only inside the sandbox (it may not
    exist yet): the `commondir` pointer, the submodules' configurations (`modules/**/config`) and the linked
    worktrees' own configurations (`worktrees/*/config.worktree`). Blocking."""
    found: GitSnapshot = {name: _read(git_dir / name) for name in STEERING}
    worktrees = git_dir / "worktrees"
    if worktrees.is_dir():
        for admin in sorted(worktrees.iterdir())[:MAX_MODULES]:
            found[f"worktrees/{admin.name}/config.worktree"] = _read(admin / "config.worktree")
    modules = git_dir / "modules"
    if modules.is_dir():
        for config in list(modules.glob("**/config"))[:MAX_MODULES]:
            found[str(config.relative_to(git_dir))] = _read(config)
    return found


def unsteer(git_dir: Path) -> list[str]:
    """Remove what would redirect git from a repository's own git directory (a main repository's or a thread's
    clone's, which never legitimately hold one) before the host's git uses it: a `commondir` planted there by a
    command makes git read its configuration, refs and objects from wherever it names. Returns what was removed.
    Blocking; call it when no command of the sandbox runs (at acquire, at release)."""
    removed = []
    for name in STEERING:
        path = git_dir / name
        if path.is_symlink() or path.exists():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(name)
    return removed


def real_dir(path: Path) -> bool:
    """`path` is a directory itself, not a symlink to one (nor a `gitdir:` file). Blocking."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def restore_git(git_dir: Path, before: GitSnapshot) -> list[str]:
    """Undo what a sandbox changed of `snapshot_git` (run once its commands are all dead). Returns what was undone."""
    undone = []
    for rel, content in snapshot_git(git_dir).items():
        if content == before.get(rel):
            continue
        path = git_dir / rel
        if before.get(rel) is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before[rel] or b"")
        undone.append(rel)
    return undone


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


HARDENED_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.untrackedCache=false",
    "core.pager=cat",
    "core.editor=true",
    "core.askPass=",
    "core.sshCommand=false",
    "core.alternateRefsCommand=true",
    "credential.helper=",
    "diff.external=",
    "protocol.allow=never",
    "protocol.file.allow=always",
    "submodule.recurse=false",
)
"""Configuration a repository cannot override on the host: no hooks, fsmonitor, pager, editor, askpass, ssh command,
credential helper, external diff, alternate-refs command, network protocol or submodule recursion. Filter and textconv
drivers cannot be named this way: the host never checks files out or diffs (that happens inside the sandbox)."""
HARDENED_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "GIT_EDITOR": "true",
    "GIT_ASKPASS": "/bin/false",
    "GIT_SSH_COMMAND": "false",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_PROTOCOL_FROM_USER": "0",
}
"""The environment of host-side git: no system or user configuration either."""


def hardened(*args: str) -> list[str]:
    """`git <args>` with HARDENED_CONFIG ahead of them."""
    flags = [item for setting in HARDENED_CONFIG for item in ("-c", setting)]
    return ["git", *flags, *args]


async def git(*args: str, cwd: Path) -> str:
    """Run git on the host with a configuration the repository cannot influence (see HARDENED_CONFIG)."""
    proc = await asyncio.create_subprocess_exec(
        *hardened(*args),
        cwd=cwd,
        env={**command_env(), **HARDENED_ENV},
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


async def add_clone(repo: Path, dest: Path, branch: str) -> bool:
    """A clone of `repo` for one thread at `dest`, on `branch` (the repository's own if it exists, else new from
    HEAD), sharing the repository's objects (alternates) but nothing else: its own refs, index and configuration.
    Files are not checked out here (a checkout runs the repository's filters): `CHECKOUT` does it in the sandbox.
    False when the clone was already there (a `.git` that is a symlink or a `gitdir:` file is not: it is made again).
    """
    if await asyncio.to_thread(real_dir, dest / ".git"):
        if removed := await asyncio.to_thread(unsteer, dest / ".git"):  # planted in an earlier session
            log.warning("%s: removed %s planted in the clone's git directory", dest, removed)
        return False
    await asyncio.to_thread(shutil.rmtree, dest, True)  # a half-made clone (or an old worktree) is made again
    await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
    exists = bool(await git("branch", "--list", branch, cwd=repo))
    sha = await git("rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}" if exists else "HEAD", cwd=repo)
    await git("clone", "--quiet", "--shared", "--no-checkout", "--template=", str(repo), str(dest), cwd=repo)
    await git("update-ref", f"refs/heads/{branch}", sha, cwd=dest)
    await git("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=dest)
    return True


CHECKOUT = "git -c core.hooksPath=/dev/null reset -q --hard HEAD"
"""Run inside the thread's sandbox after `add_clone`: fills the working tree (filters run confined)."""


async def remove_clone(repo: Path, dest: Path, branch: str) -> None:
    """Bring the thread's branch back into the repository, then delete its clone (uncommitted changes go with it).

    The fetch runs `upload-pack` in the clone, whose configuration the thread controlled: it gets the hardened
    configuration on its own command line (the local transport drops inherited `-c` settings), and whatever would
    redirect it elsewhere (`commondir`, a `.git` symlink or `gitdir:` file) is removed or refused first."""
    if not await asyncio.to_thread(real_dir, dest / ".git"):
        if await asyncio.to_thread(os.path.lexists, dest / ".git"):
            log.warning("%s: .git is not a directory there; the thread's branch %s was not brought back", dest, branch)
    else:
        if removed := await asyncio.to_thread(unsteer, dest / ".git"):
            log.warning("%s: removed %s planted in the clone's git directory before fetching from it", dest, removed)
        flags = " ".join(f"-c {shlex.quote(setting)}" for setting in HARDENED_CONFIG)
        try:
            current = await git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=repo)
        except SandboxError:  # a detached HEAD
            current = ""
        if current == branch:
            log.warning("%s: %s is checked out there; the thread's commits stay in %s", repo, branch, dest)
            return
        try:
            await git(
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                f"--upload-pack=git {flags} upload-pack",
                str(dest),
                f"+refs/heads/{branch}:refs/heads/{branch}",
                cwd=repo,
            )
        except SandboxError as exc:
            log.warning("%s: the thread's branch %s was not brought back: %s", repo, branch, exc)
            return
    await asyncio.to_thread(shutil.rmtree, dest, True)
