"""The task's work as files that outlive its sandbox: the full diff against the base commit and an mbox of its commits.

Both are written by git to files under the repository's git directory and downloaded (`Sandbox.download`), never read
from a command's output, which sandboxes cap (64 KB): a change of any size is kept whole in the task's state, where the
service serves it (`GET /tasks/{id}/diff?format=patch|mbox`) after the sandbox is gone.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from agent.git import GIT, GitError
from sandbox.base import Sandbox

_DIR = "open-swe"


@dataclass(frozen=True, slots=True)
class TaskPatch:
    diff: str
    """`git diff --binary <base> HEAD`: applies with `git apply`."""
    mbox: str
    """`git format-patch --stdout <base>..HEAD`: the commits, for `git am`."""


async def task_patch(sandbox: Sandbox, base_commit: str) -> TaskPatch:
    if not base_commit:
        return TaskPatch("", "")
    base = shlex.quote(base_commit)
    script = (
        f'set -e; d=$({GIT} rev-parse --git-dir)/{_DIR}; mkdir -p "$d"; '
        f'{GIT} diff --no-color --no-ext-diff --binary {base} HEAD > "$d/task.patch"; '
        f'{GIT} -c format.signature= format-patch --no-color --stdout {base}..HEAD > "$d/task.mbox"; '
        'echo "$d"'
    )
    result = await sandbox.exec(script, timeout=300)
    if not result.ok:
        raise GitError(f"could not write the task's patch: {result.output.strip()[-400:]}")
    where = result.output.strip().splitlines()[-1]
    diff = await sandbox.download(f"{where}/task.patch")
    mbox = await sandbox.download(f"{where}/task.mbox")
    return TaskPatch(diff.decode("utf-8", errors="replace"), mbox.decode("utf-8", errors="replace"))
