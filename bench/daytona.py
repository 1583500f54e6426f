"""Benchmark of the Daytona backend: the real SDK against the local test server, with an injected create latency.

Run: .venv/bin/python bench/daytona.py [--runs N] [--create-latency-ms 700]
Prints a few human lines, then one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

# This file is named like the SDK: keep its directory off the import path, put the repository on it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from tests.daytona_server.fixtures import provider_for  # noqa: E402
from tests.daytona_server.server import DaytonaTestServer  # noqa: E402


def ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 2)


async def timed(fn: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


async def bench(server: DaytonaTestServer, runs: int, latency: float) -> dict[str, object]:
    server.faults.create_delay = latency
    cold = provider_for(server)
    warm = provider_for(server, pool_size=runs)
    try:
        await cold.acquire("bench-warmup")  # the client is built once per process (~100 ms), not per acquire
        cold_samples = []
        for i in range(runs):
            started = time.perf_counter()
            await cold.acquire(f"cold-{i}")
            cold_samples.append(time.perf_counter() - started)

        await warm.acquire("bench-warmup")
        assert warm.pool is not None
        await warm.pool.wait_idle()
        await warm.warm_up()
        warm_samples = []
        for i in range(runs):
            started = time.perf_counter()
            lease = await warm.acquire(f"warm-{i}")
            warm_samples.append(time.perf_counter() - started)
            assert lease.fresh
        await warm.pool.wait_idle()

        sandbox = (await cold.acquire("cold-0")).sandbox
        await sandbox.write("bench.txt", "x" * 4096)
        ops: dict[str, Callable[[], Awaitable[object]]] = {
            "exec": lambda: sandbox.exec("echo hello"),
            "read": lambda: sandbox.read("bench.txt"),
            "write": lambda: sandbox.write("bench-out.txt", "y" * 4096),
            "list": lambda: sandbox.list("."),
            "search": lambda: sandbox.search("x"),
        }
        requests: dict[str, float] = {}
        latencies: dict[str, float] = {}
        for name, op in ops.items():
            server.state.reset_counts()
            samples = await timed(op, runs * 3)
            requests[name] = server.state.toolbox_requests() / len(samples)
            latencies[f"{name}_ms"] = ms(samples)
    finally:
        server.faults.create_delay = 0
        await cold.aclose()
        await warm.aclose()
    return {
        "cold_acquire_ms": ms(cold_samples),
        "warm_acquire_ms": ms(warm_samples),
        "warm_acquire_p90_ms": round(sorted(warm_samples)[int(len(warm_samples) * 0.9) - 1] * 1000, 2),
        "injected_create_latency_ms": round(latency * 1000),
        "toolbox_requests_per_op": requests,
        "op_latency": latencies,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--create-latency-ms", type=float, default=700.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="daytona-bench-") as root:
        server = DaytonaTestServer(Path(root))
        server.start()
        try:
            result = asyncio.run(bench(server, args.runs, args.create_latency_ms / 1000))
        finally:
            server.stop()
    print(f"cold acquire (create from snapshot): {result['cold_acquire_ms']} ms median")
    print(f"warm acquire (claim from the pool):  {result['warm_acquire_ms']} ms median")
    print(f"toolbox requests per operation:      {result['toolbox_requests_per_op']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
