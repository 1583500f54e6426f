"""Grading: the agent's diff applied to a fresh copy of the starting state, then FAIL_TO_PASS and PASS_TO_PASS run
there.

`pytest` tasks name test ids (`tests/test_x.py::TestY::test_z`); their files are run and an id passes when pytest's
`-rA` summary reports it `PASSED` (a file that no longer imports fails its ids, and only them). `command` tasks name
shell commands; one passes when it exits 0. A task is resolved when every FAIL_TO_PASS and every PASS_TO_PASS test
passes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.eval.proc import run
from bench.eval.workspace import Prepared, apply_change, fresh_copy

TEST_TIMEOUT = 600


@dataclass
class Grade:
    resolved: bool = False
    fail_to_pass: dict[str, bool] = field(default_factory=dict)
    pass_to_pass: dict[str, bool] = field(default_factory=dict)
    error: str = ""
    output_tail: str = ""

    def summary(self) -> dict[str, object]:
        return {
            "fail_to_pass": f"{sum(self.fail_to_pass.values())}/{len(self.fail_to_pass)}",
            "pass_to_pass": f"{sum(self.pass_to_pass.values())}/{len(self.pass_to_pass)}",
            **({"grading_error": self.error} if self.error else {}),
        }


def test_environment(prepared: Prepared, copy: Path) -> dict[str, str]:
    env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "NO_COLOR": "1"}
    task = prepared.task
    if prepared.env is not None:
        env["PATH"] = f"{prepared.env / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        env["VIRTUAL_ENV"] = str(prepared.env)
        env["PYTHONPATH"] = ":".join(str(copy / p) for p in task.env.pythonpath)
    return env


async def run_tests(prepared: Prepared, copy: Path, ids: list[str]) -> tuple[dict[str, bool], str]:
    """Which of `ids` pass in `copy`, and the output."""
    if not ids:
        return {}, ""
    env = test_environment(prepared, copy)
    task = prepared.task
    if task.runner == "pytest":
        python = str(prepared.env / "bin" / "python") if prepared.env else "python3"
        argv = [
            python,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rA",
            "--tb=short",
            "-o",
            "addopts=",
            "--continue-on-collection-errors",
            *task.test_args,
        ]
        files = sorted({i.split("::", 1)[0] for i in ids})  # whole files: an id pytest cannot find aborts the whole run
        result = await run([*argv, *files], cwd=copy, env=env, timeout=TEST_TIMEOUT)
        passed = {line.strip()[len("PASSED ") :] for line in result.output.splitlines() if line.startswith("PASSED ")}
        return {i: i in passed for i in ids}, result.output
    outcomes, outputs = {}, []
    for command in ids:
        result = await run(["bash", "-c", command], cwd=copy, env=env, timeout=TEST_TIMEOUT)
        outcomes[command] = result.ok
        outputs.append(f"$ {command}  (exit {result.code})\n{result.output}")
    return outcomes, "\n".join(outputs)


async def grade(prepared: Prepared, diff: str, *, name: str = "grade") -> Grade:
    task = prepared.task
    copy = await fresh_copy(prepared, name)
    error = await apply_change(copy, diff, task.test_patch)
    if error:
        return Grade(
            fail_to_pass=dict.fromkeys(task.fail_to_pass, False),
            pass_to_pass=dict.fromkeys(task.pass_to_pass, False),
            error=error,
        )
    outcomes, output = await run_tests(prepared, copy, [*task.fail_to_pass, *task.pass_to_pass])
    f2p = {i: outcomes[i] for i in task.fail_to_pass}
    p2p = {i: outcomes[i] for i in task.pass_to_pass}
    resolved = bool(f2p) and all(f2p.values()) and all(p2p.values())
    return Grade(resolved=resolved, fail_to_pass=f2p, pass_to_pass=p2p, output_tail=output[-3000:])


async def validate(prepared: Prepared) -> list[str]:
    """Problems with a task's definition: FAIL_TO_PASS must fail before the fix and pass after, PASS_TO_PASS in both."""
    task = prepared.task
    problems = []
    before = await grade(prepared, "", name="validate-before")
    after = await grade(prepared, task.patch, name="validate-after")
    if after.error or before.error:
        problems.append(after.error or before.error)
    problems += [f"FAIL_TO_PASS passes before the fix: {i}" for i, ok in before.fail_to_pass.items() if ok]
    problems += [f"FAIL_TO_PASS fails with the fix: {i}" for i, ok in after.fail_to_pass.items() if not ok]
    problems += [f"PASS_TO_PASS fails with the fix: {i}" for i, ok in after.pass_to_pass.items() if not ok]
    problems += [f"PASS_TO_PASS fails before the fix: {i}" for i, ok in before.pass_to_pass.items() if not ok]
    if problems and after.output_tail:
        problems.append("last output:\n" + after.output_tail[-1500:])
    return problems
