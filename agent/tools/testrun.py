"""Recognising a run of the project's tests in a command and its output, and summarising how it ended.

`parse_test_run(command, output, exit_code)` returns a `TestRun` when the command is a test runner (pytest, unittest,
node's test runner, go test, cargo test, or a wrapper such as `make test` / `npm test` / `tox`) or its output carries
one of their summaries; otherwise None. Counts come from the runner's own final summary lines:

- pytest: `==== 1 failed, 2 passed, 1 skipped in 1.32s ====` (also `-q`'s bare line)
- unittest: `Ran 4 tests in 0.001s` then `OK` / `FAILED (failures=1, errors=1, skipped=1)`
- node --test: `# tests 3` / `# pass 1` / `# fail 1` ... (TAP) or the same after an information sign (spec reporter)
- go test: `ok  <pkg>` / `FAIL <pkg>` lines, and `--- PASS/FAIL/SKIP:` lines with -v
- cargo test: one `test result: ok. 2 passed; 0 failed; 1 ignored; ...` per test binary (summed)
"""

from __future__ import annotations

import re
from typing import Literal, TypedDict

Framework = Literal["pytest", "unittest", "node", "go", "cargo", "unknown"]


class TestRun(TypedDict):
    command: str
    exit_code: int | None
    """None when the command timed out."""
    framework: Framework
    passed: int | None
    failed: int | None
    errors: int | None
    skipped: int | None
    total: int | None
    summary: str
    """The runner's own summary line(s), or `exit code N` when none was found."""
    ok: bool
    """The run ended with exit code 0."""


_RUNNER = re.compile(
    r"^(?:\w+=\S*\s+)*(?:(?:uv|poetry|pipenv|hatch|pdm)\s+run\s+(?:--\S+\s+)*|npx\s+|timeout\s+\S+\s+)?(?:\S*/)?(?:"
    r"pytest|py\.test|python[\d.]*\s+(?:-\S+\s+)*-m\s+(?:pytest|unittest)|python[\d.]*\s+\S*manage\.py\s+test|"
    r"node\s+(?:--\S+\s+)*--test|(?:npm|yarn|pnpm)\s+(?:run\s+)?test|jest|vitest|mocha|go\s+test|"
    r"cargo\s+(?:test|nextest)|make\s+(?:test|check)|tox|nox|ctest"
    r")(?=$|\s)"
)
_SEGMENTS = re.compile(r"&&|\|\||[;|\n]")
_PYTEST = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+) in [\d.]+s(?: \([^)]*\))?\s*=*$", re.M)
_PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)")
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in [\d.]+s$", re.M)
_UNITTEST_END = re.compile(r"^(OK|FAILED)(?: \(([^)]*)\))?\s*$", re.M)
_NODE = re.compile("^(?:#|\u2139) " r"(tests|pass|fail|cancelled|skipped|todo) (\d+)$", re.M)
_GO_PKG = re.compile(r"^(ok|FAIL)\s+\S+\s+(?:[\d.]+s|\(cached\))", re.M)
_GO_TEST = re.compile(r"^\s*--- (PASS|FAIL|SKIP): ", re.M)
_CARGO = re.compile(
    r"^test result: (ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored; (\d+) measured; (\d+) filtered out", re.M
)


def is_test_command(command: str) -> bool:
    """A segment of the command line (between `&&`, `;`, `|`) starts with a test runner."""
    return any(_RUNNER.match(segment.strip().lstrip("( ")) for segment in _SEGMENTS.split(command))


def _run(
    command: str,
    exit_code: int | None,
    framework: Framework,
    summary: str,
    *,
    passed: int | None = None,
    failed: int | None = None,
    errors: int | None = None,
    skipped: int | None = None,
    total: int | None = None,
) -> TestRun:
    if total is None and passed is not None:
        total = passed + (failed or 0) + (errors or 0) + (skipped or 0)
    return TestRun(
        command=command,
        exit_code=exit_code,
        framework=framework,
        passed=passed,
        failed=failed,
        errors=errors,
        skipped=skipped,
        total=total,
        summary=summary.strip(),
        ok=exit_code == 0,
    )


