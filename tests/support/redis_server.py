"""A real redis-server process on a free loopback port, for tests."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port, wait_for_port


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed: run 'apt-get install redis-server' (or 'make setup' as root)"
        )
    return binary


class RedisServer:
    """redis-server without persistence in `workdir` on a free port; `stop()` and `start()` restart it on the same
    port (a restart mid-task: with no persistence, everything it held is gone, as after a crash)."""

    def __init__(self, workdir: Path) -> None:
        self._binary = redis_binary()
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._proc = subprocess.Popen(
            [*command, "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port, timeout=10)

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


@contextmanager
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextmanager
def running_redis(workdir: Path) -> Iterator[str]:
    """Start redis-server (no persistence) and yield its URL; stop it afterwards."""
    with redis_server(workdir) as server:
        yield server.url


def unique_prefix() -> str:
    """A key prefix of its own for each test, so tests sharing the session's Redis never see each other's keys."""
    return f"test-{uuid.uuid4().hex}:"
