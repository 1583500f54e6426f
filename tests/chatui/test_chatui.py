"""The chat-UI flow against a real `langgraph dev` server and the scripted model: tests/chatui/chatui.test.mjs (node's
test runner, the official `@langchain/langgraph-sdk` from the npm registry) for approve and the older accept list, and
the Python `langgraph_sdk` here for edit, reject (with and without a message) and answering a question."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.service.conftest import ALICE_KEY, RepoFactory
from tests.support.fixture_repo import ASK_MARKER, FIXTURE_TASK, PLAN, QUESTION, SUMMARY, run_fixture_tests
from tests.support.langgraph_server import LangGraphServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

PACKAGE = Path(__file__).resolve().parent


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: install Node.js 20+ and npm (Debian: apt-get install nodejs npm)")
    return path


async def _run(*argv: str, env: dict[str, str] | None = None, timeout: float) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=PACKAGE,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
        return -1, out.decode(errors="replace") + f"\n(killed after {timeout} s)"
    return int(process.returncode or 0), out.decode(errors="replace")


@pytest.fixture(scope="session")
def node_package() -> Path:
    """`npm ci` once, when node_modules is missing or older than package-lock.json (it is never committed)."""
    installed = PACKAGE / "node_modules" / ".package-lock.json"
    lock = PACKAGE / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        npm = [_tool("npm"), "ci", "--no-audit", "--no-fund"]
        done = subprocess.run(npm, cwd=PACKAGE, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return PACKAGE


async def test_langgraph_sdk_chat_ui_flow(node_package: Path, service: LangGraphServer, new_repo: RepoFactory) -> None:
    env = {
        "OPEN_SWE_URL": service.url,
        "OPEN_SWE_API_KEY": ALICE_KEY,
        "OPEN_SWE_REPOS": json.dumps([str(new_repo().path), str(new_repo().path)]),
        "OPEN_SWE_TASK": FIXTURE_TASK,
        "OPEN_SWE_PLAN": json.dumps(PLAN),
        "OPEN_SWE_SUMMARY": SUMMARY,
    }
    code, out = await _run(_tool("node"), "--test", "--test-reporter=tap", "chatui.test.mjs", env=env, timeout=360)
    assert code == 0, f"node --test failed:\n{out}"
    assert "# pass 2" in out and "# fail 0" in out, out


# ---------------------------------------------------------------- the other decisions, with the Python langgraph_sdk


async def _until_interrupt(client: Any, repo: str, task: str = FIXTURE_TASK, **configurable: Any) -> tuple[str, Any]:
    thread = await client.threads.create()
    await client.runs.wait(
        thread["thread_id"],
        "agent",
        input={"messages": [{"role": "user", "content": task}], "repo": repo},
        config={"configurable": configurable},
    )
    state = await client.threads.get_state(thread["thread_id"])
    (interrupt,) = state["tasks"][0]["interrupts"]
    return thread["thread_id"], interrupt["value"]


async def _resume(client: Any, thread_id: str, value: Any) -> dict[str, Any]:
    result = await client.runs.wait(thread_id, "agent", command={"resume": value})
    assert isinstance(result, dict), result
    return result


async def test_edit_decision_with_the_plan_as_text(service: LangGraphServer, new_repo: RepoFactory) -> None:
    client = get_client(url=service.url, api_key=ALICE_KEY)
    repo = new_repo()
    thread_id, request = await _until_interrupt(client, str(repo.path))
    assert request["action_requests"][0]["args"] == {"plan": PLAN}
    edited = {"name": "approve_plan", "args": {"plan": '["Fix calc.add", "Run the tests"]'}}  # a chat UI's text field
    result = await _resume(client, thread_id, {"decisions": [{"type": "edit", "edited_action": edited}]})
    assert result["status"] == "completed", result.get("reason")
    assert [(i["description"], i["status"]) for i in result["plan"]] == [
        ("Fix calc.add", "done"),
        ("Run the tests", "done"),
    ]
    assert run_fixture_tests(repo.path).passed


async def test_reject_with_a_message_replans_and_without_one_ends(
    service: LangGraphServer, new_repo: RepoFactory
) -> None:
    client = get_client(url=service.url, api_key=ALICE_KEY)
    repo = new_repo()
    thread_id, _ = await _until_interrupt(client, str(repo.path))
    feedback = {"decisions": [{"type": "reject", "message": "Keep mul untouched."}]}
    await _resume(client, thread_id, feedback)
    state = await client.threads.get_state(thread_id)
    (interrupt,) = state["tasks"][0]["interrupts"]
    assert interrupt["value"]["type"] == "plan_approval", "the revised plan waits for approval again"
    values = state["values"]
    assert isinstance(values, dict)
    said = [(m["type"], m["content"]) for m in values["messages"]]
    assert said[-2:] == [("human", "Keep mul untouched."), ("ai", said[-1][1])] and said[-1][1].startswith("Here is")
    result = await _resume(client, thread_id, {"decisions": [{"type": "reject"}]})
    assert result["status"] == "rejected" and result["commits"] == []
    assert not run_fixture_tests(repo.path).passed, "a rejected plan leaves the repository as it was"


async def test_question_answered_through_an_edit(service: LangGraphServer, new_repo: RepoFactory) -> None:
    client = get_client(url=service.url, api_key=ALICE_KEY)
    thread_id, request = await _until_interrupt(
        client, str(new_repo().path), task=f"{FIXTURE_TASK} {ASK_MARKER}", auto_approve=True
    )
    assert request["type"] == "question" and request["question"] == QUESTION
    (action,) = request["action_requests"]
    assert action["name"] == "answer_question" and QUESTION in action["description"]
    assert request["review_configs"][0]["allowed_decisions"] == ["edit", "reject"]
    answer = {"type": "edit", "edited_action": {"name": "answer_question", "args": {"answer": "Yes, leave it."}}}
    result = await _resume(client, thread_id, {"decisions": [answer]})
    assert result["status"] == "completed", result.get("reason")
    texts = [m["content"] for m in result["messages"]]
    assert QUESTION in texts and "Yes, leave it." in texts
    assert texts.index(QUESTION) + 1 == texts.index("Yes, leave it."), "the answer follows the question"
