"""Helpers of the harness tests: run `bench/eval.py` as a subprocess and read its last JSON line; a scratch directory
outside /tmp; a tiny local git project with a planted bug for SWE-bench-style instances."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
EVAL = REPO_ROOT / "bench" / "eval.py"
TELEMETRY_OFF = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true", "LANGSMITH_TRACING": "false"}


def run_eval(*args: str, timeout: float = 900, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EVAL), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **TELEMETRY_OFF, **(env or {})},
    )


def last_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    )
    result = json.loads(lines[-1])
    assert isinstance(result, dict)
    return result


def git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    ident = ["-c", "user.name=t", "-c", "user.email=t@localhost"]
    return subprocess.run(
        ["git", *ident, *args], cwd=cwd, check=True, capture_output=True, text=True, input=stdin
    ).stdout.strip()


BUGGY = "def clamp(x, lo, hi):\n    return max(lo, x)\n"
FIXED = "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n"
TESTS = "from clampy import clamp\n\n\ndef test_low():\n    assert clamp(-5, 0, 10) == 0\n"
NEW_TEST = "\n\ndef test_high():\n    assert clamp(50, 0, 10) == 10\n"


def swe_bench_instance(repos: Path) -> dict[str, Any]:
    """A git repository `repos/acme__clampy` with a bug at its base commit, and the SWE-bench instance describing it."""
    repo = repos / "acme__clampy"
    repo.mkdir(parents=True)
    (repo / "clampy.py").write_text(BUGGY)
    (repo / "test_clampy.py").write_text(TESTS)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "clamp")
    base = git(repo, "rev-parse", "HEAD")
    (repo / "clampy.py").write_text(FIXED)
    patch = git(repo, "diff") + "\n"
    git(repo, "checkout", "-q", "clampy.py")
    (repo / "test_clampy.py").write_text(TESTS + NEW_TEST)
    test_patch = git(repo, "diff") + "\n"
    git(repo, "checkout", "-q", "test_clampy.py")
    return {
        "instance_id": "acme__clampy-1",
        "repo": "acme/clampy",
        "base_commit": base,
        "problem_statement": "clamp(x, lo, hi) ignores its upper bound: clamp(50, 0, 10) returns 50 instead of 10.",
        "patch": patch,
        "test_patch": test_patch,
        "FAIL_TO_PASS": json.dumps(["test_clampy.py::test_high"]),
        "PASS_TO_PASS": json.dumps(["test_clampy.py::test_low"]),
    }
