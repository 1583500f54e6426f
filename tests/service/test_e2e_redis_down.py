"""Redis killed or frozen (SIGSTOP) under a real server: creating a task answers a quick JSON 503 naming Redis with
Retry-After (with or without an Idempotency-Key), reads and approvals keep working, the log has no traceback flood,
and everything works again once Redis is back."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from coordination.store import RedisStore, StoreUnavailable
from tests.service.conftest import ALICE_KEY, server_env
from tests.service.taskclient import TERMINAL, TaskClient
from tests.support.fixture_repo import FIXTURE_TASK
from tests.support.langgraph_server import LangGraphServer, running_server
from tests.support.net import free_port, wait_for_port
from tests.support.scripted_openai import ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DECIDES_WITHIN = 1.5
"""Seconds a request may take to answer 503 (the store's timeout is 0.5 s; generous for a loaded machine)."""


class RedisProcess:
    """A redis-server on a fixed port that a test can kill, restart on the same port, freeze and thaw."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run 'apt-get install redis-server'")
        self.binary, self.workdir, self.port = binary, workdir, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [self.binary, *args, "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port, timeout=10)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def freeze(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.thaw()
            self.proc.terminate()
            self.proc.wait(timeout=10)


@contextmanager
def redis_process(workdir: Path) -> Iterator[RedisProcess]:
    redis = RedisProcess(workdir)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisProcess]:
    with redis_process(tmp_path) as process:
        yield process


async def timed_failure(store: RedisStore) -> float:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="redis is unavailable"):
        await store.hit("rate:tasks:alice", 60)
    return time.monotonic() - started


async def test_the_store_decides_quickly_that_redis_is_down_and_recovers(redis):
    store = RedisStore(redis.url, prefix="t:", timeout=0.3)
    try:
        assert await store.hit("rate:tasks:alice", 60) == 1
        redis.freeze()
        assert await timed_failure(store) < 1.0
        assert await timed_failure(store) < 1.0
        redis.thaw()
        assert await store.hit("rate:tasks:alice", 60) >= 2  # (a timed-out INCR may still land on the thawed server)
        redis.kill()
        assert await timed_failure(store) < 1.0
        redis.start()  # same port, empty
        assert await store.hit("rate:tasks:alice", 60) == 1  # the stale connection is replaced at once
        assert await store.ping()
    finally:
        await store.aclose()


@pytest.fixture(scope="module")
def redis_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    with redis_process(tmp_path_factory.mktemp("redis")) as process:
        yield process


@pytest.fixture(scope="module")
def redis_service(
    scripted_model: ScriptedOpenAI, redis_module: RedisProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LangGraphServer]:
    root = tmp_path_factory.mktemp("service-redis")
    env = server_env(scripted_model, root / "state", REDIS_URL=redis_module.url, TASK_RATE_LIMIT="1000")
    with running_server(root / "srv", env) as server:
        yield server


@pytest.fixture
async def alice(redis_service):
    client = TaskClient(redis_service.url, ALICE_KEY)
    yield client
    await client.aclose()


async def refused_quickly(client: TaskClient, body: dict[str, str], **headers: str) -> httpx.Response:
    started = time.monotonic()
    response = await client.http.post("/tasks", json=body, headers=headers)
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert elapsed < DECIDES_WITHIN, f"503 took {elapsed:.2f}s"
    assert response.json()["dependency"] == "redis" and "redis is unavailable" in response.json()["detail"]
    assert int(response.headers["retry-after"]) > 0
    return response


@pytest.mark.parametrize("failure", ["frozen", "killed"])
async def test_tasks_while_redis_is_down(failure, redis_module, redis_service, alice, new_repo):
    waiting = (await alice.create(FIXTURE_TASK, str(new_repo().path)))["id"]
    view = await alice.wait_for(waiting, lambda v: v["status"] == "awaiting_approval" or v["status"] in TERMINAL)
    assert view["status"] == "awaiting_approval", view.get("reason")
    log_before = len(redis_service.log_text())
    redis_module.freeze() if failure == "frozen" else redis_module.kill()
    try:
        body = {"task": FIXTURE_TASK, "repo": str(new_repo().path)}
        before = len((await alice.http.get("/tasks")).json()["tasks"])
        for attempt in range(3):
            await refused_quickly(alice, body)
            await refused_quickly(alice, body, **{"Idempotency-Key": f"{failure}-{attempt}"})
        assert len((await alice.http.get("/tasks")).json()["tasks"]) == before  # nothing created
        assert (await alice.get(waiting))["status"] == "awaiting_approval"  # reads work
        ready = await alice.http.get("/readyz")
        assert ready.status_code == 503 and not ready.json()["checks"]["redis"]["ok"]
        approved = await alice.http.post(f"/tasks/{waiting}/approve")  # approvals need no Redis
        assert approved.status_code == 200, approved.text
    finally:
        redis_module.thaw() if failure == "frozen" else redis_module.start()
    log = redis_service.log_text()[log_before:]
    assert log.count("Traceback") == 0, log[-3000:]
    assert log.count("redis is unavailable") <= 2  # one line per 10 s, not one per request
    again = await alice.http.post("/tasks", json=body, headers={"Idempotency-Key": f"{failure}-0"})
    assert again.status_code == 201, again.text  # Redis is back, and the refused key was never claimed
    assert (await alice.http.get("/readyz")).status_code == 200
    assert (await alice.wait_terminal(waiting))["status"] == "completed"
    await alice.http.delete(f"/tasks/{again.json()['id']}")
