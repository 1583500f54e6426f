"""Tasks of the evaluation suite: the shipped projects under bench/eval/tasks/ and SWE-bench instances.

A project file `bench/eval/tasks/<project>/project.json` names the source (a pinned PyPI sdist, an npm tarball, a git
bundle or a script), the environment and the test runner, and lists its tasks. Each task has a problem statement, a
reference `patch` (the fix, in `<id>.patch`), an optional `test_patch` (tests applied at grading, in `<id>.test.patch`),
and the FAIL_TO_PASS / PASS_TO_PASS test ids. The task's starting state is the pristine source with the reference patch
reversed (and the test patch reversed too when the source already contains those tests: `tests_in_source`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

TASKS_DIR = Path(__file__).resolve().parent / "tasks"

SourceKind = Literal["pypi", "npm", "bundle", "script", "git"]
Runner = Literal["pytest", "command"]


class SuiteError(ValueError):
    """A task or project file that cannot be used, with what is wrong."""


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    name: str = ""
    version: str = ""
    sha256: str = ""
    path: str = ""
    """bundle: the bundle file; script: a script that builds the tree in its first argument; git: a local repository."""
    ref: str = ""
    """bundle/git: the commit (or ref) to check out."""

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.name or Path(self.path).stem}-{self.version or self.ref[:12]}"


@dataclass(frozen=True)
class Environment:
    kind: Literal["python", "node", "none"] = "python"
    requires: tuple[str, ...] = ("pytest",)
    """Python: installed into the task's venv from PyPI before the agent runs (the project itself is on PYTHONPATH)."""
    pythonpath: tuple[str, ...] = (".",)


@dataclass(frozen=True)
class Task:
    id: str
    project: str
    source: Source
    problem_statement: str
    patch: str
    test_patch: str = ""
    fail_to_pass: tuple[str, ...] = ()
    pass_to_pass: tuple[str, ...] = ()
    reverse: tuple[str, ...] = ()
    """Patches reversed on the pristine source to make the starting state (the fix, and tests the source contains)."""
    env: Environment = field(default_factory=Environment)
    runner: Runner = "pytest"
    test_args: tuple[str, ...] = ()
    kind: str = "bug"
    size: str = ""

    def test_hint(self) -> str:
        """How to run the tests in the prepared workspace, for the task text a model reads."""
        if self.runner == "pytest":
            path = ":".join(self.env.pythonpath)
            # addopts off, as in grading: setup.cfg/tox.ini often ask for plugins (coverage...) not installed here
            return f"PYTHONPATH={path} .venv/bin/python -m pytest -o addopts= {' '.join(self.test_args)}".rstrip()
        return "node --test" if self.env.kind == "node" else "see the project's README"


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):  # SWE-bench stores these lists as JSON text
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise SuiteError(f"{what}: not a JSON list of strings") from exc
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SuiteError(f"{what}: expected a list of strings")
    return tuple(value)


def _read(directory: Path, name: str | None) -> str:
    if not name:
        return ""
    path = directory / name
    if not path.is_file():
        raise SuiteError(f"{path}: missing")
    return path.read_text()


def load_project(path: Path) -> list[Task]:
    """The tasks of one project file."""
    try:
        data = json.loads(path.read_text())
        return _project_tasks(path, data)
    except SuiteError:
        raise
    except (OSError, ValueError) as exc:
        raise SuiteError(f"{path}: {exc}") from exc
    except KeyError as exc:
        raise SuiteError(f"{path}: missing field {exc}") from exc
    except (TypeError, AttributeError) as exc:
        raise SuiteError(f"{path}: malformed: {exc}") from exc


