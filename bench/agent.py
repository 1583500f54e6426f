"""Benchmark of the agent's orchestration: per-step overhead and prompt tokens with context management.

1. Step overhead: the manager graph runs a task whose programmer makes STEPS tool calls of `true` (an instant in-process
   scripted model; the local sandbox; an in-memory checkpointer as the CLI uses). One step = the time between two
   consecutive programmer model calls (model node, tool node with the sandbox exec, events, checkpoints, routing); the
   figure is the median over REPEATS runs, against the same median for a bare loop (model call + sandbox exec, growing
   history, no graph), the two interleaved in the same process.
2. Prompt tokens: a scripted 60-step task whose every tool call prints a large output. The graph (with context
   management) versus a naive loop that sends the full history each time, same model policy, same sandbox, same
   per-output cap. Tokens are counted with langchain_core's approximate counter (messages + tool schemas).

Prints one JSON object on its last line.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from agent.config import AgentSettings
from agent.context import head_tail
from agent.prompts import system_prompt
from agent.tools import PROGRAMMER_TOOLS
from graphs.manager import build
from sandbox.local import LocalProvider
from sandbox.settings import SandboxSettings
from tests.support.fake_chat import FakeChatModel
from tests.support.scripted_openai import ChatRequest, Policy, Reply

STEPS = 60
LONG_STEPS = 60
BIG_COMMAND = "seq 100000 106000"  # ~42 KB of output per call, capped to TOOL_OUTPUT_CHARS for the model
REPEATS = 5


def repeat_policy(command: str, times: int, stamps: list[float] | None = None) -> Policy:
    """The programmer runs `command` `times` times, then marks its only item done. Counting is kept here (not read
    back from the conversation) because summarization may hide earlier calls from the model. `stamps` receives the
    time of every programmer call: the interval between two calls is one full step (model call + tool + graph)."""
    ran = [0]

    def policy(request: ChatRequest) -> Reply:
        role = request.role
        if role == "router":
            return Reply.call("start_new_task", task="benchmark")
        if role == "planner":
            return Reply.call("session_plan", plan=["run the command repeatedly"])
        if role == "reviewer":
            return Reply.call("accept_review", summary="ok")
        if role == "programmer":
            if stamps is not None:
                stamps.append(time.perf_counter())
            if ran[0] < times:
                ran[0] += 1
                return Reply.call("shell", command=command)
            return Reply.call("mark_task_completed", summary="done")
        return Reply.text("Ran the command many times; every run printed a long list of numbers.")

    return policy


def intervals_ms(stamps: list[float]) -> list[float]:
    """Milliseconds between consecutive model calls of the command phase (first and last call excluded)."""
    return [(b - a) * 1000 for a, b in itertools.pairwise(stamps[1:-1])]


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("bench\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init"], cwd=repo, check=True)
    return repo


async def graph_run(
    provider: LocalProvider, repo: Path, policy: Any, thread: str, **overrides: Any
) -> tuple[float, Any]:
    model = FakeChatModel(policy=policy)
    graph = build().compile(checkpointer=InMemorySaver())
    config: RunnableConfig = {
        "configurable": {
            "thread_id": thread,
            "chat_model": model,
            "sandbox_provider": provider,
            "auto_approve": True,
            **overrides,
        },
        "recursion_limit": 100_000,
    }
    start = time.perf_counter()
    await graph.ainvoke({"messages": [{"role": "user", "content": "benchmark"}], "repo": str(repo)}, config)
    elapsed = time.perf_counter() - start
    state = (await graph.aget_state(config)).values
    assert state["status"] == "completed", state.get("reason")
    return elapsed, model


async def bare_loop(
    sandbox: Any, steps: int, command: str, output_chars: int, stamps: list[float] | None = None
) -> tuple[float, list[int]]:
    """The minimal agent: model call + sandbox exec, full history each time, no graph, no limits, no events."""
    model = FakeChatModel(policy=repeat_policy(command, steps, stamps))
    bound = model.bind_tools([t.schema() for t in PROGRAMMER_TOOLS])
    messages: list[BaseMessage] = [
        SystemMessage(system_prompt("programmer", {"task": "benchmark", "plan": []})),
        HumanMessage("Work on plan item 1: run the command repeatedly"),
    ]
    start = time.perf_counter()
    for _ in range(steps):
        reply = await bound.ainvoke(messages)
        messages.append(reply)
        for call in reply.tool_calls:
            result = await sandbox.exec(call["args"]["command"])
            messages.append(ToolMessage(head_tail(result.output, output_chars), tool_call_id=call["id"]))
    return time.perf_counter() - start, model.prompt_tokens


async def main() -> None:
    settings = AgentSettings()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = make_repo(root)
        provider = LocalProvider(SandboxSettings(state_dir=root / "state"))
        try:
            # ---------------------------------------------------------------- per-step overhead
            graph_steps: list[float] = []
            bare_steps: list[float] = []
            for i in range(REPEATS):  # interleaved, so load changes on the machine hit both alike
                stamps: list[float] = []
                await graph_run(provider, repo, repeat_policy("true", STEPS, stamps), f"bench-{i}")
                graph_steps += intervals_ms(stamps)
                lease = await provider.acquire(f"bare-{i}", project_path=str(repo))
                stamps = []
                await bare_loop(lease.sandbox, STEPS, "true", settings.tool_output_chars, stamps)
                await provider.release(lease.sandbox.id, delete=False)
                bare_steps += intervals_ms(stamps)
            step_ms, bare_ms = statistics.median(graph_steps), statistics.median(bare_steps)
            # ---------------------------------------------------------------- prompt tokens over a long task
            _, managed = await graph_run(provider, repo, repeat_policy(BIG_COMMAND, LONG_STEPS), "long")
            programmer_sizes = managed.prompt_tokens
            summaries = sum(1 for r in managed.requests if r.role == "summarizer")
            lease = await provider.acquire("naive", project_path=str(repo))
            _, naive_sizes = await bare_loop(lease.sandbox, LONG_STEPS + 1, BIG_COMMAND, settings.tool_output_chars)
            await provider.release(lease.sandbox.id, delete=False)
        finally:
            await provider.aclose()
    managed_total, naive_total = sum(programmer_sizes), sum(naive_sizes)
    result = {
        "steps": STEPS,
        "step_overhead_ms": round(step_ms, 3),
        "bare_loop_step_ms": round(bare_ms, 3),
        "ratio_vs_bare": round(step_ms / bare_ms, 3),
        "long_task_steps": LONG_STEPS,
        "model_calls": {"managed": len(programmer_sizes), "naive": len(naive_sizes)},
        "prompt_tokens": {"managed": managed_total, "naive": naive_total},
        "token_ratio": round(managed_total / naive_total, 3),
        "max_prompt_tokens_per_call": max(programmer_sizes),
        "naive_max_prompt_tokens_per_call": max(naive_sizes),
        "prompt_budget": settings.prompt_token_budget,
        "summaries": summaries,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
