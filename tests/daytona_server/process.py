"""Running a sandbox's commands: real subprocesses under bubblewrap, with the sandbox directory at /home/daytona.

The host is read-only inside, /tmp is the sandbox's own, and the environment is built from scratch
(the sandbox's env plus the request's), never inherited from the server process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from dataclasses import dataclass

from tests.daytona_server.state import HOME, SandboxRecord

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class BubblewrapMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    output: bytes
    timed_out: bool = False


def bwrap_binary() -> str:
    binary = shutil.which("bwrap")
    if binary is None:
        raise BubblewrapMissing("bubblewrap is required by the Daytona test server: run 'apt-get install bubblewrap'")
    return binary


def sandbox_argv(record: SandboxRecord, cwd: str, argv: list[str]) -> list[str]:
    args = [
        bwrap_binary(),
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/home",
        "--bind",
        str(record.home),
        HOME,
        "--bind",
        str(record.tmp),
        "/tmp",
        "--unshare-pid",
        "--die-with-parent",
        "--chdir",
        cwd,
    ]
    if record.network_block_all:
        args.append("--unshare-net")
    return [*args, "--", *argv]


def sandbox_env(record: SandboxRecord, extra: dict[str, str] | None) -> dict[str, str]:
    env = {"PATH": BASE_PATH, "HOME": HOME, "USER": record.user, "LANG": "C.UTF-8", "HOSTNAME": record.id}
    env.update(record.env)
    env.update(extra or {})
    return env


async def run(
    record: SandboxRecord,
    argv: list[str],
    *,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> CommandResult:
    """Run argv inside the sandbox; stdout and stderr combined. On timeout the whole process group is killed."""
    workdir = cwd or HOME
    if not workdir.startswith("/"):
        workdir = f"{HOME}/{workdir}"
    proc = await asyncio.create_subprocess_exec(
        *sandbox_argv(record, workdir, argv),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=sandbox_env(record, env),
        start_new_session=True,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    except TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = await proc.communicate()
        return CommandResult(exit_code=-1, output=output, timed_out=True)
    return CommandResult(exit_code=proc.returncode if proc.returncode is not None else -1, output=output)


def shell_argv(command: str) -> list[str]:
    """Like the daemon: the first available of bash or sh runs the command string."""
    shell = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
    return [shell, "-c", command]
