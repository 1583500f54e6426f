"""Git inside the sandbox: the agent's branch, a commit after each change, the diff against the base commit.

Commits never include `.env` files or build artifacts (see `EXCLUDED`), whatever the repository's .gitignore says.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from agent.state import Commit
from sandbox.base import Sandbox, SandboxError

GIT = "git -c safe.directory='*' -c user.name=open-swe -c user.email=open-swe@localhost -c commit.gpgsign=false"
EXCLUDED = (
    "**/.env",
    "**/.env.local",
    "**/.env.*.local",
    "**/.env.production",
    "**/.env.development",
    "**/__pycache__/**",
    "**/*.pyc",
    "**/*.pyo",
    "**/node_modules/**",
    "**/dist/**",
    "**/build/**",
    "**/*.egg-info/**",
    "**/.pytest_cache/**",
    "**/.mypy_cache/**",
    "**/.ruff_cache/**",
    "**/.venv/**",
    "**/.tox/**",
    "**/target/**",
    "**/.coverage",
    "**/coverage/**",
    "**/*.o",
    "**/*.so",
    "**/*.class",
)
_PATHSPEC = " ".join(shlex.quote(f":(exclude,glob){p}") for p in EXCLUDED)


class GitError(SandboxError):
    """A git command failed in the sandbox."""


def branch_name(thread_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._/-]", "-", thread_id).strip("./-") or "task"
    return f"agent/{safe}"


async def git(sandbox: Sandbox, args: str, *, check: bool = True, timeout: float = 120) -> str:
    result = await sandbox.exec(f"{GIT} {args}", timeout=timeout)
    if check and not result.ok:
        raise GitError(f"git {args.split()[0]} failed: {result.output.strip()[-400:]}")
    return result.output


@dataclass(frozen=True, slots=True)
class Workspace:
    branch: str
    base_commit: str
    snapshot: Commit | None
    """A commit of changes that were already uncommitted before the task started (kept out of the diff)."""


async def prepare_workspace(sandbox: Sandbox, thread_id: str) -> Workspace:
    """Make sure the workspace is a git repository on `agent/<thread_id>`; return its base commit."""
    probe = await sandbox.exec(f"{GIT} rev-parse --is-inside-work-tree", timeout=60)
    if not probe.ok:
        await git(sandbox, "init -q")
    has_head = (await sandbox.exec(f"{GIT} rev-parse --verify -q HEAD", timeout=60)).ok
    branch = branch_name(thread_id)
    current = (await git(sandbox, "rev-parse --abbrev-ref HEAD", check=False)).strip()
    if current != branch:
        exists = (await sandbox.exec(f"{GIT} rev-parse --verify -q refs/heads/{shlex.quote(branch)}", timeout=60)).ok
        flag = "" if exists else "-c "
        await git(
            sandbox, f"switch -q {flag}{shlex.quote(branch)}" if has_head else f"checkout -q -b {shlex.quote(branch)}"
        )
    snapshot = await commit_all(sandbox, "open-swe: snapshot of changes present before the task")
    if not has_head and snapshot is None:
        await git(sandbox, "commit -q --allow-empty -m 'open-swe: empty base'")
    base = (await git(sandbox, "rev-parse HEAD")).strip()
    return Workspace(branch, base, snapshot)


async def commit_all(sandbox: Sandbox, message: str) -> Commit | None:
    """Commit every change except excluded paths; None when there was nothing to commit."""
    script = (
        f"{GIT} add -A -- . {_PATHSPEC} && "
        f"if {GIT} diff --cached --quiet; then echo NOTHING; "
        f"else {GIT} commit -q --no-verify -m {shlex.quote(message)} && {GIT} rev-parse HEAD; fi"
    )
    result = await sandbox.exec(script, timeout=120)
    if not result.ok:
        raise GitError(f"commit failed: {result.output.strip()[-400:]}")
    out = result.output.strip().splitlines()
    if not out or out[-1] == "NOTHING":
        return None
    return Commit(sha=out[-1].strip(), message=message)


async def diff_against(sandbox: Sandbox, base_commit: str) -> str:
    if not base_commit:
        return ""
    return await git(sandbox, f"diff --no-color --no-ext-diff {shlex.quote(base_commit)} HEAD")


async def porcelain(sandbox: Sandbox) -> list[str]:
    out = await git(sandbox, "status --porcelain --untracked-files=all")
    return [line for line in out.splitlines() if line.strip()]


async def revert_new_changes(sandbox: Sandbox, baseline: list[str]) -> list[str]:
    """Undo working-tree changes that are not in `baseline` (the planner must not write). Returns reverted paths."""
    before = set(baseline)
    reverted: list[str] = []
    for line in await porcelain(sandbox):
        if line in before:
            continue
        code, path = line[:2], line[3:].split(" -> ")[-1].strip('"')
        quoted = shlex.quote(path)
        if code == "??":
            parent = path.rstrip("/").rpartition("/")[0]
            prune = f" && rmdir -p --ignore-fail-on-non-empty -- {shlex.quote(parent)}" if parent else ""
            await sandbox.exec(f"rm -rf -- {quoted}{prune}", timeout=60)
        else:
            await git(sandbox, f"checkout -q HEAD -- {quoted}", check=False)
            await git(sandbox, f"reset -q -- {quoted}", check=False)
        reverted.append(path)
    return reverted
