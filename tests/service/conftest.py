"""Fixtures of the service tests: API keys, the scripted model endpoint, and a real `langgraph dev` server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.http.apikeys import hash_key
from tests.support.fixture_repo import FixtureRepo, ask_first_policy, create_fixture_repo
from tests.support.langgraph_server import LangGraphServer, running_server
from tests.support.scripted_openai import ScriptedOpenAI

ALICE_KEY = "osk_alice_0123456789abcdef"
BOB_KEY = "osk_bob_fedcba9876543210"
MODEL_KEY = "sk-scripted-model-secret-4242"
"""The OpenAI key the server holds: it must never reach a log line or a response."""


def api_keys_env() -> str:
    return f"alice:{hash_key(ALICE_KEY)},bob:{hash_key(BOB_KEY)}"


@pytest.fixture(scope="session")
def scripted_model() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(ask_first_policy) as server:
        yield server


def server_env(model: ScriptedOpenAI, state_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_API_KEY": MODEL_KEY,
        "MODEL": "scripted",
        "API_KEYS": api_keys_env(),
        "OPEN_SWE_STATE_DIR": str(state_dir),
        "OPEN_SWE_LOCAL_MODE": "true",
        "SANDBOX_WORKSPACE_MODE": "in_place",
        **extra,
    }


@pytest.fixture(scope="module")
def service(scripted_model: ScriptedOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LangGraphServer]:
    """One real server per test module."""
    root = tmp_path_factory.mktemp("service")
    with running_server(root / "srv", server_env(scripted_model, root / "state")) as server:
        yield server


class RepoFactory:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0

    def __call__(self) -> FixtureRepo:
        self.count += 1
        return create_fixture_repo(self.root / f"repo{self.count}")


@pytest.fixture
def new_repo(tmp_path: Path) -> RepoFactory:
    """Each call: a fresh fixture repository (a task works in place, one task per repository)."""
    return RepoFactory(tmp_path)
