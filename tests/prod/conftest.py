"""Fixtures of the production-runtime tests: one real PostgreSQL server and one real Redis for the session, and the
service on Aegra (`python -m agent.serve --runtime aegra`) per module, with the service tests' scripted model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.conftest import new_repo, scripted_model, server_env
from tests.support.langgraph_server import LangGraphServer, running_server
from tests.support.postgres_server import running_postgres
from tests.support.redis_server import running_redis
from tests.support.scripted_openai import ScriptedOpenAI

__all__ = ["new_repo", "scripted_model"]  # fixtures shared with tests/service


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def service(
    scripted_model: ScriptedOpenAI, postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LangGraphServer]:
    """One service on Aegra per test module (Postgres and Redis are shared by the session)."""
    root = tmp_path_factory.mktemp("aegra")
    env = aegra_env(scripted_model, root / "state", postgres_url, redis_url)
    with running_server(root / "srv", env, args=("--runtime", "aegra")) as server:
        yield server


def aegra_env(model: ScriptedOpenAI, state_dir: Path, postgres_url: str, redis_url: str) -> dict[str, str]:
    return server_env(model, state_dir, DATABASE_URL=postgres_url, REDIS_URL=redis_url)
