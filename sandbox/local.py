"""The local backend: commands and files on this machine, confined to a workspace, optionally inside bubblewrap.

`LocalSandbox` is one workspace (a directory) plus one resident command runner (see `runner.py`), started on first
use, inside bubblewrap when isolation is on. File operations run on the host, confined by `Workspace`.
`LocalProvider` hands workspaces to threads: the project itself (one thread at a time per path) or, in worktree
mode, a clone of the repository per thread (its own refs, index and configuration; objects shared read-only), so one
thread can neither read nor change another's files, branches or the repository's configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox import files as fileops
from sandbox import limits
from sandbox.backend_metrics import metered_provider, metered_sandbox
from sandbox.base import (
    ExecResult,
    FileContent,
    FileInfo,
    Lease,
    OutputCallback,
    SandboxBusy,
    SandboxError,
    SearchResult,
)
from sandbox.isolation import SANDBOX_HOME, SECCOMP_FD, TOOLS_DIR, Bwrap, choose
from sandbox.paths import Workspace
from sandbox.runner import Runner, runner_argv, runner_python
from sandbox.search import SEARCH_TIMEOUT as rg_timeout
from sandbox.search import find_rg
from sandbox.search import search as rg_search
from sandbox.secrets import command_env, env_files, remember_env_files
from sandbox.settings import ResourceLimits, SandboxSettings, WorkspaceMode
from sandbox.workspace import (
    CHECKOUT,
    GitSnapshot,
    PathLock,
    add_clone,
    check_thread_id,
    git,
    real_dir,
    remove_clone,
    repository,
    restore_git,
    snapshot_git,
    unsteer,
    worktree_path,
)

log = logging.getLogger(__name__)


@metered_sandbox("local")
class LocalSandbox:
    """One workspace directory on this machine. Use as `async with`, or call `aclose()`."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        settings: SandboxSettings | None = None,
        isolation: Bwrap | None = None,
        writable: Sequence[Path] = (),
        readonly: Sequence[Path] = (),
        sandbox_id: str | None = None,
    ) -> None:
        self._ws = Workspace(root)
        self._settings = settings or SandboxSettings()
        self._isolation = isolation
        self._id = sandbox_id or f"local:{self._ws.root}"
        self._home = SANDBOX_HOME if isolation else None
        python = runner_python()
        argv = runner_argv(python)
        rg = find_rg()
        fd_data = None
        if isolation is not None:
            git_dirs = [self._ws.root / ".git", *writable]
            argv = [
                *isolation.argv(
                    self._ws.root, writable=writable, readonly=readonly, python=python, git_dirs=git_dirs, rg=rg
                ),
                *argv,
            ]
            fd_data = (SECCOMP_FD, isolation.seccomp_program())
            self._tools = TOOLS_DIR
        else:
            self._tools = str(_plain_tools(self._settings.state_dir, rg))
        self._rg = f"{self._tools}/rg"
        label = f"runner for {self._id}" + (" (bwrap)" if isolation else "")
        self._base_env = self._env(None)
        self._limits: limits.Applied | None = None
        self._unlimited = self._settings.resource_limits is ResourceLimits.OFF
        self._runner = Runner(
            argv,
            env=self._base_env,
            cwd=str(self._ws.root),
            label=label,
            on_start=self._confine,
            fd_data=fd_data,
            max_processes=0 if self._unlimited else self._settings.max_processes,
        )

    @property
    def id(self) -> str:
        return self._id

    @property
    def root(self) -> str:
        return str(self._ws.root)

    @property
    def isolated(self) -> bool:
        return self._isolation is not None

    @property
    def runner_pid(self) -> int | None:
        """The resident runner's process id on the host (bwrap's, when isolated), if running."""
        return self._runner.pid

    @property
    def resource_limits(self) -> limits.Applied | None:
        """The limits the runner (and so every command) is under, and by which mechanism (`.mechanism`: a cgroup, or
        RLIMIT_NPROC in the sandbox's user namespace); None before the first command or without."""
        return self._limits

    async def _confine(self, runner_pid: int) -> None:
        """Put a just-started runner in the sandbox's cgroup (made on the first start), per SANDBOX_RESOURCE_LIMITS."""
        if self._unlimited:
            return
        if self._limits is None:
            establish = functools.partial(limits.establish, user_namespace=self._isolation is not None)
            self._limits = await asyncio.to_thread(establish, self._settings, self._id)
            self._unlimited = self._limits is None
            if self._limits is None:
                return
        required = self._settings.resource_limits is ResourceLimits.REQUIRED
        await asyncio.to_thread(limits.enter, self._limits, runner_pid, required=required)

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        return command_env(extra, allowlist=self._settings.env_allowlist, home=self._home, tools=self._tools)

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        on_output: OutputCallback | None = None,
    ) -> ExecResult:
        workdir = self.root if cwd is None else str(self._ws.directory(cwd).real)
        return await self._runner.run(
            command,
            cwd=workdir,
            env=self._env(env) if env else None,
            timeout=timeout or self._settings.exec_timeout,
            limit=self._settings.output_limit,
            on_output=on_output,
        )

    async def read(self, path: str, *, max_bytes: int | None = None) -> FileContent:
        return await asyncio.to_thread(fileops.read_file, self._ws, path, max_bytes or self._settings.read_limit)

    async def write(self, path: str, content: str | bytes) -> FileInfo:
        return await asyncio.to_thread(fileops.write_file, self._ws, path, content)

    async def list(self, path: str = ".", *, depth: int = 1) -> list[FileInfo]:
        return await asyncio.to_thread(fileops.list_dir, self._ws, path, max(1, depth))

    async def stat(self, path: str) -> FileInfo:
        return await asyncio.to_thread(fileops.stat_path, self._ws, path)

    async def search(
        self,
        pattern: str,
        *,
        path: str = ".",
        glob: str | None = None,
        max_results: int = 100,
        fixed_strings: bool = False,
        ignore_case: bool = False,
    ) -> SearchResult:
        ws = self._ws

        async def run(command: str, on_output: OutputCallback, timeout: float) -> ExecResult:
            return await self._runner.run(command, cwd=self.root, timeout=timeout, limit=16 * 1024, on_output=on_output)

        return await rg_search(
            ws,
            run,
            self._rg,
            pattern,
            path=path,
            glob=glob,
            max_results=max_results,
            fixed_strings=fixed_strings,
            ignore_case=ignore_case,
            timeout=min(rg_timeout, self._settings.exec_timeout),
        )

    async def upload(self, files: Mapping[str, bytes]) -> None:
        await asyncio.to_thread(fileops.write_many, self._ws, dict(files))

    async def download(self, path: str) -> bytes:
        return await asyncio.to_thread(fileops.read_bytes, self._ws, path)

    async def aclose(self) -> None:
        try:
            await self._runner.aclose()
        finally:
            if self._limits is not None:
                applied, self._limits = self._limits, None
                await asyncio.to_thread(limits.remove, applied)

    async def __aenter__(self) -> LocalSandbox:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


