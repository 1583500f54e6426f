"""A task creation refused because another store is away (the rate limiter's Redis) frees its Idempotency-Key at once,
even where the keys live elsewhere (Postgres on the production runtime): a retry with the key creates the task instead
of waiting a minute on a 409."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.http.eventlog import FileEventLog
from agent.http.idempotency import IdempotencyRecords, fingerprint
from agent.http.models import CreateTaskRequest
from agent.http.service import TaskService
from agent.http.service_metrics import TaskStates
from coordination.store import MemoryStore, StoreUnavailable


class RedisAway:
    async def check(self, owner: str) -> None:
        raise StoreUnavailable("ConnectionError")


async def test_a_refused_creation_frees_its_key(tmp_path: Path) -> None:
    records = IdempotencyRecords(MemoryStore(), ttl=600)
    service = TaskService(
        client=None,
        log=FileEventLog(tmp_path),
        relay=None,  # type: ignore[arg-type]  # never reached: the limiter refuses first
        limiter=RedisAway(),  # type: ignore[arg-type]  # the limiter's interface: check(owner)
        idempotency=records,
        states=TaskStates(),
    )
    request = CreateTaskRequest(task="fix the test", repo=str(tmp_path))
    with pytest.raises(StoreUnavailable):
        await service.create("alice", request, "key-1")
    claim = await records.claim("alice", "key-1", fingerprint(request.model_dump(mode="json")))
    assert claim.outcome == "new"
