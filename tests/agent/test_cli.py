"""The CLI as a real process, against the scripted OpenAI-compatible endpoint and the local sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.fixture_repo import FIXTURE_TASK, FixtureRepo, fix_bug_policy, run_fixture_tests
from tests.support.scripted_openai import ScriptedOpenAI

ROOT = Path(__file__).parents[2]


def cli(args: list[str], tmp_path: Path, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL")}
    base.update(OPEN_SWE_STATE_DIR=str(tmp_path / "state"), COLUMNS="200", **env)
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=base,
        cwd=tmp_path,
        timeout=150,
    )


def model_env(server: ScriptedOpenAI) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-cli-test-0000", "PYTHONPATH": str(ROOT)}


def test_run_with_auto_approve_fixes_the_bug(fixture_repo: FixtureRepo, tmp_path: Path) -> None:
    with ScriptedOpenAI(fix_bug_policy) as server:
        proc = cli(
            [
                "run",
                FIXTURE_TASK,
                "--repo",
                str(fixture_repo.path),
                "--auto-approve",
                "--model",
                "cli-model",
                "--thread-id",
                "cli-1",
            ],
            tmp_path,
            model_env(server),
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Fix the bug in calc.add" in out and "str_replace(" in out and "status completed" in out
    assert "+    return a + b" in out and "branch agent/cli-1" in out and "Fixed calc.add" in out
    assert run_fixture_tests(fixture_repo.path).passed
    assert {r.model for r in server.requests} == {"cli-model"}


def test_plan_approval_in_the_terminal(fixture_repo: FixtureRepo, tmp_path: Path) -> None:
    with ScriptedOpenAI(fix_bug_policy) as server:
        proc = cli(
            ["run", FIXTURE_TASK, "--repo", str(fixture_repo.path), "--model", "m"],
            tmp_path,
            model_env(server),
            stdin="a\n",
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Approve?" in proc.stdout and "status completed" in proc.stdout


def test_an_ignored_plan_exits_non_zero(fixture_repo: FixtureRepo, tmp_path: Path) -> None:
    with ScriptedOpenAI(fix_bug_policy) as server:
        proc = cli(
            ["run", FIXTURE_TASK, "--repo", str(fixture_repo.path), "--model", "m"],
            tmp_path,
            model_env(server),
            stdin="i\n",
        )
    assert proc.returncode == 1
    assert "status rejected" in proc.stdout and "plan rejected by the user" in proc.stdout
    assert not run_fixture_tests(fixture_repo.path).passed


def test_no_model_exits_with_a_message_naming_the_variables(fixture_repo: FixtureRepo, tmp_path: Path) -> None:
    proc = cli(["run", "anything", "--repo", str(fixture_repo.path)], tmp_path, {"PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert "MODEL" in proc.stdout and "OPENAI_API_KEY" in proc.stdout


def test_editing_the_plan_in_the_terminal(fixture_repo: FixtureRepo, tmp_path: Path) -> None:
    with ScriptedOpenAI(fix_bug_policy) as server:
        proc = cli(
            ["run", FIXTURE_TASK, "--repo", str(fixture_repo.path), "--model", "m"],
            tmp_path,
            model_env(server),
            stdin="e\nRepair calc.add\nRun the unit tests\n\n",
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    approved = proc.stdout.split("plan approved", 1)[1]
    assert "1. Repair calc.add" in approved and "2. Run the unit tests" in approved
    assert "status completed" in proc.stdout
