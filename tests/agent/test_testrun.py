"""The test-run parser on real outputs of each runner (tests/agent/test_outputs/: pytest 8, unittest, node 20's test
runner with its TAP and spec reporters, cargo 1.95; go test's documented output, go is not installed here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.tools.testrun import is_test_command, parse_test_run

OUTPUTS = Path(__file__).parent / "test_outputs"


@pytest.mark.parametrize(
    ("sample", "command", "exit_code", "expected"),
    [
        ("pytest_fail", "pytest", 1, ("pytest", 2, 1, 0, 1, 4, "1 failed, 2 passed, 1 skipped in 1.32s")),
        (
            "pytest_q_fail",
            "python -m pytest -q",
            1,
            ("pytest", 2, 1, 0, 1, 4, "1 failed, 2 passed, 1 skipped in 1.41s"),
        ),
        ("pytest_ok", "uv run pytest", 0, ("pytest", 2, 0, 0, 0, 2, "2 passed in 1.02s")),
        (
            "unittest_fail",
            "python3 -B -m unittest -v",
            1,
            ("unittest", 1, 1, 1, 1, 4, "Ran 4 tests in 0.001s; FAILED (failures=1, errors=1, skipped=1)"),
        ),
        ("unittest_ok", "python3 -m unittest", 0, ("unittest", 1, 0, 0, 0, 1, "Ran 1 test in 0.000s; OK")),
        ("node_fail", "node --test", 1, ("node", 1, 1, 0, 1, 3, "tests 3, pass 1, fail 1, skipped 1")),
        ("node_spec_fail", "node --test", 1, ("node", 1, 1, 0, 1, 3, "tests 3, pass 1, fail 1, skipped 1")),
        ("node_ok", "npm test", 0, ("node", 1, 0, 0, 1, 2, "tests 2, pass 1, fail 0, skipped 1")),
        (
            "cargo_fail",
            "cargo test",
            101,
            ("cargo", 1, 1, 0, 1, 3, "test result: FAILED. 1 passed; 1 failed; 1 ignored (1 binaries)"),
        ),
        (
            "cargo_ok",
            "cargo test",
            0,
            ("cargo", 2, 0, 0, 1, 3, "test result: ok. 2 passed; 0 failed; 1 ignored (2 binaries)"),
        ),
        (
            "go_fail",
            "go test -v ./...",
            1,
            ("go", 1, 1, 0, 1, 3, "1 package(s) ok, 1 failed; tests: 1 passed, 1 failed, 1 skipped"),
        ),
        ("go_ok", "go test ./...", 0, ("go", None, None, None, None, None, "2 package(s) ok, 0 failed")),
    ],
)
def test_real_runner_outputs_are_summarised(sample: str, command: str, exit_code: int, expected: tuple) -> None:
    run = parse_test_run(command, (OUTPUTS / f"{sample}.txt").read_text(), exit_code)
    assert run is not None
    got = (run["framework"], run["passed"], run["failed"], run["errors"], run["skipped"], run["total"], run["summary"])
    assert got == expected
    assert run["command"] == command and run["exit_code"] == exit_code and run["ok"] is (exit_code == 0)


def test_a_test_command_without_a_summary_is_still_a_test_run() -> None:
    run = parse_test_run("make test", "make: *** No rule to make target 'test'.  Stop.\n", 2)
    assert run is not None and run["framework"] == "unknown" and run["summary"] == "no test summary found; exit code 2"
    timed_out = parse_test_run("pytest -x", "....", None)
    assert timed_out is not None and timed_out["summary"].endswith("timed out") and timed_out["ok"] is False


@pytest.mark.parametrize(
    "command",
    [
        "pytest",
        "cd sub && python3 -B -m unittest -v",
        "FOO=1 uv run pytest -q tests",
        "node --test",
        "npm run test",
        "go test ./...",
        "cargo test --offline",
        "make test",
        "tox -e py312",
        "timeout 60 pytest",
    ],
)
def test_test_commands_are_recognised(command: str) -> None:
    assert is_test_command(command)


@pytest.mark.parametrize(
    "command", ["ls", "cat pytest.ini", "grep -rn pytest .", "git log -3", "python3 setup.py --version", "echo go test"]
)
def test_other_commands_are_not_test_runs(command: str) -> None:
    assert not is_test_command(command)
    assert parse_test_run(command, "hello\n", 0) is None
