"""Every tool the model can call, for real, under `langgraph dev` with its blocking-call detector on, on a git
repository outside /tmp, driven over the task API by a scripted model (tests/service/every_tool_policy.py).

Also proves through the service: the task API never asks the router (whose chatty prose would otherwise have been
taken for an answer); tool failures are `ok: false`; the view reports the project's test runs; command output comes as
a few coalesced `tool_output` events whose concatenation is the command's output, and a replay from any id is
byte-identical to the live stream; the whole diff (larger than a sandbox's 64 KB output cap) and an mbox of the commits
come from GET /tasks/{id}/diff and apply to a fresh clone of the base commit."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client

from agent.tools import ROLE_TOOLS
from tests.service.conftest import ALICE_KEY, server_env
from tests.service.every_tool_policy import (
    BIG_FILE,
    EXPECTED_FAILURES,
    PLANNER,
    PROGRAMMER,
    QUESTION,
    REVIEWER_ROUND_1,
    REVIEWER_ROUND_2,
    every_tool_policy,
)
from tests.service.taskclient import TaskClient
from tests.support.fixture_repo import FixtureRepo, create_fixture_repo
from tests.support.langgraph_server import LangGraphServer, running_server
from tests.support.scripted_openai import ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

ALL_TOOLS = {tool.name for tools in ROLE_TOOLS.values() for tool in tools}


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(every_tool_policy) as server:
        yield server


@pytest.fixture(scope="module")
def server(model: ScriptedOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LangGraphServer]:
    root = tmp_path_factory.mktemp("every-tool")
    with running_server(root / "srv", server_env(model, root / "state")) as srv:  # detector on: no --allow-blocking
        yield srv


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A workspace where users keep projects: outside /tmp (sandbox rules differ there)."""
    path = Path("/var/tmp") / f"open-swe-e2e-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def alice(server: LangGraphServer) -> AsyncIterator[TaskClient]:
    client = TaskClient(server.url, ALICE_KEY)
    yield client
    await client.aclose()


