"""The shims that let the service run on Aegra, each on its own: the authenticate handler under both call
conventions, the internal token, acting as the owner, values/interrupts from thread state, the server command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import Auth

from agent.http import auth
from agent.http.apikeys import hash_key
from service.aegra.client import StatefulThreads, with_state
from service.aegra.context import (
    ACT_AS_HEADER,
    INTERNAL_TOKEN_ENV,
    SELF_URL_ENV,
    SERVICE_IDENTITY,
    TOKEN_HEADER,
    acting_owner,
    install_act_as,
    request_path,
)
from service.aegra.recovery import owners, recover_on_runtime
from service.aegra.serve import MissingSetting, aegra_env
from tests.support.langgraph_server import REPO_ROOT
from tests.support.net import free_port

KEY = "osk_alice_0123456789abcdef"


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = tuple(auth.parse_api_keys(f"alice:{hash_key(KEY)}"))
    monkeypatch.setattr(auth, "_config", auth.AuthConfig(disabled=False, entries=entries))
    monkeypatch.setenv(INTERNAL_TOKEN_ENV, "internal-secret-token")


async def test_langgraph_dev_convention_bytes_headers_and_path() -> None:
    user = await auth.authenticate({b"x-api-key": KEY.encode()}, "/tasks")
    assert user["identity"] == "alice"
    assert (await auth.authenticate({}, "/healthz"))["identity"] == auth.ANONYMOUS_USER


async def test_aegra_convention_str_headers_path_from_the_request() -> None:
    request_path.set("/tasks")
    assert (await auth.authenticate({"X-Api-Key": KEY}))["identity"] == "alice"
    with pytest.raises(Auth.exceptions.HTTPException) as refused:
        await auth.authenticate({"x-api-key": "osk_wrong"})
    assert refused.value.status_code == 401
    request_path.set("/healthz")
    assert (await auth.authenticate({}))["identity"] == auth.ANONYMOUS_USER


async def test_internal_token_acts_as_the_named_owner_only_with_the_right_token() -> None:
    request_path.set("/threads/search")
    acting = await auth.authenticate({TOKEN_HEADER: "internal-secret-token", ACT_AS_HEADER: "bob"})
    assert acting["identity"] == "bob"
    bare = await auth.authenticate({TOKEN_HEADER: "internal-secret-token"})
    assert bare["identity"] == SERVICE_IDENTITY
    for wrong in ({TOKEN_HEADER: "guess", ACT_AS_HEADER: "bob"}, {ACT_AS_HEADER: "bob"}):
        with pytest.raises(Auth.exceptions.HTTPException):
            await auth.authenticate(wrong)


async def test_internal_headers_mean_nothing_under_langgraph_dev() -> None:
    """langgraph dev passes bytes headers: the internal token is not honoured there at all."""
    with pytest.raises(Auth.exceptions.HTTPException):
        await auth.authenticate(
            {TOKEN_HEADER.encode(): b"internal-secret-token", ACT_AS_HEADER.encode(): b"bob"}, "/tasks"
        )


async def test_no_internal_token_configured_refuses_every_internal_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INTERNAL_TOKEN_ENV)
    request_path.set("/threads")
    with pytest.raises(Auth.exceptions.HTTPException):
        await auth.authenticate({TOKEN_HEADER: "", ACT_AS_HEADER: "bob"})


async def test_the_service_client_sends_the_owner_of_the_current_context() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get(ACT_AS_HEADER))
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://x") as http:
        install_act_as(http)
        await http.get("/a")
        token = acting_owner.set("carol")
        try:
            await http.get("/b")
        finally:
            acting_owner.reset(token)
    assert seen == [None, "carol"]


STATE = {
    "values": {"status": "awaiting_approval", "plan": ["x"]},
    "tasks": [
        {"id": "t1", "interrupts": [{"value": {"type": "plan_approval", "plan": ["x"]}}]},
        {"id": "t2", "interrupts": []},
    ],
}


def test_values_and_interrupts_come_from_the_thread_state() -> None:
    thread = {"thread_id": "th", "status": "interrupted", "metadata": {"owner": "alice"}}
    filled = with_state(thread, STATE)
    assert filled["values"] == STATE["values"]
    assert filled["interrupts"] == {"t1": [{"value": {"type": "plan_approval", "plan": ["x"]}}]}
    assert filled["metadata"] == {"owner": "alice"}


class FakeThreads:
    """The SDK's ThreadsClient surface the wrapper uses, recording state reads."""

    def __init__(self, thread: dict) -> None:
        self.thread = thread
        self.state_reads = 0

    async def get(self, thread_id: str) -> dict:
        return dict(self.thread)

    async def search(self, **kwargs: object) -> list[dict]:
        return [dict(self.thread)]

    async def get_state(self, thread_id: str) -> dict:
        self.state_reads += 1
        return STATE


