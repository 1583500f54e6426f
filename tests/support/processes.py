"""Finding a test's processes from the host by a marker in their environment (isolated or not, wherever they moved)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path


def processes_with(marker: str) -> list[int]:
    """Host pids whose environment contains the `NAME=value` string `marker`."""
    found = []
    needle = marker.encode() + b"\0"
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if needle in Path(f"/proc/{name}/environ").read_bytes():
                    found.append(int(name))
            except OSError:
                continue
    return found


async def wait_until_gone(marker: str, timeout: float = 5.0) -> list[int]:
    """The processes still carrying `marker` after up to `timeout` seconds (empty when they all ended)."""
    deadline = time.monotonic() + timeout
    while (left := processes_with(marker)) and time.monotonic() < deadline:  # noqa: ASYNC110 - no event for "exited"
        await asyncio.sleep(0.05)
    return left
