"""Running commands for the harness (async subprocesses with a timeout, output captured)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Completed:
    code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.code == 0


class CommandFailed(RuntimeError):
    pass


async def run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 600,
    check: bool = False,
) -> Completed:
    """Run `argv`; stdout and stderr together. A timeout kills the command's process group (code -9)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env={**os.environ, **env} if env is not None else None,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except TimeoutError:
        os.killpg(proc.pid, 9)
        await proc.wait()
        return Completed(-9, f"timed out after {timeout:.0f}s: {' '.join(argv)}")
    result = Completed(proc.returncode or 0, out.decode(errors="replace"))
    if check and not result.ok:
        raise CommandFailed(f"{' '.join(argv)} exited {result.code}:\n{result.output[-2000:]}")
    return result


async def git(cwd: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> Completed:
    ident = ["-c", "user.name=open-swe-eval", "-c", "user.email=eval@localhost", "-c", "commit.gpgsign=false"]
    return await run(["git", *ident, *args], cwd=cwd, stdin=stdin, check=check, timeout=300)
