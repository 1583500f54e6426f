"""The shipped suite and the harness's handling of bad input (no service needed)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from unidiff import PatchSet

from bench.eval.grade import grade, validate
from bench.eval.sources import download
from bench.eval.suite import Source, SuiteError, Task, load_suite, load_swe_bench, select
from bench.eval.workspace import prepare
from tests.eval.support import git, run_eval, swe_bench_instance


def test_the_suite_has_enough_real_tasks_of_varied_kinds() -> None:
    tasks = load_suite()
    assert len(tasks) >= 12
    assert len({t.project for t in tasks}) >= 6
    assert len({t.project for t in tasks if t.env.kind == "node"}) >= 2
    assert {t.kind for t in tasks} == {"bug", "feature"}
    assert any(len(PatchSet(t.patch)) >= 2 for t in tasks), "at least one task changes several files"
    for task in tasks:
        assert task.fail_to_pass, task.id
        assert len(PatchSet(task.patch)) >= 1, task.id
        assert task.source.kind in ("pypi", "npm") and len(task.source.sha256) == 64, task.id


def test_unknown_task_id_is_a_clear_error() -> None:
    proc = run_eval("--tasks", "inflection-ordinal,no-such-task", "--list", timeout=60)
    assert proc.returncode == 2
    assert "unknown task id(s): no-such-task" in proc.stderr
    with pytest.raises(SuiteError, match="unknown task id"):
        select(load_suite(), "nope")


def test_model_run_without_a_model_is_refused_before_any_work() -> None:
    proc = run_eval("--tasks", "ms-decimals", "--model", "", "--work-dir", "/var/tmp", timeout=60, env={"MODEL": ""})
    assert proc.returncode == 2
    assert "no model: pass --model" in proc.stderr


def test_scripted_policies_cannot_drive_another_service() -> None:
    proc = run_eval("--policy", "oracle", "--server", "http://127.0.0.1:9", "--tasks", "ms-decimals", timeout=120)
    assert proc.returncode == 2
    assert "--policy oracle serves its own scripted model" in proc.stderr


def test_work_dir_under_tmp_is_refused() -> None:
    proc = run_eval("--policy", "noop", "--work-dir", "/tmp/eval", timeout=60)
    assert proc.returncode == 2
    assert "must not be under /tmp" in proc.stderr


def test_swe_bench_instances_are_read_from_local_repositories(tmp_path: Path) -> None:
    instance = swe_bench_instance(tmp_path / "repos")
    path = tmp_path / "instances.jsonl"
    path.write_text(json.dumps(instance) + "\n")
    [task] = load_swe_bench(path, tmp_path / "repos")
    assert task.id == "acme__clampy-1" and task.source.kind == "git" and task.source.ref == instance["base_commit"]
    assert task.fail_to_pass == ("test_clampy.py::test_high",) and task.pass_to_pass == ("test_clampy.py::test_low",)
    path.write_text(json.dumps({**instance, "repo": "acme/missing"}) + "\n")
    with pytest.raises(SuiteError, match="acme/missing is not available"):
        load_swe_bench(path, tmp_path / "repos")
    path.write_text(json.dumps({k: v for k, v in instance.items() if k != "patch"}) + "\n")
    with pytest.raises(SuiteError, match="missing patch"):
        load_swe_bench(path, tmp_path / "repos")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "project.json: Expecting property name"),
        ('{"project": "p", "tasks": []}', "missing field 'source'"),
        ('{"project": "p", "source": {"kind": "ftp"}, "tasks": []}', "unknown source kind 'ftp'"),
        ('{"project": "p", "source": {"kind": "pypi"}, "tasks": [{"id": "t"}]}', "t.patch: missing"),
        ('{"project": "p", "source": {"kind": "pypi"}, "tasks": [{"id": "t", "patch_file": "x"}]}', "x: missing"),
        ('{"project": "p", "source": {"kind": "pypi", "colour": 1}, "tasks": []}', "malformed"),
    ],
)
def test_a_broken_project_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "project.json").write_text(text)
    with pytest.raises(SuiteError, match=re.escape(message)):
        load_suite(tmp_path)


def test_a_task_missing_its_statement_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "t.patch").write_text("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    (tmp_path / "p" / "project.json").write_text('{"project": "p", "source": {"kind": "pypi"}, "tasks": [{"id": "t"}]}')
    with pytest.raises(SuiteError, match="missing field 'problem_statement'"):
        load_suite(tmp_path)


def test_a_swe_bench_file_that_is_not_json_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "i.jsonl").write_text("{oops\n")
    with pytest.raises(SuiteError, match="not JSON or JSON lines"):
        load_swe_bench(tmp_path / "i.jsonl", tmp_path)


@pytest.fixture
def index() -> Iterator[tuple[str, bytes]]:
    """A PEP 691 JSON simple index on loopback serving one sdist."""
    payload = b"not really a tarball"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            return

        def do_GET(self) -> None:
            if self.path == "/simple/demo/":
                url = f"http://{self.headers['Host']}/files/demo-1.0.tar.gz"
                body = json.dumps({"files": [{"filename": "demo-1.0.tar.gz", "url": url}]}).encode()
            elif self.path == "/files/demo-1.0.tar.gz":
                body = payload
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/simple", payload
    server.shutdown()


async def test_downloads_are_verified_by_sha256_and_cached(index: tuple[str, bytes], tmp_path: Path) -> None:
    url, payload = index
    good = Source(kind="pypi", name="demo", version="1.0", sha256=hashlib.sha256(payload).hexdigest())
    path = await download(good, tmp_path, index=url)
    assert path.read_bytes() == payload
    assert await download(good, tmp_path, index="http://127.0.0.1:9/unreachable") == path  # cached: no request
    bad = Source(kind="pypi", name="demo", version="1.0", sha256="0" * 64)
    with pytest.raises(SuiteError, match="does not match the pinned"):
        await download(bad, tmp_path / "other", index=url)
    assert not list((tmp_path / "other" / "sources").iterdir()), "a download that fails verification is not kept"


async def test_a_git_bundle_source_is_prepared_and_validated(tmp_path: Path) -> None:
    """A task whose repository is a git bundle: starting state = the bundle's commit with the fix reversed."""
    instance = swe_bench_instance(tmp_path / "repos")
    origin = tmp_path / "repos" / "acme__clampy"
    git(origin, "apply", "-", stdin=instance["patch"])  # the bundle holds the fixed code; the task reverses the fix
    git(origin, "commit", "-q", "-am", "fixed")
    bundle = tmp_path / "clampy.bundle"
    git(origin, "bundle", "create", str(bundle), "main")
    task = Task(
        id="clampy-bundle",
        project="clampy",
        source=Source(kind="bundle", path=str(bundle), ref="main"),
        problem_statement=instance["problem_statement"],
        patch=instance["patch"],
        test_patch=instance["test_patch"],
        fail_to_pass=("test_clampy.py::test_high",),
        pass_to_pass=("test_clampy.py::test_low",),
        reverse=(instance["patch"],),
    )
    work = Path(tempfile.mkdtemp(prefix="eval-bundle-", dir="/var/tmp"))
    try:
        prepared = await prepare(task, work, work / "cache")
        assert "return max(lo, x)" in (prepared.repo / "clampy.py").read_text()  # the bug is in the workspace
        assert (prepared.repo / ".venv" / "bin" / "python").exists()
        assert git(prepared.repo, "status", "--porcelain") == "", ".venv is kept out of the diff"
        assert await validate(prepared) == []
        wrong = await grade(prepared, "--- a/clampy.py\n+++ b/clampy.py\n@@ -1 +1 @@\n-nothing\n+else\n")
        assert not wrong.resolved and "does not apply" in wrong.error
    finally:
        shutil.rmtree(work, ignore_errors=True)
