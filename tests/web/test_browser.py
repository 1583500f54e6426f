"""The web page in headless Chromium against a real server and the scripted model: a task from sign-in to diff,
the page served from another origin (allowed and refused), and the websocket tickets; and the CLI driving the same
server (`open-swe run --server`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from playwright.sync_api import Browser, Page, expect

from tests.support.fixture_repo import ASK_MARKER, FIXTURE_TASK, PLAN, QUESTION, create_fixture_repo, run_fixture_tests
from tests.support.langgraph_server import REPO_ROOT
from tests.support.net import free_port
from tests.web.conftest import ALICE_KEY, BOB_KEY, TICKET_TTL

pytestmark = pytest.mark.e2e
SLOW = 120_000  # ms: a whole task on a loaded 2-core machine
SCREENSHOTS = os.environ.get("OPEN_SWE_SCREENSHOTS")
"""A directory to save the README's screenshots into (docs/), when set."""


def _shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)


def _sign_in(page: Page, url: str, key: str, server: str = "") -> None:
    page.goto(url + "/")
    page.get_by_label("API key").fill(key)
    if server:
        page.get_by_label("Server").fill(server)
    page.get_by_role("button", name="Sign in").click()


def _new_task(page: Page, repo: Path, *, auto_approve: bool = False, task: str = FIXTURE_TASK) -> None:
    page.get_by_label("Task", exact=True).fill(task)
    page.get_by_label("Repository").fill(str(repo))
    page.get_by_label("Sandbox").select_option("local")
    if auto_approve:
        page.get_by_label("Auto-approve the plan").check()
    page.get_by_role("button", name="Start task").click()
    page.wait_for_url("**/#/tasks/*", timeout=30_000)


def test_a_task_from_sign_in_to_diff(browser: Browser, server, new_repo):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(page, server.url, ALICE_KEY)
    expect(page.get_by_role("heading", name="New task")).to_be_visible()
    assert json.loads(page.evaluate("sessionStorage.getItem('open-swe.session')"))["key"] == ALICE_KEY
    _new_task(page, new_repo.path)
    assert ALICE_KEY not in page.url

    approval = page.get_by_role("region", name="Plan approval")
    expect(approval).to_be_visible(timeout=SLOW)
    checklist = page.locator(".checklist li")
    expect(checklist).to_have_count(len(PLAN))
    expect(checklist.first).to_contain_text(PLAN[0])
    terminal = page.get_by_label("Tool calls and command output")
    expect(terminal).to_contain_text("$ shell")  # the planner ran the tests: its call and output, as lines
    expect(terminal.locator(".t-output").first).to_be_visible()
    expect(page.locator(".badge").first).to_have_text("awaiting approval")
    _shot(page, "web-approval.png")

    approval.get_by_role("button", name="Approve").click()
    expect(page.locator(".head .badge")).to_have_text("completed", timeout=SLOW)
    expect(page.locator(".checklist li[data-status=done]")).to_have_count(len(PLAN), timeout=30_000)
    for box in page.locator(".checklist input").all():
        expect(box).to_be_checked()
    diff = page.locator(".diff-file")
    expect(diff).to_have_count(1)
    expect(diff.locator("summary")).to_contain_text("calc.py")
    expect(diff.locator(".d-add")).to_contain_text("return a + b")
    expect(diff.locator(".d-add .tok-keyword").first).to_have_text("return")
    diff.locator("summary").click()  # per-file collapsing
    expect(diff.locator(".d-add")).to_be_hidden()
    diff.locator("summary").click()
    expect(page.locator(".branch")).to_contain_text("agent/")
    expect(page.locator(".usage tr.total")).to_contain_text("total")
    expect(terminal).to_contain_text("# finished (completed)")
    assert run_fixture_tests(new_repo.path).passed
    _shot(page, "web-task.png")

    page.goto(server.url + "/#/")
    expect(page.locator(".task-list li").first).to_contain_text("completed")
    _shot(page, "web-tasks.png")
    page.close()
    log = server.log_text()
    assert ALICE_KEY not in log and "ticket." not in log


def test_an_edited_plan_runs_and_fills_the_checklist(browser: Browser, server, new_repo):
    page = browser.new_page()
    _sign_in(page, server.url, ALICE_KEY)
    _new_task(page, new_repo.path)
    approval = page.get_by_role("region", name="Plan approval")
    approval.get_by_role("button", name="Edit").click(timeout=SLOW)
    approval.get_by_label("One step per line").fill("Repair calc.add\nRun the unit tests")
    approval.get_by_role("button", name="Run edited plan").click()
    expect(page.locator(".head .badge")).to_have_text("completed", timeout=SLOW)
    expect(page.locator(".checklist li[data-status=done]")).to_have_count(2, timeout=30_000)
    expect(page.locator(".checklist li").first).to_contain_text("Repair calc.add")
    expect(page.locator(".checklist li").nth(1)).to_contain_text("Run the unit tests")
    page.close()


