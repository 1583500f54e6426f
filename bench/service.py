"""Benchmark of the service: 50 concurrent tasks through a real `langgraph dev` with the scripted model.

Starts the scripted OpenAI-compatible endpoint and the server itself (free ports, scratch directories), submits
the tasks over REST, follows each on its websocket, and prints one JSON object on its last line:
{"tasks", "completed", "lost", "first_event_ms" (median POST -> first event of the graph run on the websocket,
 `run_executing`), "first_task_event_ms" (median POST -> first event the graph wrote, `task_started`),
 "task_throughput_per_min", "server_rss_mb", ...}.

    .venv/bin/python bench/service.py [--tasks 50] [--jobs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.http.apikeys import hash_key
from tests.service.load import make_repos, run_load
from tests.support.fixture_repo import fix_bug_policy
from tests.support.langgraph_server import running_server
from tests.support.scripted_openai import ScriptedOpenAI

BENCH_KEY = "osk_bench_0123456789"


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


async def main(tasks: int, jobs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-service-") as scratch:
        root = Path(scratch)
        repos = make_repos(root / "repos", tasks)
        with ScriptedOpenAI(fix_bug_policy) as model:
            env = {
                "OPENAI_BASE_URL": model.base_url,
                "OPENAI_API_KEY": "sk-bench",
                "MODEL": "scripted",
                "API_KEYS": f"bench:{hash_key(BENCH_KEY)}",
                "OPEN_SWE_STATE_DIR": str(root / "state"),
                "OPEN_SWE_LOCAL_MODE": "true",
                "TASK_RATE_LIMIT": str(tasks * 2),
            }
            with running_server(root / "srv", env, jobs=jobs) as server:
                result = await run_load(server.url, BENCH_KEY, repos, timeout=900)
                assert server.proc is not None
                server_rss = rss_mb(server.proc.pid)
        errors = [o.error for o in result.outcomes if o.error][:3]
        return {
            "tasks": tasks,
            "completed": result.completed,
            "lost": result.lost,
            "first_event_ms": result.first_event_ms,
            "first_task_event_ms": result.first_task_event_ms,
            "task_throughput_per_min": result.throughput_per_min,
            "server_rss_mb": server_rss,
            "wall_seconds": round(result.wall_seconds, 1),
            "jobs_per_worker": jobs,
            "model_requests": len(model.requests),
            **({"errors": errors} if errors else {}),
        }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=50, help="--n-jobs-per-worker of the server")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.tasks, args.jobs))))
