"""Authoring a task: from a pristine tree and edits that plant the bug (or remove the feature), write the reference
patch (and test patch) and compute FAIL_TO_PASS / PASS_TO_PASS by running the tests in both states.

    .venv/bin/python -m bench.eval.author PRISTINE_DIR OUT_DIR TASK_ID EDITS.json --python VENV/bin/python \
        --tests tests/test_x.py [--pythonpath src] [--p2p 25]

EDITS.json: [["path", "old text", "new text"], ...] (each old text must occur exactly once). Files whose path
contains "test" go to `<id>.test.patch`, the rest to `<id>.patch`. Prints the task's JSON entry (without the statement).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.eval.proc import git, run


def _is_test(path: str) -> bool:
    return "test" in path.split("/")[-1] or "/tests/" in f"/{path}"


async def _passed(tree: Path, python: str, tests: list[str], pythonpath: list[str], args: list[str]) -> set[str]:
    env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": ":".join(str(tree / p) for p in pythonpath)}
    argv = [
        python,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-rA",
        "--tb=no",
        "-q",
        "-o",
        "addopts=",
        "--continue-on-collection-errors",
        *args,
        *tests,
    ]
    result = await run(argv, cwd=tree, env=env)
    return {line[len("PASSED ") :].strip() for line in result.output.splitlines() if line.startswith("PASSED ")}


async def main(ns: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"author-{ns.task_id}-", dir="/var/tmp"))  # outside any project and /tmp
    pristine, buggy = work / "pristine", work / "buggy"
    shutil.copytree(ns.pristine, pristine, ignore=shutil.ignore_patterns(".complete", "__pycache__"))
    await git(pristine, "init", "-q")
    await git(pristine, "add", "-A", "-f")
    await git(pristine, "commit", "-q", "-m", "pristine")
    for path, old, new in json.loads(await asyncio.to_thread(Path(ns.edits).read_text)):
        file = pristine / path
        text = file.read_text() if file.exists() else ""
        if old and text.count(old) != 1:
            raise SystemExit(f"{path}: the old text occurs {text.count(old)} times")
        if old == "" and new == "":
            file.unlink()
            continue
        file.write_text(text.replace(old, new) if old else new)
    await git(pristine, "add", "-A", "-f")
    await git(pristine, "commit", "-q", "-m", "buggy")
    names = (await git(pristine, "diff", "--name-only", "HEAD", "HEAD~1")).output.split()
    src = [n for n in names if not _is_test(n)]
    tst = [n for n in names if _is_test(n)]
    fix = (await git(pristine, "diff", "--no-color", "HEAD", "HEAD~1", "--", *src)).output if src else ""
    test_fix = (await git(pristine, "diff", "--no-color", "HEAD", "HEAD~1", "--", *tst)).output if tst else ""
    out = Path(ns.out)
    (out / f"{ns.task_id}.patch").write_text(fix)
    if test_fix:
        (out / f"{ns.task_id}.test.patch").write_text(test_fix)
    # before = buggy source + the test patch; after = pristine
    shutil.copytree(pristine, buggy, ignore=shutil.ignore_patterns(".git"))
    await git(pristine, "checkout", "-q", "HEAD~1")
    if test_fix:
        await git(buggy, "init", "-q")
        await git(buggy, "apply", "-", stdin=test_fix.encode())
    before = await _passed(buggy, ns.python, ns.tests, ns.pythonpath, ns.pytest_args)
    after = await _passed(pristine, ns.python, ns.tests, ns.pythonpath, ns.pytest_args)
    f2p = sorted(after - before)
    p2p = sorted(after & before)
    step = max(1, len(p2p) // ns.p2p) if p2p else 1
    entry = {"id": ns.task_id, "FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p[::step][: ns.p2p]}
    if test_fix:
        entry["test_patch_file"] = f"{ns.task_id}.test.patch"
    print(json.dumps(entry, indent=2))
    print(f"# {len(f2p)} fail-to-pass, {len(p2p)} pass-to-pass (kept {len(entry['PASS_TO_PASS'])})", file=sys.stderr)
    if not os.environ.get("AUTHOR_KEEP"):
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("pristine")
    p.add_argument("out")
    p.add_argument("task_id")
    p.add_argument("edits")
    p.add_argument("--python", required=True)
    p.add_argument("--tests", nargs="+", required=True)
    p.add_argument("--pythonpath", nargs="+", default=["."])
    p.add_argument("--pytest-args", nargs="*", default=[])
    p.add_argument("--p2p", type=int, default=25)
    asyncio.run(main(p.parse_args()))