def test_a_question_is_answered_in_the_page(browser: Browser, server, new_repo):
    page = browser.new_page()
    _sign_in(page, server.url, ALICE_KEY)
    _new_task(page, new_repo.path, auto_approve=True, task=f"{FIXTURE_TASK} {ASK_MARKER}")
    question = page.get_by_role("region", name="Question")
    expect(question).to_contain_text(QUESTION, timeout=SLOW)
    expect(page.locator(".head .badge")).to_have_text("awaiting answer")
    question.get_by_label("Your answer").fill("Yes, leave mul() alone.")
    question.get_by_role("button", name="Answer").click()
    expect(page.locator(".head .badge")).to_have_text("completed", timeout=SLOW)
    expect(page.locator(".diff-file summary")).to_contain_text("calc.py")

    follow_up = page.get_by_role("region", name="Follow-up")
    follow_up.get_by_role("textbox").fill("Also check that mul() still works.")
    follow_up.get_by_role("button", name="Send follow-up").click()
    finished = page.get_by_label("Tool calls and command output").get_by_text("# finished (completed)")
    expect(finished).to_have_count(2, timeout=SLOW)  # the follow-up ran as a second task on the thread
    page.close()


def test_reject_and_cancel_from_the_page(browser: Browser, server, tmp_path):
    page = browser.new_page()
    _sign_in(page, server.url, ALICE_KEY)
    _new_task(page, create_fixture_repo(tmp_path / "rejected").path)
    approval = page.get_by_role("region", name="Plan approval")
    approval.get_by_role("button", name="Reject").click(timeout=SLOW)
    expect(page.locator(".head .badge")).to_have_text("rejected", timeout=SLOW)
    expect(page.get_by_role("button", name="Cancel task")).to_have_count(0)

    page.goto(server.url + "/#/")
    _new_task(page, create_fixture_repo(tmp_path / "cancelled").path)
    expect(page.get_by_role("region", name="Plan approval")).to_be_visible(timeout=SLOW)
    page.get_by_role("button", name="Cancel task").click()
    expect(page.locator(".head .badge")).to_have_text("cancelled", timeout=SLOW)
    expect(page.get_by_role("region", name="Plan approval")).to_have_count(0)
    expect(page.get_by_role("region", name="Follow-up")).to_be_visible()
    page.close()


def test_a_page_from_an_allowed_origin_runs_a_task(browser: Browser, server, origins, new_repo):
    allowed, _ = origins
    page = browser.new_page()
    _sign_in(page, allowed.url, ALICE_KEY, server=server.url)
    expect(page.get_by_role("heading", name="New task")).to_be_visible()
    _new_task(page, new_repo.path, auto_approve=True)
    expect(page.locator(".head .badge")).to_have_text("completed", timeout=SLOW)
    expect(page.get_by_label("Tool calls and command output")).to_contain_text("$ shell")  # the websocket worked
    expect(page.locator(".connection")).to_have_text("open")
    expect(page.locator(".diff-file summary")).to_contain_text("calc.py")
    page.close()


def test_a_page_from_another_origin_is_refused(browser: Browser, server, origins):
    _, refused = origins
    page = browser.new_page()
    _sign_in(page, refused.url, ALICE_KEY, server=server.url)
    expect(page.get_by_role("alert")).to_contain_text(f"cannot reach {server.url}")
    expect(page.get_by_role("heading", name="New task")).to_have_count(0)
    # Its websocket is refused too (browsers do not apply CORS to websockets; the server checks Origin).
    task_id = _create_task(server.url, ALICE_KEY)
    protocols = _ticket(server.url, ALICE_KEY, task_id)["protocols"]
    outcome = page.evaluate(_OPEN_SOCKET, [_ws(server.url, task_id), protocols])
    assert outcome == "closed before open"
    page.close()


_OPEN_SOCKET = """([url, protocols]) => new Promise((resolve) => {
  const socket = new WebSocket(url, protocols);
  socket.onmessage = () => { resolve("open"); socket.close(); };
  socket.onclose = () => resolve("closed before open");
})"""


def test_a_ticket_opens_the_socket_once_and_only_for_its_task(server, new_repo):
    task_id = _create_task(server.url, ALICE_KEY, repo=str(new_repo.path))
    issued = _ticket(server.url, ALICE_KEY, task_id)
    assert issued["expires_in"] == TICKET_TTL
    assert _in_thread(_first_message(_ws(server.url, task_id), issued["protocols"]))["type"] == "event"
    with pytest.raises(websockets.InvalidStatus) as used:
        _in_thread(_first_message(_ws(server.url, task_id), issued["protocols"]))
    assert used.value.response.status_code == 403

    other = _create_task(server.url, ALICE_KEY)
    wrong_task = _ticket(server.url, ALICE_KEY, other)
    with pytest.raises(websockets.InvalidStatus):
        _in_thread(_first_message(_ws(server.url, task_id), wrong_task["protocols"]))

    in_query = _ticket(server.url, ALICE_KEY, task_id)["ticket"]
    with pytest.raises(websockets.InvalidStatus):  # only the subprotocol carries a ticket: URLs end up in logs
        _in_thread(_first_message(_ws(server.url, task_id) + f"&ticket={in_query}", []))
    assert issued["ticket"] not in server.log_text()


