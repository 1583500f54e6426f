"""The container half of scripts/image-test.sh: start the built image with Redis and the scripted model (both on the
host's loopback, the container on `--network host`), check /healthz and /readyz, probe bubblewrap inside the container,
and run one task end to end (create, approve, completed with the fix on the mounted repository), on each runtime of
IMAGE_RUNTIMES (default `dev aegra`: the in-memory runtime, then Aegra with a real Postgres started on the host).
Prints how long each step took; exits non-zero on any failure.

Environment: IMAGE (the tag to run), PODMAN_ULIMITS (the `--ulimit` flags the build used), SANDBOX_ISOLATION
(default `bwrap`: the task must run in bubblewrap, or the run fails with the reason), IMAGE_SECURITY_OPTS (default
SECURITY_OPTS: what bubblewrap needs in a rootful runc container, measured; see README.md, "Docker").
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from tests.service.conftest import ALICE_KEY, MODEL_KEY, api_keys_env
from tests.service.taskclient import TERMINAL, TaskClient
from tests.support.fixture_repo import FIXTURE_TASK, create_fixture_repo, fix_bug_policy
from tests.support.net import free_port
from tests.support.postgres_server import running_postgres
from tests.support.redis_server import running_redis
from tests.support.scripted_openai import ScriptedOpenAI

APP_UID = 10001
"""The image's non-root user (Dockerfile `useradd --uid 10001`)."""
PODMAN = ["podman", "--runtime", "runc"]
BWRAP_PROBE = ["bwrap", "--unshare-all", "--hostname", "sandbox", "--die-with-parent", "--ro-bind", "/", "/"]
BWRAP_PROBE += ["--proc", "/proc", "--dev", "/dev", "true"]
SECURITY_OPTS = "--security-opt seccomp=unconfined --security-opt systempaths=unconfined"
"""Measured with podman 4.3 + runc: the default seccomp profile refuses sethostname in bubblewrap's namespaces and
the masked /proc paths forbid mounting a new /proc; no capability is needed (the app user stays unprivileged)."""


class Steps:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def done(self, name: str, detail: str = "") -> None:
        now = time.monotonic()
        print(f"step {name:<18} {now - self.start:6.1f} s  {detail}".rstrip(), flush=True)
        self.start = now


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PODMAN, *args], capture_output=True, text=True, check=check, timeout=120)


def ulimits() -> list[str]:
    return shlex.split(os.environ.get("PODMAN_ULIMITS", "--ulimit nofile=1024:1024 --ulimit nproc=1000:1000"))


def bwrap_probe(image: str, security: list[str]) -> str:
    probe = podman("run", "--rm", "--network", "host", *ulimits(), *security, image, *BWRAP_PROBE, check=False)
    return "works" if probe.returncode == 0 else f"fails ({probe.stderr.strip().splitlines()[-1][:120]})"


