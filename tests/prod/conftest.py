"""Fixtures of the production-runtime tests: one real PostgreSQL server and one real Redis for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres_server import running_postgres
from tests.support.redis_server import running_redis


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url