def test_a_ticket_expires(server):
    task_id = _create_task(server.url, ALICE_KEY)
    issued = _ticket(server.url, ALICE_KEY, task_id)
    time.sleep(TICKET_TTL + 0.5)
    with pytest.raises(websockets.InvalidStatus):
        _in_thread(_first_message(_ws(server.url, task_id), issued["protocols"]))


def test_another_key_gets_no_ticket_for_the_task_and_its_own_ticket_does_not_open_it(server):
    alices = _create_task(server.url, ALICE_KEY)
    response = httpx.post(f"{server.url}/tasks/{alices}/events/ticket", headers={"x-api-key": BOB_KEY})
    assert response.status_code == 404
    bobs = _create_task(server.url, BOB_KEY)
    bobs_ticket = _ticket(server.url, BOB_KEY, bobs)
    with pytest.raises(websockets.InvalidStatus):
        _in_thread(_first_message(_ws(server.url, alices), bobs_ticket["protocols"]))
    assert httpx.post(f"{server.url}/tasks/{alices}/events/ticket").status_code == 401


def test_cors_preflight_answers_only_the_allowed_origin(server, origins):
    allowed, refused = origins
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key,content-type"}
    ok = httpx.options(f"{server.url}/tasks", headers={"Origin": allowed.url, **ask})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == allowed.url
    assert "access-control-allow-credentials" not in ok.headers
    no = httpx.options(f"{server.url}/tasks", headers={"Origin": refused.url, **ask})
    assert no.status_code == 400 and "access-control-allow-origin" not in no.headers
    plain = httpx.get(f"{server.url}/healthz", headers={"Origin": refused.url})
    assert "access-control-allow-origin" not in plain.headers


def test_the_page_is_served_without_a_key_with_security_headers(server):
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-cache"
    script = next(part for part in page.text.split('"') if part.startswith("/web/assets/") and part.endswith(".js"))
    asset = httpx.get(server.url + script)
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
    assert "immutable" in asset.headers["cache-control"]
    assert httpx.get(f"{server.url}/web/assets/missing.js").status_code == 404
    assert httpx.get(f"{server.url}/web/%2e%2e/%2e%2e/pyproject.toml").status_code == 404
    assert httpx.get(f"{server.url}/tasks").status_code == 401  # only the page is open


def _cli(*args: str, key: str | None = ALICE_KEY, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPEN_SWE_"))}
    env.update(PYTHONPATH=str(REPO_ROOT), COLUMNS="200")
    if key:
        env["OPEN_SWE_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "run", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=170,
    )


def test_the_cli_drives_the_running_server_with_approval_in_the_terminal(server, new_repo):
    proc = _cli(FIXTURE_TASK, "--repo", str(new_repo.path), "--server", server.url, "--sandbox", "local", stdin="a\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Approve? [a]ccept / [e]dit" in out  # the prompt's brackets are not eaten as markup
    assert "Ran 2 tests in" in out and "\nR\na\nn" not in out  # command output as lines
    assert "+    return a + b" in out and "status completed" in out and "branch agent/" in out
    assert run_fixture_tests(new_repo.path).passed
    listed = httpx.get(f"{server.url}/tasks", headers={"x-api-key": ALICE_KEY}).json()["tasks"]
    assert any(t["repo"] == str(new_repo.path) and t["status"] == "completed" for t in listed)


def test_the_cli_says_what_is_wrong_with_the_server_or_key(server):
    no_key = _cli("x", "--server", server.url, key=None)
    assert no_key.returncode == 2 and "needs an API key" in no_key.stdout
    bad_key = _cli("x", "--server", server.url, key="osk_wrong")
    assert bad_key.returncode == 2 and "answered 401: invalid API key" in bad_key.stdout
    nobody = _cli("x", "--server", f"http://127.0.0.1:{free_port()}")
    assert nobody.returncode == 2 and "cannot reach" in nobody.stdout


def _create_task(url: str, key: str, repo: str | None = None) -> str:
    body: dict[str, Any] = {"task": "Say hello", "auto_approve": False}
    if repo:
        body = {"task": FIXTURE_TASK, "repo": repo}
    response = httpx.post(f"{url}/tasks", json=body, headers={"x-api-key": key}, timeout=30)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _ticket(url: str, key: str, task_id: str) -> dict[str, Any]:
    response = httpx.post(f"{url}/tasks/{task_id}/events/ticket", headers={"x-api-key": key}, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _ws(url: str, task_id: str) -> str:
    return url.replace("http://", "ws://") + f"/tasks/{task_id}/events?after=0"


def _in_thread(coroutine: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run a websocket client beside Playwright's sync API, which keeps an event loop running in this thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _first_message(url: str, protocols: list[str]) -> dict[str, Any]:
    async with websockets.connect(url, subprotocols=protocols or None) as socket:  # type: ignore[arg-type]
        assert socket.subprotocol == ("open-swe" if protocols else None)
        return dict(json.loads(await asyncio.wait_for(socket.recv(), 30)))
