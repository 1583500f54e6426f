"""Benchmark of the service: concurrent tasks through the real server with the scripted model.

Starts the scripted OpenAI-compatible endpoint and the service (free ports, scratch directories under /var/tmp):
`--runtime dev` one `langgraph dev`; `--runtime aegra` a real PostgreSQL and Redis and `--replicas` Aegra replicas
(each with its own state directory, as on separate hosts), behind a Caddy round-robin proxy when there are several.
Submits the tasks at once over REST, follows each on its websocket (both through the proxy), and prints one JSON
object on its last line:
{"tasks", "completed", "lost", "first_event_ms" (median POST -> first event of the graph run on the websocket,
 `run_executing`), "p95_first_event_ms" (its 95th percentile), "first_task_event_ms" (median POST -> first event the
 graph wrote, `task_started`), "task_throughput_per_min", "server_rss_mb" (summed over the replicas), "runtime",
 "replicas", ...}.

    .venv/bin/python bench/service.py [--runtime dev|aegra] [--replicas 1] [--tasks 50] [--jobs 50]
                                      [--timeout 900] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.http.apikeys import hash_key
from tests.service.load import make_repos, run_load
from tests.support.fixture_repo import fix_bug_policy
from tests.support.langgraph_server import LangGraphServer, running_server
from tests.support.postgres_server import running_postgres
from tests.support.proxy import running_proxy
from tests.support.redis_server import running_redis
from tests.support.scripted_openai import ScriptedOpenAI

BENCH_KEY = "osk_bench_0123456789"
SCRATCH_ROOT = Path("/var/tmp")
"""Workspaces outside /tmp, as users have them."""


def rss_mb(pid: int) -> float:
    """Resident memory of the server process and its children, in MB."""
    total = 0
    for status in [Path(f"/proc/{pid}/status"), *Path(f"/proc/{pid}/task").glob("*/children")]:
        if status.name == "status" and status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            total += int(rss_mb(int(child)) * 1024)
    return round(total / 1024, 1)


@contextmanager
def running_service(
    root: Path, env: dict[str, str], *, runtime: str, replicas: int, jobs: int
) -> Iterator[tuple[str, list[LangGraphServer]]]:
    """The service's URL (the proxy's with several replicas) and its servers, until the block ends."""
    with ExitStack() as stack:
        if runtime == "aegra":
            env = {
                **env,
                "DATABASE_URL": stack.enter_context(running_postgres(root)),
                "REDIS_URL": stack.enter_context(running_redis(root)),
            }
        servers = [
            stack.enter_context(
                running_server(
                    root / f"srv{index}",
                    {**env, "OPEN_SWE_STATE_DIR": str(root / f"state{index}")},
                    jobs=jobs,
                    args=("--runtime", runtime),
                )
            )
            for index in range(replicas)
        ]
        url = stack.enter_context(running_proxy(root / "proxy", [s.url for s in servers])) if replicas > 1 else None
        yield url or servers[0].url, servers


def main(
    tasks: int, jobs: int, runtime: str = "dev", replicas: int = 1, *, timeout: float = 900, keep: bool = False
) -> dict[str, object]:
    """Start everything (blocking), run the load on an event loop of its own, stop everything; the JSON's keys.
    `keep`: leave the scratch directory (servers' and proxy's logs, repositories) and name it in the JSON."""
    with tempfile.TemporaryDirectory(prefix="bench-service-", dir=SCRATCH_ROOT, delete=not keep) as scratch:
        root = Path(scratch)
        root.chmod(0o755)  # PostgreSQL's unprivileged user makes its cluster below
        repos = make_repos(root / "repos", tasks)
        with ScriptedOpenAI(fix_bug_policy) as model:
            env = {
                "OPENAI_BASE_URL": model.base_url,
                "OPENAI_API_KEY": "sk-bench",
                "MODEL": "scripted",
                "API_KEYS": f"bench:{hash_key(BENCH_KEY)}",
                "OPEN_SWE_LOCAL_MODE": "true",
                "TASK_RATE_LIMIT": str(tasks * 2),
            }
            with running_service(root, env, runtime=runtime, replicas=replicas, jobs=jobs) as (url, servers):
                result = asyncio.run(run_load(url, BENCH_KEY, repos, timeout=timeout))
                server_rss = sum(rss_mb(s.proc.pid) for s in servers if s.proc is not None)
        errors = [o.error or f"{o.status}: {o.reason}" for o in result.outcomes if o.error or not o.diff_fixed][:3]
        return {
            "tasks": tasks,
            "completed": result.completed,
            "lost": result.lost,
            "first_event_ms": result.first_event_ms,
            "p95_first_event_ms": result.p95_first_event_ms,
            "first_task_event_ms": result.first_task_event_ms,
            "task_throughput_per_min": result.throughput_per_min,
            "server_rss_mb": round(server_rss, 1),
            "wall_seconds": round(result.wall_seconds, 1),
            "jobs_per_worker": jobs,
            "model_requests": len(model.requests),
            "retries": result.retries,
            "runtime": runtime,
            "replicas": replicas,
            **({"errors": errors} if errors else {}),
            **({"scratch": scratch} if keep else {}),
        }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runtime", choices=("dev", "aegra"), default="dev", help="the server's runtime")
    parser.add_argument("--replicas", type=positive, default=1, help="replicas behind a round-robin proxy (aegra)")
    parser.add_argument("--tasks", type=positive, default=50)
    parser.add_argument("--jobs", type=positive, default=50, help="--n-jobs-per-worker of each replica")
    parser.add_argument("--timeout", type=positive, default=900, help="seconds each task may take")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory with the servers' logs")
    args = parser.parse_args(argv)
    if args.replicas > 1 and args.runtime != "aegra":
        parser.error(f"--replicas {args.replicas} needs --runtime aegra (langgraph dev keeps its state in one process)")
    return args


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


if __name__ == "__main__":
    args = parse_args()
    print(json.dumps(main(args.tasks, args.jobs, args.runtime, args.replicas, timeout=args.timeout, keep=args.keep)))
