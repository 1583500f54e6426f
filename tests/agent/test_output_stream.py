"""Command output reaches observers as a handful of `tool_output` events: coalesced by time and size, nothing lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agent.config import AgentSettings
from agent.tools import PROGRAMMER_TOOLS
from agent.tools.base import ToolContext
from agent.tools.executor import run_tool_calls
from agent.tools.stream import FLUSH_CHARS, OutputCoalescer
from sandbox.local import LocalSandbox
from sandbox.settings import SandboxSettings


async def test_chunks_are_held_until_the_interval_or_the_size_limit() -> None:
    out: list[str] = []
    stream = OutputCoalescer(out.append, interval=0.05, max_chars=10)
    for ch in "abc":
        await stream.feed(ch)
    assert out == []  # buffered
    await asyncio.sleep(0.12)
    assert out == ["abc"]  # flushed by the timer, with no further chunk
    await stream.feed("0123456789xy")
    assert out == ["abc", "0123456789", "xy"]  # the size limit flushes at once, in pieces of at most max_chars
    await stream.feed("tail")
    stream.close()
    assert out == ["abc", "0123456789", "xy", "tail"]
    await asyncio.sleep(0.1)
    assert len(out) == 4  # no late timer flush after close


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    root = tmp_path / "ws"
    root.mkdir()
    async with LocalSandbox(root, settings=SandboxSettings(state_dir=tmp_path / "state")) as sb:
        yield sb


async def _shell(sandbox: LocalSandbox, command: str) -> tuple[str, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    reply = AIMessage("", tool_calls=[{"name": "shell", "args": {"command": command}, "id": "c1", "type": "tool_call"}])
    settings = AgentSettings(MODEL="m")
    result = await run_tool_calls(
        reply,
        PROGRAMMER_TOOLS,
        lambda cid, upd: ToolContext(sandbox, settings, {}, cid, events.append, upd),
        output_chars=1_000_000,
        emit=events.append,
    )
    return str(result.messages[0].content), events


DOTS = "import sys, time\nfor i in range(400):\n    sys.stdout.write('.'); sys.stdout.flush(); time.sleep(0.001)\n"


async def test_a_dot_per_test_run_is_a_handful_of_events_and_nothing_is_lost(sandbox: LocalSandbox) -> None:
    await sandbox.write("dots.py", DOTS)
    text, events = await _shell(sandbox, "python3 dots.py")
    chunks = [e["chunk"] for e in events if e["event"] == "tool_output"]
    assert "".join(chunks) == "." * 400
    assert text == "[exit code 0]\n" + "." * 400
    assert 1 <= len(chunks) <= 20, len(chunks)  # ~0.5 s of output at one flush per 100 ms (was 400 events)


async def test_large_output_comes_in_pieces_of_at_most_the_size_limit(sandbox: LocalSandbox) -> None:
    _, events = await _shell(sandbox, "seq 1 20000")
    chunks = [e["chunk"] for e in events if e["event"] == "tool_output"]
    expected = "".join(f"{i}\n" for i in range(1, 20001))
    assert "".join(chunks) == expected
    assert all(len(c) <= FLUSH_CHARS for c in chunks) and len(chunks) <= 40
