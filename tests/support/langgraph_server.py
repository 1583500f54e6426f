"""A real `langgraph dev` server (started through `python -m agent.serve`, as `make dev` does) on a free port,
in a scratch copy of the project so its persistence (./.langgraph_api) and state never touch the tree."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.net import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_ITEMS = ("langgraph.json", "agent", "graphs", "sandbox", "coordination", "service", "pyproject.toml")
TELEMETRY_OFF = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true", "LANGSMITH_TRACING": "false"}


def copy_project(dest: Path, *, source: Path = REPO_ROOT) -> Path:
    """Copy what the server needs (config, packages) into `dest`; returns `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".langgraph_api", "node_modules")
    for name in PROJECT_ITEMS:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


@dataclass
class LangGraphServer:
    workdir: Path
    env: dict[str, str]
    jobs: int = 10
    args: tuple[str, ...] = ()
    """Extra options of `python -m agent.serve` (e.g. `--runtime aegra`)."""
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 120.0) -> None:
        self.port = free_port()
        env = {**os.environ, **TELEMETRY_OFF, **self.env}
        env["PYTHONPATH"] = str(self.workdir)  # the copy's packages, not the tree's
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agent.serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n-jobs-per-worker",
                str(self.jobs),
                *self.args,
            ],
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"langgraph dev exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"langgraph dev not ready on port {self.port} after {timeout}s:\n{self.log_tail()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def kill_hard(self) -> None:
        """kill -9 the server and everything it started (no shutdown, no final flush)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@contextmanager
def running_server(
    workdir: Path, env: Mapping[str, str], *, jobs: int = 10, args: tuple[str, ...] = ()
) -> Iterator[LangGraphServer]:
    """A scratch copy of the project in `workdir`, served on a free port until the block ends."""
    copy_project(workdir)
    server = LangGraphServer(workdir=workdir, env=dict(env), jobs=jobs, args=args)
    try:
        server.start()
        yield server
    finally:
        server.stop()
