"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from coordination.store import CoordinationStore, MemoryStore, RedisStore
from tests.support.redis_server import running_redis, unique_prefix

# No outbound calls from LangGraph/LangSmith during tests.
os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
os.environ.setdefault("LANGGRAPH_NO_VERSION_CHECK", "true")
os.environ.setdefault("LANGSMITH_TRACING", "false")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real redis-server started for this test session."""
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[CoordinationStore]:
    """The coordination store, once in process and once on the session's real redis-server (its own key prefix)."""
    if request.param == "memory":
        store: CoordinationStore = MemoryStore()
    else:
        store = RedisStore(request.getfixturevalue("redis_url"), prefix=unique_prefix())
    yield store
    await store.aclose()
