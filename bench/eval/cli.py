"""`python bench/eval.py`: run the suite through the real service and print a table and one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.http.apikeys import hash_key
from bench.eval import sources
from bench.eval.grade import grade, validate
from bench.eval.policies import POLICIES
from bench.eval.service import AgentRun, ServiceClient
from bench.eval.suite import SuiteError, Task, load_suite, load_swe_bench, select
from bench.eval.workspace import DEFAULT_PYTHON, Prepared, prepare
from tests.support.langgraph_server import running_server
from tests.support.scripted_openai import ScriptedOpenAI

EVAL_KEY = "osk_eval_" + os.urandom(12).hex()
DEFAULT_WORK = Path("/var/tmp/open-swe-eval")
DEFAULT_CACHE = Path.home() / ".cache" / "open-swe-eval"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/eval.py", description="Evaluate the agent on a suite of real tasks.")
    p.add_argument(
        "--policy",
        choices=["model", *POLICIES],
        default="model",
        help="model: the endpoint below; oracle/noop: scripted models that prove the grading",
    )
    p.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL", ""),
        help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL, else OpenAI)",
    )
    p.add_argument("--model", default=os.environ.get("MODEL", ""), help="model name (default $MODEL)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the endpoint's key")
    p.add_argument("--backend", choices=["local", "daytona"], default="local", help="sandbox backend of the tasks")
    p.add_argument("--parallel", type=int, default=2, help="tasks run at once")
    p.add_argument("--tasks", default="", help="comma-separated task ids (default: all)")
    p.add_argument("--swe-bench", type=Path, help="a JSON/JSONL file of SWE-bench instances instead of the suite")
    p.add_argument("--repos", type=Path, help="with --swe-bench: directory holding the instances' git repositories")
    p.add_argument(
        "--server", default="", help="use this running service instead of starting one (key: $OPEN_SWE_EVAL_API_KEY)"
    )
    p.add_argument("--task-timeout", type=float, default=1800, help="seconds before a task is cancelled")
    p.add_argument("--max-steps", type=int, default=0, help="per-task step limit (0: the service's default)")
    p.add_argument("--max-total-tokens", type=int, default=0, help="per-task token limit (0: the service's default)")
    p.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help="where runs are made (not under /tmp)")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="downloaded sources and pristine trees")
    p.add_argument("--index-url", default=sources.PYPI_SIMPLE, help="package index (PEP 691 JSON simple API)")
    p.add_argument(
        "--python", default=DEFAULT_PYTHON, help="interpreter of the tasks' virtualenvs (visible in the sandbox)"
    )
    p.add_argument("--keep", action="store_true", help="keep the run directory (workspaces, grading copies, logs)")
    p.add_argument(
        "--validate",
        action="store_true",
        help="no agent: check each task (FAIL_TO_PASS fails before the reference patch and passes after)",
    )
    p.add_argument("--list", action="store_true", help="list the tasks and exit")
    args = p.parse_args(argv)
    if args.parallel < 1:
        p.error("--parallel must be at least 1")
    if args.swe_bench and not args.repos:
        p.error("--swe-bench needs --repos DIR (where the instances' repositories are cloned)")
    if args.work_dir.resolve().is_relative_to("/tmp"):
        p.error("--work-dir must not be under /tmp (the sandbox gives commands a private /tmp)")
    return args


def load_tasks(args: argparse.Namespace) -> list[Task]:
    tasks = load_swe_bench(args.swe_bench, args.repos) if args.swe_bench else load_suite()
    return select(tasks, args.tasks)


@contextlib.contextmanager
def model_env(args: argparse.Namespace, tasks: list[Task]) -> Iterator[dict[str, str]]:
    """The model settings of the server: a scripted model for oracle/noop, else the given endpoint (none with --server:
    that service has its own; `--model` then goes into each task's request)."""
    if args.server:
        if args.policy in POLICIES:
            raise SuiteError(f"--policy {args.policy} serves its own scripted model: it cannot drive --server")
        if not os.environ.get("OPEN_SWE_EVAL_API_KEY"):
            raise SuiteError("--server needs the service's API key in OPEN_SWE_EVAL_API_KEY")
        yield {}
        return
    if args.policy in POLICIES:
        with ScriptedOpenAI(POLICIES[args.policy](tasks)) as scripted:
            yield {"OPENAI_BASE_URL": scripted.base_url, "OPENAI_API_KEY": "sk-eval-scripted", "MODEL": "scripted"}
        return
    if not args.model:
        raise SuiteError("no model: pass --model (or set MODEL), or use --policy oracle|noop")
    env = {"MODEL": args.model, "OPENAI_BASE_URL": args.base_url}
    key = os.environ.get(args.api_key_env, "")
    if key:
        env["OPENAI_API_KEY"] = key
    elif not args.base_url:
        raise SuiteError(f"no API key: set {args.api_key_env} (or pass --base-url for a local server that needs none)")
    yield env


def row(task: Task, run: AgentRun, graded: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": task.id,
        "resolved": bool(graded.get("resolved")),
        "status": run.status,
        "tokens": run.tokens,
        "tool_calls": run.tool_calls,
        "seconds": run.seconds,
        **{k: v for k, v in graded.items() if k != "resolved"},
        **({"reason": run.reason[:300]} if run.reason else {}),
    }


async def prepare_all(args: argparse.Namespace, tasks: list[Task], run_dir: Path) -> dict[str, asyncio.Task[Any]]:
    """Start preparing every task (bounded by --parallel); a task that cannot be prepared yields its exception."""
    gate = asyncio.Semaphore(args.parallel)

    async def one(task: Task) -> Prepared | Exception:
        async with gate:
            try:
                return await prepare(task, run_dir, args.cache_dir, python=args.python, index=args.index_url)
            except Exception as exc:  # reported in the task's row, not fatal for the others
                return exc

    return {t.id: asyncio.create_task(one(t)) for t in tasks}


async def run_one(
    task: Task, preparing: asyncio.Task[Any], args: argparse.Namespace, client: ServiceClient, gate: asyncio.Semaphore
) -> dict[str, Any]:
    prepared = await preparing
    if isinstance(prepared, Exception):
        return row(task, AgentRun(status="setup_failed", reason=str(prepared)), {"resolved": False})
    limits: dict[str, Any] = {
        k: v for k, v in (("max_steps", args.max_steps), ("max_total_tokens", args.max_total_tokens)) if v
    }
    if args.server and args.model:
        limits["model"] = args.model
    async with gate:
        run = await client.run(prepared, sandbox=args.backend, timeout=args.task_timeout, limits=limits)
    started = time.monotonic()
    graded = await grade(prepared, run.diff)
    seconds = round(time.monotonic() - started, 1)
    return row(task, run, {"resolved": graded.resolved, **graded.summary(), "grade_seconds": seconds})


async def evaluate(args: argparse.Namespace, tasks: list[Task], run_dir: Path) -> dict[str, Any]:
    started = time.monotonic()
    preparing = await prepare_all(args, tasks, run_dir)  # meanwhile the service starts
    gate = asyncio.Semaphore(args.parallel)
    try:
        with model_env(args, tasks) as env, contextlib.ExitStack() as stack:
            if args.server:
                url, key = args.server, os.environ.get("OPEN_SWE_EVAL_API_KEY", "")
            else:
                server_env = {
                    **env,
                    "API_KEYS": f"eval:{hash_key(EVAL_KEY)}",
                    "OPEN_SWE_STATE_DIR": str(run_dir / "state"),
                    "OPEN_SWE_LOCAL_MODE": "true" if args.backend == "local" else "false",
                    "SANDBOX_WORKSPACE_MODE": "in_place",
                    "TASK_RATE_LIMIT": str(max(60, len(tasks) * 4)),
                    "TASK_REPO_ROOTS": str(run_dir / "tasks"),
                }
                starting = running_server(run_dir / "srv", server_env, jobs=max(args.parallel, 2))
                server = await asyncio.to_thread(stack.enter_context, starting)
                url, key = server.url, EVAL_KEY
            client = ServiceClient(url, key)
            try:
                rows = await asyncio.gather(*(run_one(t, preparing[t.id], args, client, gate) for t in tasks))
            finally:
                await client.aclose()
    finally:
        for pending in preparing.values():
            pending.cancel()
    resolved = sum(r["resolved"] for r in rows)
    return {
        "tasks": len(rows),
        "resolved": resolved,
        "resolved_rate": round(resolved / len(rows), 4) if rows else 0.0,
        "per_task": rows,
        "policy": args.policy,
        "model": "scripted" if args.policy in POLICIES else args.model,
        "backend": args.backend,
        "parallel": args.parallel,
        "statuses": dict(Counter(r["status"] for r in rows)),
        "tokens": sum(r["tokens"] for r in rows),
        "tool_calls": sum(r["tool_calls"] for r in rows),
        "wall_seconds": round(time.monotonic() - started, 1),
    }


async def validate_all(args: argparse.Namespace, tasks: list[Task], run_dir: Path) -> dict[str, Any]:
    preparing = await prepare_all(args, tasks, run_dir)

    async def one(task: Task) -> tuple[str, list[str]]:
        prepared = await preparing[task.id]
        if isinstance(prepared, Exception):
            return task.id, [f"setup failed: {prepared}"]
        return task.id, await validate(prepared)

    results = dict(await asyncio.gather(*(one(t) for t in tasks)))
    return {
        "tasks": len(tasks),
        "valid": sum(not p for p in results.values()),
        "problems": {k: v for k, v in results.items() if v},
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{'task':<28} {'resolved':<9} {'status':<14} {'F2P':>6} {'P2P':>7} {'tokens':>8} {'tools':>6} {'secs':>7}"
    ]
    for r in result["per_task"]:
        lines.append(
            f"{r['id']:<28} {('yes' if r['resolved'] else 'no'):<9} {r['status']:<14} {r.get('fail_to_pass', '-'):>6} "
            f"{r.get('pass_to_pass', '-'):>7} {r['tokens']:>8} {r['tool_calls']:>6} {r['seconds']:>7}"
        )
    lines.append(
        f"resolved {result['resolved']}/{result['tasks']} ({result['resolved_rate']:.0%}) in {result['wall_seconds']}s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        tasks = load_tasks(args)
    except (SuiteError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for t in tasks:
            print(f"{t.id:<28} {t.project:<16} {t.kind:<8} {t.size}")
        return 0
    args.work_dir.mkdir(parents=True, exist_ok=True)
    run_dir = args.work_dir / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    try:
        if args.validate:
            result = asyncio.run(validate_all(args, tasks, run_dir))
            for task_id, problems in result["problems"].items():
                print(f"{task_id}:\n  " + "\n  ".join(problems))
        else:
            result = asyncio.run(evaluate(args, tasks, run_dir))
            print(table(result))
    except SuiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as exc:  # the service did not start: say why, no traceback
        print(f"error: the service could not be started: {exc}", file=sys.stderr)
        return 3
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            print(f"run directory kept: {run_dir}", file=sys.stderr)
    print(json.dumps(result))
    return 0