async def test_threads_are_filled_only_when_the_runtime_leaves_values_out() -> None:
    aegra = FakeThreads({"thread_id": "th", "status": "interrupted"})
    assert (await StatefulThreads(aegra).get("th"))["values"] == STATE["values"]
    assert [t["values"] for t in await StatefulThreads(aegra).search(limit=5)] == [STATE["values"]]
    assert aegra.state_reads == 2
    dev = FakeThreads({"thread_id": "th", "status": "idle", "values": {"status": "done"}, "interrupts": {}})
    assert (await StatefulThreads(dev).get("th"))["values"] == {"status": "done"}
    assert dev.state_reads == 0


def test_aegra_env_names_every_missing_setting() -> None:
    with pytest.raises(MissingSetting) as missing:
        aegra_env({}, host="127.0.0.1", port=1, jobs=2, config=Path("langgraph.json"))
    assert "DATABASE_URL" in str(missing.value) and "REDIS_URL" in str(missing.value)


def test_aegra_env_sets_the_broker_the_self_url_and_a_fresh_token() -> None:
    base = {"DATABASE_URL": "postgresql://u@h/db", "REDIS_URL": "redis://h:6379/0"}
    one = aegra_env(base, host="0.0.0.0", port=8123, jobs=4, config=Path("langgraph.json"))
    two = aegra_env(base, host="0.0.0.0", port=8123, jobs=4, config=Path("langgraph.json"))
    assert one["REDIS_BROKER_ENABLED"] == "true" and one["N_JOBS_PER_WORKER"] == "4"
    assert one[SELF_URL_ENV] == "http://127.0.0.1:8123"
    assert len(one[INTERNAL_TOKEN_ENV]) >= 32 and one[INTERNAL_TOKEN_ENV] != two[INTERNAL_TOKEN_ENV]
    assert one["AEGRA_CONFIG"].endswith("langgraph.json") and Path(one["AEGRA_CONFIG"]).is_absolute()
    kept = aegra_env({**base, INTERNAL_TOKEN_ENV: "shared"}, host="h", port=1, jobs=1, config=Path("x.json"))
    assert kept[INTERNAL_TOKEN_ENV] == "shared"  # replicas behind one URL must share it


@pytest.mark.parametrize(
    ("args", "missing_env", "fragment"),
    [
        (["--runtime", "aegra"], ("DATABASE_URL", "REDIS_URL"), "DATABASE_URL (a PostgreSQL URL"),
        (["--runtime", "licensed"], (), "unknown runtime 'licensed'"),
    ],
)
def test_serve_refuses_a_runtime_it_cannot_start(args: list[str], missing_env: tuple[str, ...], fragment: str) -> None:
    env = {name: value for name, value in os.environ.items() if name not in missing_env}
    env.update({"AUTH_DISABLED": "true", "OPEN_SWE_LOCAL_PROJECT_PATH": str(REPO_ROOT)})
    done = subprocess.run(
        [sys.executable, "-m", "agent.serve", "--port", str(free_port()), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert fragment in " ".join(done.stderr.split())


async def test_recovery_runs_once_per_owner_acting_as_each(monkeypatch: pytest.MonkeyPatch) -> None:
    config = auth.AuthConfig(
        disabled=False, entries=tuple(auth.parse_api_keys(f"bob:{hash_key('k1' * 8)},alice:{hash_key('k2' * 8)}"))
    )
    assert owners(config) == ["alice", "bob"]
    assert owners(auth.AuthConfig(disabled=True, entries=())) == [auth.LOCAL_USER]
    seen: list[str | None] = []

    async def recover() -> int:
        seen.append(acting_owner.get())
        return 1

    monkeypatch.setenv(SELF_URL_ENV, "http://127.0.0.1:1")
    assert await recover_on_runtime(recover, config) == 2
    assert seen == ["alice", "bob"] and acting_owner.get() is None
    monkeypatch.delenv(SELF_URL_ENV)  # langgraph dev: once, as the service, which sees every thread
    assert await recover_on_runtime(recover, config) == 1
    assert seen[-1] is None
