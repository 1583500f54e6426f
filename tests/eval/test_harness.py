"""The harness end to end, as CI runs it: the real service (`python -m agent.serve`), the scripted oracle and noop
models, every shipped task prepared from its pinned sources and graded in a fresh copy."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.eval.policies import oracle_policy
from bench.eval.suite import load_suite, select
from tests.eval.support import last_json, run_eval, swe_bench_instance
from tests.support.scripted_openai import ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
ROW_KEYS = {"id", "resolved", "status", "tokens", "tool_calls", "seconds"}


@pytest.fixture(scope="module")
def work_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="eval-test-", dir="/var/tmp"))  # the harness refuses /tmp
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_oracle_resolves_every_task(work_dir: Path) -> None:
    runs = work_dir / "oracle"
    result = last_json(run_eval("--policy", "oracle", "--parallel", "4", "--work-dir", str(runs)))
    assert result["tasks"] >= 12
    failed = [r for r in result["per_task"] if not r["resolved"]]
    assert result["resolved_rate"] == 1.0, f"unresolved: {failed}"
    for row in result["per_task"]:
        assert row.keys() >= ROW_KEYS
        assert row["status"] == "completed" and row["tool_calls"] >= 3 and row["tokens"] > 0, row
    assert not list(runs.iterdir()), "the run directory is removed unless --keep"


def test_noop_resolves_nothing(work_dir: Path) -> None:
    result = last_json(run_eval("--policy", "noop", "--parallel", "4", "--work-dir", str(work_dir)))
    assert result["tasks"] >= 12
    assert result["resolved"] == 0 and result["resolved_rate"] == 0.0
    for row in result["per_task"]:
        assert row.keys() >= ROW_KEYS
        assert row["fail_to_pass"].startswith("0/"), row  # every FAIL_TO_PASS test still fails without a change
        assert row["status"] == "completed", row  # the agent claimed success: resolved does not follow the status


def test_swe_bench_instance_is_graded_like_the_suite(work_dir: Path) -> None:
    repos = work_dir / "repos"
    path = work_dir / "instances.json"
    path.write_text(json.dumps([swe_bench_instance(repos)]))
    common = ["--swe-bench", str(path), "--repos", str(repos), "--work-dir", str(work_dir / "runs")]
    oracle = last_json(run_eval("--policy", "oracle", *common))
    assert (oracle["tasks"], oracle["resolved"]) == (1, 1), oracle
    assert oracle["per_task"][0]["fail_to_pass"] == "1/1" and oracle["per_task"][0]["pass_to_pass"] == "1/1"
    checked = last_json(run_eval("--validate", *common))  # before the fix FAIL_TO_PASS fails, after it passes
    assert checked == {"tasks": 1, "valid": 1, "problems": {}}


def test_any_openai_compatible_endpoint_by_base_url_model_and_key_variable(work_dir: Path) -> None:
    """The `--policy model` path: the endpoint, model name and key come from the command line and the environment."""
    tasks = select(load_suite(), "ms-decimals")
    secret = "sk-eval-endpoint-key-7731"
    with ScriptedOpenAI(oracle_policy(tasks)) as endpoint:
        proc = run_eval(
            "--base-url", endpoint.base_url, "--model", "my-model", "--api-key-env", "MY_ENDPOINT_KEY",
            "--tasks", "ms-decimals", "--work-dir", str(work_dir),
            env={"MY_ENDPOINT_KEY": secret, "OPENAI_API_KEY": "", "MODEL": ""},
        )  # fmt: skip
        result = last_json(proc)
        models = {r.model for r in endpoint.requests}
    assert (result["tasks"], result["resolved"], result["model"], result["policy"]) == (1, 1, "my-model", "model")
    assert models == {"my-model"}
    assert secret not in proc.stdout + proc.stderr


def test_a_task_over_its_time_is_cancelled_and_reported(work_dir: Path) -> None:
    proc = run_eval(
        "--policy", "oracle", "--tasks", "ms-decimals", "--task-timeout", "0.5", "--work-dir", str(work_dir)
    )
    [row] = last_json(proc)["per_task"]
    assert (row["status"], row["resolved"]) == ("timeout", False), row
    assert "cancelled" in row["reason"]