@contextmanager
def container(
    image: str, name: str, data: Path, port: int, env: dict[str, str], security: list[str], runtime: str
) -> Iterator[str]:
    flags = [f"--env={key}={value}" for key, value in env.items()]
    command = ["/app/.venv/bin/python", "-m", "agent.serve", "--runtime", runtime, "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    volume = ["-v", f"{data}:/data"]
    podman("run", "-d", "--name", name, "--network", "host", *ulimits(), *security, *volume, *flags, image, *command)
    try:
        yield name
    except BaseException:
        print(podman("logs", "--tail", "60", name, check=False).stderr[-6000:], file=sys.stderr)
        raise
    finally:
        podman("rm", "-f", "-t", "5", name, check=False)


async def wait_ready(url: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while True:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"/healthz did not answer 200 within {timeout}s")
            await asyncio.sleep(0.5)
        return (await client.get("/readyz")).json()


async def run_one_task(url: str, repo: str) -> dict:
    client = TaskClient(url, ALICE_KEY)
    try:
        task_id = (await client.create(FIXTURE_TASK, repo))["id"]
        view = await client.wait_for(task_id, lambda v: v["status"] in TERMINAL | {"awaiting_approval"}, 180)
        assert view["status"] == "awaiting_approval", view
        assert (await client.http.post(f"/tasks/{task_id}/approve")).status_code == 200
        return await client.wait_terminal(task_id, 240)
    finally:
        await client.aclose()


def prepare_data(root: Path) -> Path:
    """A /data for the container: its directories and the fixture repository, owned by the image's user."""
    data = root / "data"
    for sub in ("state", "workspace", "langgraph"):
        (data / sub).mkdir(parents=True)
    create_fixture_repo(data / "workspace" / "calc")
    subprocess.run(["chown", "-R", f"{APP_UID}:{APP_UID}", str(data)], check=True)
    return data


def serve_and_run_task(
    image: str, runtime: str, data: Path, env: dict[str, str], security: list[str], steps: Steps
) -> None:
    """Start the image on RUNTIME, check it, run one task to the fix; step names end in `-RUNTIME` but for dev."""
    suffix = "" if runtime == "dev" else f"-{runtime}"
    port = free_port()
    env = {**env, "OPEN_SWE_PORT": str(port)}  # OPEN_SWE_PORT: the image's HEALTHCHECK
    with container(image, f"open-swe-image-test-{port}", data, port, env, security, runtime) as name:
        url = f"http://127.0.0.1:{port}"
        ready = asyncio.run(wait_ready(url))
        steps.done(f"healthz{suffix}", f"started ({runtime} runtime), /healthz 200")
        checks = ready.get("checks", {})
        assert ready.get("ready") is True, ready
        assert checks.get("redis", {}).get("ok"), checks
        steps.done(f"readyz{suffix}", f"ready; sandbox: {checks.get('sandbox', {}).get('detail')}")
        health = podman("healthcheck", "run", name, check=False)
        assert health.returncode == 0, f"the image's HEALTHCHECK failed: {health.stdout}{health.stderr}"
        steps.done(f"healthcheck{suffix}", "the image's HEALTHCHECK passes")
        view = asyncio.run(run_one_task(url, "/data/workspace/calc"))
        assert view["status"] == "completed", view
        assert "return a + b" in view["diff"], view["diff"]
        assert "return a + b" in (data / "workspace" / "calc" / "calc.py").read_text()
        steps.done(f"task{suffix}", f"completed with the fix ({runtime} runtime, isolation {env['SANDBOX_ISOLATION']})")
        assert MODEL_KEY not in podman("logs", name).stderr, "the model key reached the container's log"


def main() -> int:
    image = os.environ.get("IMAGE", "localhost/open-swe:test")
    runtimes = os.environ.get("IMAGE_RUNTIMES", "dev aegra").split()
    security = shlex.split(os.environ.get("IMAGE_SECURITY_OPTS", SECURITY_OPTS))
    steps = Steps()
    root = Path(tempfile.mkdtemp(prefix="open-swe-image-", dir="/var/tmp"))
    try:
        (root / "redis").mkdir()
        with ExitStack() as stack:
            redis_url = stack.enter_context(running_redis(root / "redis"))
            model = stack.enter_context(ScriptedOpenAI(fix_bug_policy))
            env = {
                "OPENAI_BASE_URL": model.base_url,
                "OPENAI_API_KEY": MODEL_KEY,
                "MODEL": "scripted",
                "API_KEYS": api_keys_env(),
                "REDIS_URL": redis_url,
                "SANDBOX_WORKSPACE_MODE": "in_place",
                "SANDBOX_ISOLATION": os.environ.get("SANDBOX_ISOLATION", "bwrap"),
            }
            default, confined = bwrap_probe(image, []), bwrap_probe(image, security)
            steps.done("bwrap-probe", f"bubblewrap as uid {APP_UID}: default {default}; with {security}: {confined}")
            for runtime in runtimes:
                run_env = dict(env)
                if runtime == "aegra":
                    run_env["DATABASE_URL"] = stack.enter_context(running_postgres())
                    steps.done("postgres", "started on the host")
                serve_and_run_task(image, runtime, prepare_data(root / runtime), run_env, security, steps)
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
