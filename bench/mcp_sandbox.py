"""Benchmark of the MCP backend: `McpProvider` against a real `open-swe mcp` process on loopback (local sandboxes,
no isolation), beside the same operations on a local sandbox directly: what the MCP hop costs per operation.

Run: .venv/bin/python bench/mcp_sandbox.py [--runs N]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from sandbox.base import Sandbox
from sandbox.local import LocalSandbox
from sandbox.mcp.backend import McpProvider
from sandbox.mcp.settings import McpBackendSettings
from sandbox.settings import Isolation, SandboxSettings
from tests.mcp.process import mcp_server_process


def ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


async def timed(fn: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


async def operations(sandbox: Sandbox, runs: int) -> dict[str, float]:
    await sandbox.write("bench.txt", "x" * 1000)
    return {
        "exec_ms": ms(await timed(lambda: sandbox.exec("true"), runs)),
        "read_ms": ms(await timed(lambda: sandbox.read("bench.txt"), runs)),
        "write_ms": ms(await timed(lambda: sandbox.write("bench.txt", "y" * 1000), runs)),
        "list_ms": ms(await timed(lambda: sandbox.list("."), runs)),
    }


async def main(runs: int, workdir: Path) -> dict[str, object]:
    local_root = workdir / "local"
    local_root.mkdir()
    settings = SandboxSettings(isolation=Isolation.NONE, state_dir=workdir / "state")
    async with LocalSandbox(local_root, settings=settings) as local:
        direct = await operations(local, runs)
    with mcp_server_process(workdir / "server") as server:
        provider = McpProvider(McpBackendSettings(url=server.url, api_key=SecretStr(server.key)))
        creates = []
        for index in range(max(3, runs // 4)):
            started = time.perf_counter()
            lease = await provider.acquire(f"bench-{index}")
            creates.append(time.perf_counter() - started)
            if index:
                await provider.release(lease.sandbox.id)
            else:
                kept = lease.sandbox
        over_mcp = await operations(kept, runs)
        await provider.release(kept.id)
        await provider.aclose()
    return {"create_ms": ms(creates), "mcp": over_mcp, "local_direct": direct, "runs": runs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mcp-", dir="/var/tmp") as scratch:
        result = asyncio.run(main(args.runs, Path(scratch)))
    print(f"create over MCP: {result['create_ms']} ms; per operation over MCP: {result['mcp']}")
    print(f"the same on a local sandbox directly: {result['local_direct']}")
    print(json.dumps(result))