def _git(path: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", "-C", str(path), *args], input=stdin, capture_output=True, check=True)
    return done.stdout.decode()


async def _follow(alice: TaskClient, task_id: str) -> list[str]:
    """The live stream, raw frames, from the first event until the task ended; answers the programmer's question."""
    frames: list[str] = []
    async with await alice.connect(task_id) as ws:
        while True:
            raw = await ws.recv()
            assert isinstance(raw, str)
            message = json.loads(raw)
            if message.get("type") != "event":
                continue
            frames.append(raw)
            if message["event"] == "question_asked":
                response = await alice.http.post(f"/tasks/{task_id}/messages", json={"message": "Yes, go ahead."})
                assert response.status_code == 200, response.text
            if message["event"] == "run_ended" and message["status"] in ("completed", "failed", "needs_review"):
                return frames


async def test_every_tool_under_the_server(alice: TaskClient, server: LangGraphServer, model, outside_tmp) -> None:
    repo: FixtureRepo = create_fixture_repo(outside_tmp / "repo")
    task_id = (await alice.create("Fix calc.add and add a helper module.", str(repo.path), auto_approve=True))["id"]
    frames = await _follow(alice, task_id)
    events = [json.loads(f) for f in frames]
    view = await alice.get(task_id)
    assert view["status"] == "completed", (view["reason"], [e["event"] for e in events][-10:])

    # the task API started the task: the router was never asked, so its chatty reply could not turn it into a chat
    assert "router" not in {r.role for r in model.requests}

    # every tool ran, and each call's outcome is the scripted one (failures are failures)
    calls = [e for e in events if e["event"] == "tool_call"]
    results = {e["call_id"]: e for e in events if e["event"] == "tool_result"}
    expected = [
        *(("planner", i, call) for i, call in enumerate(PLANNER)),
        *(("programmer", i, call) for i, call in enumerate(PROGRAMMER[:19])),
        *(("reviewer", i, call) for i, call in enumerate(REVIEWER_ROUND_1)),
        *(("programmer", i + 19, call) for i, call in enumerate(PROGRAMMER[19:])),
        *(("reviewer", i + len(REVIEWER_ROUND_1), call) for i, call in enumerate(REVIEWER_ROUND_2)),
    ]
    assert [c["tool"] for c in calls] == [name for _, _, (name, _) in expected]
    assert [(c["tool"], c["args"]) for c in calls] == [call for _, _, call in expected]
    assert {c["tool"] for c in calls} == ALL_TOOLS
    for call, (role, index, _) in zip(calls, expected, strict=True):
        result = results[call["call_id"]]
        assert result["ok"] is ((role, index) not in EXPECTED_FAILURES), (role, index, call, result["output"][:300])
    assert "Blocking call" not in server.log_text() and "BlockingError" not in server.log_text()

    # the project's test runs are in the view
    assert view["tests"]["ran"] is True and view["tests"]["runs"] == 5
    last = view["tests"]["last"]
    assert (last["framework"], last["exit_code"], last["passed"], last["failed"]) == ("unittest", 0, 2, 0)

    # coalesced output: a dot per 2 ms for 0.6 s is a handful of events, and nothing is lost
    dots = next(c for c in calls if c["args"] == {"command": "python3 dots.py"})
    chunks = [e["chunk"] for e in events if e["event"] == "tool_output" and e["call_id"] == dots["call_id"]]
    assert "".join(chunks) == "." * 300 and 1 <= len(chunks) <= 15, len(chunks)
    for call in calls:
        if call["tool"] in ("shell", "install_dependencies"):
            streamed = "".join(
                e["chunk"] for e in events if e["event"] == "tool_output" and e["call_id"] == call["call_id"]
            )
            assert results[call["call_id"]]["output"].split("\n", 1)[1] == streamed

    # replay after a reconnect is byte-identical to the live stream
    middle = events[len(events) // 2]["id"]
    async with await alice.connect(task_id, after=middle) as ws:
        replay: list[str | bytes] = []
        while len(replay) < len([e for e in events if e["id"] > middle]):
            raw = await ws.recv()
            if json.loads(raw).get("type") == "event":
                replay.append(raw)
    assert replay == [f for f, e in zip(frames, events, strict=True) if e["id"] > middle]

    # the whole diff and the commits, whatever their size, apply to a fresh clone of the base commit
    patch = await alice.http.get(f"/tasks/{task_id}/diff")
    assert patch.status_code == 200 and patch.headers["content-type"].startswith("text/x-diff")
    assert len(patch.content) > 64 * 1024 and patch.text == view["diff"] and not view["diff_truncated"]
    mbox = await alice.http.get(f"/tasks/{task_id}/diff", params={"format": "mbox"})
    assert mbox.status_code == 200 and mbox.text.startswith("From ")
    for kind, body in (("patch", patch.content), ("mbox", mbox.content)):
        clone = outside_tmp / f"clone-{kind}"
        subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
        _git(clone, "checkout", "-q", repo.base_commit)
        if kind == "patch":
            _git(clone, "apply", "--index", "-", stdin=body)
        else:
            _git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "am", "-q", "-", stdin=body)
        assert (clone / "data.txt").read_text() == BIG_FILE
        assert "return a + b" in (clone / "calc.py").read_text() and (clone / "helper.py").exists()
    bad = await alice.http.get(f"/tasks/{task_id}/diff", params={"format": "zip"})
    assert bad.status_code == 422
    assert QUESTION in json.dumps([e for e in events if e["event"] == "question_asked"])


async def test_the_diff_of_another_callers_task_is_not_found(alice: TaskClient, server: LangGraphServer) -> None:
    other = TaskClient(server.url, "osk_nobody_0000000000000000")
    try:
        response = await other.http.get(f"/tasks/{uuid.uuid4()}/diff")
        assert response.status_code in (401, 403)
    finally:
        await other.aclose()
    missing = await alice.http.get(f"/tasks/{uuid.uuid4()}/diff")
    assert missing.status_code == 404


async def test_a_chat_message_to_a_chatty_router_still_starts_the_task(
    server: LangGraphServer, model: ScriptedOpenAI, outside_tmp: Path
) -> None:
    """Through LangGraph's own API (a chat client, no task API): the router model answers prose instead of calling a
    decision tool, and the message still starts the task (it runs until the programmer's question)."""
    repo = create_fixture_repo(outside_tmp / "chat-repo")
    client = get_client(url=server.url, api_key=ALICE_KEY)
    routed = sum(1 for r in model.requests if r.role == "router")
    thread = await client.threads.create()
    message = "calc.add looks wrong to me, can you fix it?"
    payload: dict[str, Any] = {"messages": [{"role": "user", "content": message}], "repo": str(repo.path)}
    await client.runs.wait(thread["thread_id"], "agent", input=payload, config={"configurable": {"auto_approve": True}})
    values = (await client.threads.get_state(thread["thread_id"]))["values"]
    assert isinstance(values, dict)
    state: dict[str, Any] = values
    assert sum(1 for r in model.requests if r.role == "router") == routed + 1  # asked once, answered prose
    assert state["status"] == "awaiting_answer" and state["task"] == message and not state.get("answer")
    assert state["pending_question"]["question"] == QUESTION
