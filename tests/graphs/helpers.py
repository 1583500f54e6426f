"""Driving the manager graph in tests: an in-memory checkpointer, the fake chat model, a local sandbox provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from graphs.manager import build
from tests.support.fake_chat import FakeChatModel
from tests.support.fixture_repo import FIXTURE_TASK, fix_bug_policy
from tests.support.scripted_openai import ChatRequest, Reply


def by_role(**handlers: Callable[[ChatRequest], Reply | None]) -> Callable[[ChatRequest], Reply]:
    """A policy: the handler of the request's role when it returns a Reply, else `fix_bug_policy`."""

    def policy(request: ChatRequest) -> Reply:
        handler = handlers.get(request.role)
        reply = handler(request) if handler else None
        return reply if reply is not None else fix_bug_policy(request)

    return policy


@dataclass
class Driver:
    graph: CompiledStateGraph
    config: RunnableConfig
    model: FakeChatModel
    events: list[dict[str, Any]] = field(default_factory=list)

    async def _run(self, payload: Any) -> dict[str, Any]:
        async for _, mode, chunk in self.graph.astream(
            payload, self.config, stream_mode=["custom", "updates"], subgraphs=True
        ):
            if mode == "custom" and isinstance(chunk, dict):
                self.events.append(chunk)
        return await self.state()

    async def send(self, message: str = FIXTURE_TASK, repo: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"messages": [{"role": "user", "content": message}]}
        if repo is not None:
            payload["repo"] = repo
        return await self._run(payload)

    async def resume(self, value: Any) -> dict[str, Any]:
        return await self._run(Command(resume=value))

    async def state(self) -> dict[str, Any]:
        return dict((await self.graph.aget_state(self.config, subgraphs=True)).values)

    async def interrupts(self) -> list[Any]:
        snapshot = await self.graph.aget_state(self.config, subgraphs=True)
        return [i.value for i in snapshot.interrupts]

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]


def driver(
    policy: Callable[[ChatRequest], Reply], provider: Any, *, thread_id: str = "t1", **configurable: Any
) -> Driver:
    model = FakeChatModel(policy=policy)
    config: RunnableConfig = {
        "configurable": {"thread_id": thread_id, "chat_model": model, "sandbox_provider": provider, **configurable}
    }
    return Driver(build().compile(checkpointer=InMemorySaver()), config, model)
