"""Local sandbox overhead, measured side by side in one run (rounds interleave the contenders).

exec_ms: median wall time of running `true`:
  raw_subprocess  asyncio.create_subprocess_exec("true") + wait (the floor for any subprocess from asyncio)
  local           LocalSandbox.exec("true"), no isolation
  raw_bwrap       a fresh bubblewrap (the sandbox's own arguments) running `true`
  local_isolated  LocalSandbox.exec("true") inside bubblewrap (resident runner)
read_ms / write_ms: LocalSandbox.read / write of a 4 KiB file.
The last line printed is one JSON object.  Usage: python bench/sandbox.py [--rounds N]
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.isolation import Bwrap, find_bwrap
from sandbox.local import LocalSandbox
from sandbox.secrets import command_env

Timed = Callable[[], Awaitable[object]]


async def timed(fn: Timed) -> float:
    start = time.perf_counter()
    await fn()
    return (time.perf_counter() - start) * 1000


async def raw_subprocess() -> None:
    proc = await asyncio.create_subprocess_exec("true")
    await proc.wait()


def raw_bwrap(argv: list[str]) -> Timed:
    async def run() -> None:
        proc = await asyncio.create_subprocess_exec(*argv, env=command_env())
        if await proc.wait() != 0:
            raise RuntimeError("bwrap failed")

    return run


def sandbox_exec(sandbox: LocalSandbox) -> Timed:
    async def run() -> None:
        if not (await sandbox.exec("true")).ok:
            raise RuntimeError("exec failed")

    return run


async def main(rounds: int) -> dict[str, Any]:
    binary = find_bwrap(None)
    if binary is None:
        sys.exit("bubblewrap is missing: apt-get install bubblewrap")
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        workspace = Path(tmp)
        isolation = Bwrap(binary)
        async with LocalSandbox(workspace) as plain, LocalSandbox(workspace, isolation=isolation) as isolated:
            startup = {"local": await timed(sandbox_exec(plain)), "local_isolated": await timed(sandbox_exec(isolated))}
            contenders: dict[str, Timed] = {
                "raw_subprocess": raw_subprocess,
                "local": sandbox_exec(plain),
                "raw_bwrap": raw_bwrap([*isolation.argv(await asyncio.to_thread(workspace.resolve)), "true"]),
                "local_isolated": sandbox_exec(isolated),
            }
            samples: dict[str, list[float]] = {name: [] for name in contenders}
            for _ in range(10):  # warm-up
                for fn in contenders.values():
                    await fn()
            for _ in range(rounds):
                for name, fn in contenders.items():
                    samples[name].append(await timed(fn))

            payload = "x" * 4096
            await plain.write("bench.txt", payload)
            reads = [await timed(lambda: plain.read("bench.txt")) for _ in range(rounds)]
            writes = [await timed(lambda: plain.write("bench.txt", payload)) for _ in range(rounds)]

    exec_ms = {name: round(statistics.median(values), 3) for name, values in samples.items()}
    p90 = {name: round(statistics.quantiles(values, n=10)[-1], 3) for name, values in samples.items()}
    return {
        "exec_ms": exec_ms,
        "exec_p90_ms": p90,
        "ratio_local_vs_raw": round(exec_ms["local"] / exec_ms["raw_subprocess"], 3),
        "ratio_isolated_vs_raw_bwrap": round(exec_ms["local_isolated"] / exec_ms["raw_bwrap"], 3),
        "read_ms": round(statistics.median(reads), 3),
        "write_ms": round(statistics.median(writes), 3),
        "runner_startup_ms": {name: round(value, 1) for name, value in startup.items()},
        "rounds": rounds,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=300)
    result = asyncio.run(main(parser.parse_args().rounds))
    for name, value in result["exec_ms"].items():
        print(f"exec {name:<15} median {value:8.3f} ms")
    print(json.dumps(result))
