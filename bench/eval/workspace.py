"""A task's starting state, its environment, the agent's workspace, and the fresh copies grading runs in.

Layout under the run directory (keep it outside /tmp: the sandbox gives commands a private /tmp):
    tasks/<id>/start     git repository, one commit: the pristine source with the task's reverse patches applied
    tasks/<id>/repo      the agent's workspace: a clone of start with its own copy of the environment in `.venv`
                         (git-excluded; inside the workspace because the sandbox shows nothing else of /var/tmp)
    tasks/<id>/grade-*   fresh clones of start where the agent's diff (and the task's test patch) are applied and graded
    envs/<project>       the project's environment (Python: a venv with the task's requirements), made once per run;
                         grading uses it, so nothing the agent does to its `.venv` changes the grade
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.eval import sources
from bench.eval.proc import git, run
from bench.eval.suite import TASKS_DIR, SuiteError, Task

DEFAULT_PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
"""The tasks' interpreter: a system one, visible inside the sandbox (the service's own virtualenv is not)."""
EXCLUDE = (".venv", "__pycache__/", "*.pyc", ".pytest_cache/", "node_modules/", "*.egg-info/")
_ENV_LOCKS: dict[str, asyncio.Lock] = {}


@dataclass(frozen=True)
class Prepared:
    task: Task
    root: Path
    start: Path
    repo: Path
    env: Path | None


async def _apply(cwd: Path, patch: str, *, reverse: bool = False) -> str | None:
    """Apply `patch` in the git repository `cwd`; the error text when it does not apply."""
    if not patch.strip():
        return None
    args = ["apply", "--whitespace=nowarn", *(["-R"] if reverse else []), "-"]
    result = await git(cwd, *args, stdin=patch.encode(), check=False)
    return None if result.ok else result.output.strip()[-1500:]


async def make_env(task: Task, run_dir: Path, *, python: str, index: str) -> Path | None:
    """The project's environment, installed from the index before the agent runs (the sandbox has no network)."""
    if task.env.kind != "python":
        return None
    env = run_dir / "envs" / task.project.replace("/", "__")
    async with _ENV_LOCKS.setdefault(str(env), asyncio.Lock()):
        if (env / ".complete").is_file():
            return env
        shutil.rmtree(env, ignore_errors=True)
        uv = shutil.which("uv")
        if uv:
            await run([uv, "venv", "-q", "--python", python, str(env)], check=True)
            target = ["--python", str(env / "bin" / "python"), "--index-url", index]
            await run([uv, "pip", "install", "-q", *target, *task.env.requires], check=True)
        else:
            await run([python, "-m", "venv", str(env)], check=True)
            pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--index-url", index]
            await run([*pip, *task.env.requires], check=True)
        (env / ".complete").write_text("")
        return env


async def prepare(
    task: Task, run_dir: Path, cache: Path, *, python: str = DEFAULT_PYTHON, index: str = sources.PYPI_SIMPLE
) -> Prepared:
    """Everything the agent and the grader need, made before the agent starts."""
    root = run_dir / "tasks" / task.id
    shutil.rmtree(root, ignore_errors=True)
    start, repo = root / "start", root / "repo"
    base = TASKS_DIR / task.project if task.source.kind in ("bundle", "script") else run_dir
    pristine, env = await asyncio.gather(
        sources.pristine(task.source, cache, base=base, index=index),
        make_env(task, run_dir, python=python, index=index),
    )
    await sources.copy_tree(pristine, start)
    await git(start, "init", "-q", "-b", "main")
    for patch in task.reverse:
        error = await _apply(start, patch, reverse=True)
        if error:
            raise SuiteError(f"{task.id}: a reverse patch does not apply to the pristine source: {error}")
    await git(start, "add", "-A", "-f")
    await git(start, "commit", "-q", "-m", f"{task.project}: starting state of {task.id}")
    await _clone(start, repo)
    if env is not None:
        # a venv is not relocatable in general, but `.venv/bin/python -m pytest` is: its interpreter is a symlink to
        # the system python and site-packages are found relative to it
        await run(["cp", "-a", str(env), str(repo / ".venv")], check=True)
    return Prepared(task=task, root=root, start=start, repo=repo, env=env)


async def _clone(start: Path, dest: Path) -> None:
    await git(start.parent, "clone", "-q", str(start), str(dest))
    await git(dest, "remote", "remove", "origin")
    with (dest / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("\n".join(EXCLUDE) + "\n")


async def fresh_copy(prepared: Prepared, name: str) -> Path:
    """A new clone of the starting state for grading."""
    dest = prepared.root / name
    shutil.rmtree(dest, ignore_errors=True)
    await _clone(prepared.start, dest)
    return dest


async def apply_change(copy: Path, diff: str, test_patch: str) -> str | None:
    """Apply the agent's diff, then the task's test patch; what went wrong, if anything."""
    error = await _apply(copy, diff)
    if error:
        return f"the agent's diff does not apply to a fresh copy: {error}"
    error = await _apply(copy, test_patch)
    if error:
        return f"the task's test patch does not apply after the agent's diff (were the tests edited?): {error}"
    return None