def _project_tasks(path: Path, data: dict[str, Any]) -> list[Task]:
    directory = path.parent
    if data["source"].get("kind") not in ("pypi", "npm", "bundle", "script", "git"):
        raise SuiteError(f"{path}: unknown source kind {data['source'].get('kind')!r}")
    source = Source(**data["source"])
    env_data = data.get("env") or {}
    env = Environment(
        kind=env_data.get("kind", "python"),
        requires=tuple(env_data.get("requires", ("pytest",))),
        pythonpath=tuple(env_data.get("pythonpath", (".",))),
    )
    tasks = []
    for item in data["tasks"]:
        task_id = item["id"]
        patch = _read(directory, item.get("patch_file", f"{task_id}.patch"))
        test_patch = _read(directory, item.get("test_patch_file"))
        reverse = [patch]
        if test_patch and item.get("tests_in_source", True):
            reverse.append(test_patch)
        tasks.append(
            Task(
                id=task_id,
                project=data["project"],
                source=source,
                problem_statement=item["problem_statement"].strip(),
                patch=patch,
                test_patch=test_patch,
                fail_to_pass=_strings(item["FAIL_TO_PASS"], f"{task_id} FAIL_TO_PASS"),
                pass_to_pass=_strings(item.get("PASS_TO_PASS", []), f"{task_id} PASS_TO_PASS"),
                reverse=tuple(reverse),
                env=env,
                runner=data.get("runner", "pytest"),
                test_args=tuple(data.get("test_args", ())),
                kind=item.get("kind", "bug"),
                size=item.get("size", ""),
            )
        )
    return tasks


def load_suite(directory: Path = TASKS_DIR) -> list[Task]:
    tasks = [t for path in sorted(directory.glob("*/project.json")) for t in load_project(path)]
    ids = [t.id for t in tasks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SuiteError(f"duplicate task ids: {', '.join(duplicates)}")
    return tasks


SWE_FIELDS = ("repo", "base_commit", "problem_statement", "FAIL_TO_PASS", "PASS_TO_PASS", "patch")


def _local_repo(repos: Path, repo: str) -> Path:
    owner, _, name = repo.partition("/")
    for candidate in (repos / repo.replace("/", "__"), repos / owner / name, repos / (name or owner)):
        if (candidate / ".git").exists() or (candidate / "HEAD").is_file():
            return candidate
    raise SuiteError(
        f"repository {repo} is not available under {repos} (looked for {repo.replace('/', '__')}, {repo}, {name})"
    )


def load_swe_bench(path: Path, repos: Path) -> list[Task]:
    """SWE-bench instances (a JSON list or JSON lines) whose repositories are git clones under `repos`."""
    text = path.read_text()
    try:
        records = (
            json.loads(text)
            if text.lstrip().startswith("[")
            else [json.loads(x) for x in text.splitlines() if x.strip()]
        )
    except ValueError as exc:
        raise SuiteError(f"{path}: not JSON or JSON lines: {exc}") from exc
    tasks = []
    for number, record in enumerate(records, start=1):
        missing = [f for f in SWE_FIELDS if f not in record]
        if missing:
            raise SuiteError(f"{path} instance {number}: missing {', '.join(missing)}")
        local = _local_repo(repos, record["repo"])
        env = Environment(
            requires=tuple(record.get("requirements") or ("pytest",)),
            pythonpath=("src",) if (local / "src").is_dir() else (".",),
        )
        tasks.append(
            Task(
                id=record.get("instance_id") or f"{record['repo'].replace('/', '__')}-{number}",
                project=record["repo"],
                source=Source(kind="git", path=str(local), ref=record["base_commit"]),
                problem_statement=record["problem_statement"].strip(),
                patch=record["patch"],
                test_patch=record.get("test_patch") or "",
                fail_to_pass=_strings(record["FAIL_TO_PASS"], "FAIL_TO_PASS"),
                pass_to_pass=_strings(record["PASS_TO_PASS"], "PASS_TO_PASS"),
                env=env,
            )
        )
    return tasks


def select(tasks: list[Task], ids: str | None) -> list[Task]:
    if not ids:
        return tasks
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    known = {t.id for t in tasks}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise SuiteError(f"unknown task id(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [t for t in tasks if t.id in wanted]