@dataclass(slots=True)
class _Held:
    thread_id: str
    sandbox: LocalSandbox
    project: Path
    lock: PathLock | None = None
    repo: Path | None = None
    """Set in worktree mode: the repository the worktree belongs to."""
    git_guard: GitSnapshot | None = None
    git_dir: Path | None = None
    """In place: the git directory `git_guard` is of (the repository's common one when the project is a worktree)."""
    """In place and isolated: what of the project's git directory is restored at release (see `restore_git`)."""


@metered_provider("local")
class LocalProvider:
    """Hands out local sandboxes: in place (the project itself, one thread at a time) or one git worktree per thread."""

    def __init__(self, settings: SandboxSettings | None = None, *, workspace_mode: WorkspaceMode | None = None) -> None:
        self._settings = settings or SandboxSettings()
        self._mode = workspace_mode or self._settings.workspace_mode
        self._held: dict[str, _Held] = {}
        self._isolation: Bwrap | None = None
        self._isolation_chosen = False
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return "local"

    @staticmethod
    def sandbox_id(thread_id: str) -> str:
        return f"local:{thread_id}"

    async def _choose_isolation(self) -> Bwrap | None:
        if not self._isolation_chosen:
            await asyncio.to_thread(remember_env_files)
            env_files = await asyncio.to_thread(_existing_env_files)
            self._isolation = await choose(self._settings, hidden=env_files)
            self._isolation_chosen = True
        return self._isolation

    async def _check_limits(self) -> None:
        """With SANDBOX_RESOURCE_LIMITS=required, fail at acquire (not at the first command) without cgroups."""
        if self._settings.resource_limits is ResourceLimits.REQUIRED:
            support = await asyncio.to_thread(limits.detect, self._settings.cgroup_root)
            if support.mechanism is None:
                raise limits.LimitsUnavailable(f"SANDBOX_RESOURCE_LIMITS=required but {support.problem}")

    def _project(self, project_path: str | None) -> Path:
        raw = project_path or self._settings.project_path
        if not raw:
            raise SandboxError("no project path: set OPEN_SWE_LOCAL_PROJECT_PATH or name one in the task")
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise SandboxError(f"project path {str(path)!r} does not exist or is not a directory")
        return path.resolve()

    async def acquire(self, thread_id: str, *, sandbox_id: str | None = None, project_path: str | None = None) -> Lease:
        check_thread_id(thread_id)
        project = await asyncio.to_thread(self._project, project_path)
        async with self._lock:
            sid = self.sandbox_id(thread_id)
            held = self._held.get(sid)
            if held is not None:
                if held.project != project:
                    raise SandboxBusy(f"thread {thread_id} already works on {held.project}; release it first")
                return Lease(held.sandbox, fresh=False, backend=self.name)
            isolation = await self._choose_isolation()
            await self._check_limits()
            if self._mode is WorkspaceMode.WORKTREE:
                held, fresh = await self._worktree(thread_id, sid, project, isolation)
            else:
                held, fresh = await self._in_place(thread_id, sid, project, isolation), True
            self._held[sid] = held
            log.info("sandbox %s: %s at %s", sid, self._mode.value, held.sandbox.root)
            return Lease(held.sandbox, fresh=fresh, backend=self.name)

    async def _in_place(self, thread_id: str, sid: str, project: Path, isolation: Bwrap | None) -> _Held:
        lock = PathLock(self._settings.state_dir, project)
        await asyncio.to_thread(lock.acquire, thread_id)
        try:
            writable = []
            git_dir = project / ".git"
            if isolation is not None:
                if not await asyncio.to_thread(os.path.lexists, project / ".git"):
                    # made here, not by the agent inside the sandbox: so its config and hooks are read-only there too
                    await git("init", "-q", cwd=project)
                elif await asyncio.to_thread((project / ".git").is_file):  # itself a worktree: its git dir is elsewhere
                    git_dir = (await repository(project))[1]
                    writable.append(git_dir)
            guard = None
            # a `commondir` left in a main repository's .git by a session that ended without its release (the service
            # was killed): never legitimate there
            if await asyncio.to_thread(real_dir, project / ".git") and (
                removed := await asyncio.to_thread(unsteer, project / ".git")
            ):
                log.warning("sandbox %s: removed %s planted in %s/.git", sid, removed, project)
            if isolation is not None and await asyncio.to_thread(real_dir, git_dir):
                guard = await asyncio.to_thread(snapshot_git, git_dir)
            sandbox = await asyncio.to_thread(
                LocalSandbox, project, settings=self._settings, isolation=isolation, writable=writable, sandbox_id=sid
            )
        except BaseException:
            lock.release()
            raise
        return _Held(thread_id, sandbox, project, lock=lock, git_guard=guard, git_dir=git_dir)

    async def _worktree(self, thread_id: str, sid: str, project: Path, isolation: Bwrap | None) -> tuple[_Held, bool]:
        repo, common = await repository(project)
        dest = worktree_path(self._settings.state_dir, repo, thread_id)
        fresh = await add_clone(repo, dest, branch_of(thread_id))
        # the clone borrows the repository's objects (alternates): readable, not writable, inside the sandbox
        sandbox = await asyncio.to_thread(
            LocalSandbox,
            dest,
            settings=self._settings,
            isolation=isolation,
            readonly=[common / "objects"],
            sandbox_id=sid,
        )
        if fresh:
            result = await sandbox.exec(CHECKOUT, timeout=self._settings.exec_timeout)
            if not result.ok:
                await sandbox.aclose()
                raise SandboxError(f"checking out {branch_of(thread_id)} failed: {result.output.strip()[-400:]}")
        return _Held(thread_id, sandbox, project, repo=repo), fresh

    async def release(self, sandbox_id: str, *, delete: bool | None = None) -> None:
        async with self._lock:
            held = self._held.pop(sandbox_id, None)
            if held is None:
                log.debug("release of %s: not held by this provider", sandbox_id)
                return
            await self._drop(held, delete=True if delete is None else delete)

    async def _drop(self, held: _Held, *, delete: bool) -> None:
        try:
            await held.sandbox.aclose()
        finally:
            if held.git_guard is not None and held.git_dir is not None:  # its commands are all dead: nothing races this
                undone = await asyncio.to_thread(restore_git, held.git_dir, held.git_guard)
                if undone:
                    log.warning("sandbox %s: undid changes to %s in %s", held.sandbox.id, undone, held.git_dir)
            if held.lock is not None:
                held.lock.release()
            if held.repo is not None and delete:
                await remove_clone(held.repo, Path(held.sandbox.root), branch_of(held.thread_id))

    async def aclose(self) -> None:
        """Stop every runner and release every lock; worktrees stay on disk for the threads to resume."""
        async with self._lock:
            held, self._held = list(self._held.values()), {}
            for entry in held:
                await self._drop(entry, delete=False)


def branch_of(thread_id: str) -> str:
    return f"agent/{thread_id}"


def _plain_tools(state_dir: Path, rg: str) -> Path:
    """A directory holding only a link to ripgrep, put first on PATH for commands without isolation."""
    tools = state_dir / "tools" / "bin"
    tools.mkdir(parents=True, exist_ok=True)
    link = tools / "rg"
    if os.path.realpath(link) != os.path.realpath(rg):
        tmp = tools / f".rg-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.path.realpath(rg))
        tmp.replace(link)
    return tools


def _existing_env_files() -> list[Path]:
    """The service's own `.env` files (masked inside bubblewrap sandboxes where visible)."""
    return [path.resolve() for path in env_files() if path.is_file()]
