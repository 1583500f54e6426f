"""The per-task event log: ids, replay after an id, live notification, and persistence across processes."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from agent.http.eventlog import FileEventLog, is_task_id


async def test_events_get_increasing_ids_and_replay_after_an_id(tmp_path):
    log = FileEventLog(tmp_path)
    await log.open()
    task = str(uuid.uuid4())
    for i in range(5):
        await log.append(task, "tool_output", source="graph", chunk=f"line {i}")
    events = await log.since(task, 0)
    assert [e["id"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["chunk"] for e in await log.since(task, 3)] == ["line 3", "line 4"]
    assert await log.since(task, 5) == [] and await log.since(task, 99) == []
    assert events[0]["source"] == "graph" and events[0]["event"] == "tool_output"


async def test_the_log_survives_a_new_process(tmp_path):
    task = str(uuid.uuid4())
    first = FileEventLog(tmp_path)
    await first.open()
    await first.append(task, "task_created", owner="alice")
    await first.append(task, "plan_proposed", plan=[{"index": 0}])
    (tmp_path / f"{task}.jsonl").open("a").write('{"id": 3, "torn li')  # a crash mid-write
    second = FileEventLog(tmp_path)
    assert [e["event"] for e in await second.since(task, 0)] == ["task_created", "plan_proposed"]
    assert (await second.append(task, "status", status="planning"))["id"] == 3


async def test_listeners_are_woken_by_new_events(tmp_path):
    log = FileEventLog(tmp_path)
    await log.open()
    task = str(uuid.uuid4())
    listener = log.listen(task)
    waiter = asyncio.create_task(listener.wait())
    await log.append(task, "task_started")
    await asyncio.wait_for(waiter, 2)
    log.unlisten(task, listener)


async def test_concurrent_appends_keep_ids_unique(tmp_path):
    log = FileEventLog(tmp_path)
    await log.open()
    task = str(uuid.uuid4())
    await asyncio.gather(*(log.append(task, "tool_output", chunk=str(i)) for i in range(50)))
    reloaded = await FileEventLog(tmp_path).since(task, 0)
    assert [e["id"] for e in reloaded] == list(range(1, 51))


def test_only_uuids_name_a_log_file(tmp_path):
    assert is_task_id(str(uuid.uuid4()))
    for bad in ("../etc/passwd", "x", "", "0000"):
        assert not is_task_id(bad)
    with pytest.raises(ValueError):
        FileEventLog(tmp_path)._path("../escape")
