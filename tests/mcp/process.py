"""`open-swe mcp --port P` as a real subprocess (outside the tree, so no `.env` of the tree is read)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent.http.apikeys import hash_key
from tests.support.net import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class McpServerProcess:
    url: str
    key: str
    state_dir: Path
    log_path: Path


@contextmanager
def mcp_server_process(
    workdir: Path, *, key: str = "osk_mcp_process_key", env: Mapping[str, str] | None = None
) -> Iterator[McpServerProcess]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    state_dir = workdir / "state"
    full_env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "API_KEYS": f"tests:{hash_key(key)}",
        "OPEN_SWE_STATE_DIR": str(state_dir),
        "SANDBOX_ISOLATION": "none",
        "MCP_BACKENDS": "local",
        **(env or {}),
    }
    log_path = workdir / "mcp-server.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "mcp", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"open-swe mcp exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"open-swe mcp did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield McpServerProcess(f"http://127.0.0.1:{port}/mcp", key, state_dir, log_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
