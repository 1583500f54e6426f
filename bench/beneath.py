"""What a confined open costs: openat2(RESOLVE_BENEATH) vs the descriptor walk that replaces it on kernels without
openat2 (`sandbox/fdwalk.py`), for a file 1, 4 and 10 components deep (open + close, O_RDONLY), and a plain
`os.open` of the same path as the floor. Rounds interleave the contenders in a shuffled order; the figure is the
median over rounds of the mean per open. The tree is outside /tmp. The last line printed is one JSON object.
Usage: python bench/beneath.py [--rounds N] [--opens N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.beneath import openat2_beneath
from sandbox.fdwalk import open_walk

DEPTHS = (1, 4, 10)


def per_open_us(opener: Callable[[str], int], rel: str, opens: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(opens):
        os.close(opener(rel))
    return (time.perf_counter_ns() - start) / opens / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--opens", type=int, default=2000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-beneath-", dir="/var/tmp"))
    root = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        paths = {}
        for depth in DEPTHS:
            rel = "/".join([f"d{depth}"] * (depth - 1) + ["file"])
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).write_text("x")
            paths[depth] = rel
        contenders: dict[str, Callable[[str], int]] = {
            "plain_open": lambda rel: os.open(rel, os.O_RDONLY | os.O_CLOEXEC, dir_fd=root),
            "openat2": lambda rel: openat2_beneath(root, rel, os.O_RDONLY),
            "fdwalk": lambda rel: open_walk(root, rel, os.O_RDONLY),
        }
        samples: dict[tuple[str, int], list[float]] = {(n, d): [] for n in contenders for d in DEPTHS}
        for _ in range(args.rounds):
            order = list(samples)
            random.shuffle(order)
            for name, depth in order:
                samples[(name, depth)].append(per_open_us(contenders[name], paths[depth], args.opens))
        us = {f"{n}_depth{d}": round(statistics.median(v), 2) for (n, d), v in samples.items()}
        ratios = {
            f"ratio_fdwalk_vs_openat2_depth{d}": round(us[f"fdwalk_depth{d}"] / us[f"openat2_depth{d}"], 2)
            for d in DEPTHS
        }
        print(json.dumps({"open_us": us, **ratios, "rounds": args.rounds, "opens": args.opens}))
    finally:
        os.close(root)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