def _pytest(command: str, output: str, exit_code: int | None) -> TestRun | None:
    matches = list(_PYTEST.finditer(output))
    if not matches:
        return None
    line = matches[-1].group(0)
    counts: dict[str, int] = {}
    for number, word in _PYTEST_COUNT.findall(line):
        key = {"error": "errors", "warning": "warnings"}.get(word, word)
        counts[key] = counts.get(key, 0) + int(number)
    if not counts.keys() & {"passed", "failed", "errors", "skipped", "xfailed", "xpassed", "deselected"}:
        return None
    passed = counts.get("passed", 0) + counts.get("xpassed", 0)
    skipped = counts.get("skipped", 0) + counts.get("xfailed", 0)
    return _run(
        command,
        exit_code,
        "pytest",
        line.strip("= "),
        passed=passed,
        failed=counts.get("failed", 0),
        errors=counts.get("errors", 0),
        skipped=skipped,
    )


def _unittest(command: str, output: str, exit_code: int | None) -> TestRun | None:
    ran = list(_UNITTEST_RAN.finditer(output))
    if not ran:
        return None
    end = _UNITTEST_END.search(output, ran[-1].end())
    total = int(ran[-1].group(1))
    counts = re.findall(r"([\w ]+)=(\d+)", end.group(2) or "") if end is not None else []
    details = {key.strip(): int(value) for key, value in counts}
    failed, errors = details.get("failures", 0), details.get("errors", 0)
    skipped = details.get("skipped", 0) + details.get("expected failures", 0)
    summary = ran[-1].group(0) + (f"; {end.group(0).strip()}" if end else "")
    return _run(
        command,
        exit_code,
        "unittest",
        summary,
        passed=max(0, total - failed - errors - skipped),
        failed=failed,
        errors=errors,
        skipped=skipped,
        total=total,
    )


def _node(command: str, output: str, exit_code: int | None) -> TestRun | None:
    counts = {name: int(value) for name, value in _NODE.findall(output)}
    if "tests" not in counts or "pass" not in counts:
        return None
    summary = ", ".join(f"{name} {counts[name]}" for name in ("tests", "pass", "fail", "skipped") if name in counts)
    return _run(
        command,
        exit_code,
        "node",
        summary,
        passed=counts["pass"],
        failed=counts.get("fail", 0) + counts.get("cancelled", 0),
        errors=0,
        skipped=counts.get("skipped", 0) + counts.get("todo", 0),
        total=counts["tests"],
    )


def _go(command: str, output: str, exit_code: int | None) -> TestRun | None:
    packages = _GO_PKG.findall(output)
    if not packages:
        return None
    tests = _GO_TEST.findall(output)
    failed_pkgs = sum(1 for p in packages if p == "FAIL")
    summary = f"{len(packages) - failed_pkgs} package(s) ok, {failed_pkgs} failed"
    if not tests:
        return _run(command, exit_code, "go", summary)
    return _run(
        command,
        exit_code,
        "go",
        f"{summary}; tests: {tests.count('PASS')} passed, {tests.count('FAIL')} failed, {tests.count('SKIP')} skipped",
        passed=tests.count("PASS"),
        failed=tests.count("FAIL"),
        errors=0,
        skipped=tests.count("SKIP"),
    )


def _cargo(command: str, output: str, exit_code: int | None) -> TestRun | None:
    results = _CARGO.findall(output)
    if not results:
        return None
    passed = sum(int(r[1]) for r in results)
    failed = sum(int(r[2]) for r in results)
    ignored = sum(int(r[3]) for r in results)
    verdict = "FAILED" if any(r[0] == "FAILED" for r in results) else "ok"
    summary = f"test result: {verdict}. {passed} passed; {failed} failed; {ignored} ignored ({len(results)} binaries)"
    return _run(command, exit_code, "cargo", summary, passed=passed, failed=failed, errors=0, skipped=ignored)


_PARSERS = (_cargo, _go, _node, _pytest, _unittest)


def parse_test_run(command: str, output: str, exit_code: int | None) -> TestRun | None:
    """The test run in `command` + `output`, or None when it was not one (see the module docstring)."""
    for parser in _PARSERS:
        found = parser(command, output, exit_code)
        if found is not None:
            return found
    if is_test_command(command):
        ended = "timed out" if exit_code is None else f"exit code {exit_code}"
        return _run(command, exit_code, "unknown", f"no test summary found; {ended}")
    return None
