"""What every node needs: the run's settings and stream writer, the sandbox, and one guarded model call.

`invoke_model` is the single path to a chat model: it enforces the task's limits (agent/limits.py), keeps the prompt
under its token budget (agent/context.py), records usage per role, and turns model errors into a failed status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.constants import TAG_NOSTREAM

from agent.config import AgentSettings, Role, settings_for
from agent.context import compact, count_tokens, fit_to_budget, shorten_old_tool_outputs
from agent.contract import TaskStatus
from agent.limits import check_limits
from agent.models import chat_model_for
from agent.runtime import acquire_sandbox, configurable_of, thread_id_of
from agent.state import ConversationUpdate, combine_updates, extend_conversation, replace
from agent.tools.base import Tool, ToolContext
from agent.tools.executor import BatchResult, run_tool_calls
from agent.usage import add_usage, measured
from sandbox.base import Sandbox, SandboxError
from sandbox.secrets import redact


def _writer() -> Callable[[dict[str, Any]], None]:
    try:
        from langgraph.config import get_stream_writer

        return get_stream_writer()
    except Exception:  # called outside a graph run (unit tests of a node)
        return lambda _: None


@dataclass
class Run:
    config: RunnableConfig
    configurable: dict[str, Any]
    settings: AgentSettings
    thread_id: str
    emit: Callable[[dict[str, Any]], None]

    @classmethod
    def of(cls, config: RunnableConfig | None) -> Run:
        cfg = configurable_of(config)
        return cls(config or {}, cfg, settings_for(cfg), thread_id_of(config), _writer())

    @property
    def auto_approve(self) -> bool:
        value = self.configurable.get("auto_approve", False)
        return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}

    async def sandbox(self, state: Mapping[str, Any]) -> Sandbox:
        sandbox, _, _ = await acquire_sandbox(state, self.config)
        return sandbox

    def tool_context(self, sandbox: Sandbox, state: Mapping[str, Any]) -> Callable[[str, dict[str, Any]], ToolContext]:
        return lambda call_id, updates: ToolContext(sandbox, self.settings, state, call_id, self.emit, updates)


def failed(reason: str, status: TaskStatus = TaskStatus.FAILED) -> dict[str, Any]:
    """The state update that ends a task; the `failed` event is emitted by the manager's finish node."""
    return {"status": status.value, "reason": redact(reason)}


async def execute_tool_calls(
    run: Run, state: Mapping[str, Any], tools: Sequence[Tool], conversation_key: str
) -> tuple[BatchResult | None, dict[str, Any] | None]:
    """Run the tool calls of the last model reply in `state[conversation_key]` in the thread's sandbox: `(batch, None)`,
    or `(None, update)` where `update` ends the task because the sandbox is unavailable or vanished mid-task (the tool
    results still close the model's calls)."""
    reply = last_ai(list(state.get(conversation_key) or []))
    assert reply is not None, f"no model reply in {conversation_key}"
    try:
        sandbox = await run.sandbox(state)
    except SandboxError as exc:
        return None, failed(f"sandbox unavailable: {exc}")
    batch = await run_tool_calls(
        reply, tools, run.tool_context(sandbox, state), output_chars=run.settings.tool_output_chars, emit=run.emit
    )
    if batch.sandbox_gone is not None:
        reason = (
            f"the sandbox vanished mid-task ({batch.sandbox_gone}); work not yet in the task's diff is lost: "
            "send a follow-up message to continue on a fresh sandbox"
        )
        return None, {**failed(reason), conversation_key: batch.messages}
    return batch, None


def is_over(state: Mapping[str, Any]) -> bool:
    return state.get("status") in (
        TaskStatus.FAILED,
        TaskStatus.LIMIT_REACHED,
        TaskStatus.REJECTED,
        TaskStatus.CANCELLED,
    )


def last_ai(messages: Sequence[AnyMessage]) -> AIMessage | None:
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            return message
    return None


@dataclass(frozen=True, slots=True)
class ModelTurn:
    reply: AIMessage | None
    updates: dict[str, Any]
    """usage, steps and (after compaction) the compacted conversation; or a failed/limit status."""
    conversation: list[AnyMessage]
    """The whole conversation after the call (compacted or not, the reply appended)."""
    compacted: bool = False

    def write(self, added: Sequence[AnyMessage]) -> ConversationUpdate:
        """The conversation update of a node that appended `added` before calling the model."""
        if self.compacted:
            return replace(self.conversation)
        return [*added, self.reply] if self.reply is not None else list(added)


async def invoke_model(
    run: Run,
    state: Mapping[str, Any],
    role: Role,
    *,
    system: str,
    conversation: list[AnyMessage],
    tools: Sequence[Tool] = (),
    usage_role: str | None = None,
    within_task: bool = True,
) -> ModelTurn:
    """One model call under the task's limits (unless `within_task` is False: the router, which runs between tasks)
    and the prompt budget. Never raises for model or limit failures."""
    limit = check_limits(state, run.settings) if within_task else None
    if limit is not None:
        return ModelTurn(None, failed(limit.reason, TaskStatus.LIMIT_REACHED), conversation)
    settings = run.settings
    schemas = [t.schema() for t in tools]
    system_message = SystemMessage(system)
    usage = state.get("usage") or {}
    fixed = count_tokens([system_message], schemas)
    threshold = max(1000, int(settings.prompt_token_budget * settings.summarize_threshold) - fixed)
    view = shorten_old_tool_outputs(conversation, settings.keep_recent_tool_outputs)
    updates: dict[str, Any] = {}
    compacted = False
    try:
        view_tokens = count_tokens(view)
        if view_tokens > threshold:
            summarizer = chat_model_for(settings, Role.SUMMARIZER, run.configurable)
            compaction = await compact(conversation, model=summarizer, threshold_tokens=0, keep_tokens=threshold // 3)
            if compaction.summary_reply is not None:
                usage = add_usage(usage, Role.SUMMARIZER.value, measured(compaction.summary_reply, []))
                conversation = compaction.messages
                compacted = True
                view = shorten_old_tool_outputs(conversation, settings.keep_recent_tool_outputs)
                view_tokens = count_tokens(view)
        prompt: list[AnyMessage] = [system_message, *view]
        if fixed + view_tokens > settings.prompt_token_budget:
            prompt = fit_to_budget(prompt, settings.prompt_token_budget, schemas)
        model = chat_model_for(settings, role, run.configurable)
        bound = model.bind_tools(schemas) if schemas else model
        # `nostream`: the role models' tokens stay off the `messages` stream mode (chat UIs show the graph's own
        # conversation, agent/conversation.py)
        reply = await bound.ainvoke(prompt, config={"tags": [f"role:{role.value}", TAG_NOSTREAM]})
    except Exception as exc:  # model/transport errors after the client's own retries
        detail = " ".join(str(exc).split())[:300]
        return ModelTurn(
            None,
            {**failed(f"model error ({role.value}): {type(exc).__name__}: {detail}"), "usage": usage},
            conversation,
            compacted,
        )
    if not isinstance(reply, AIMessage):
        reply = AIMessage(content=str(getattr(reply, "content", reply)))
    updates["usage"] = add_usage(usage, usage_role or role.value, measured(reply, prompt))
    updates["steps"] = int(state.get("steps") or 0) + 1
    return ModelTurn(reply, updates, [*conversation, reply], compacted)


def now() -> float:
    return time.time()


def resumed_pause(state: Mapping[str, Any]) -> dict[str, Any]:
    """After a human answered: add the waiting time to `paused_seconds` (it does not count against wall time)."""
    since = state.get("awaiting_since") or 0.0
    waited = max(0.0, now() - since) if since else 0.0
    return {"paused_seconds": float(state.get("paused_seconds") or 0.0) + waited, "awaiting_since": 0.0}


NodeFn = Callable[[Any, RunnableConfig], Any]


async def act(
    think: NodeFn, run_tools: NodeFn, key: str, state: Mapping[str, Any], config: RunnableConfig
) -> dict[str, Any]:
    """One agent step in one node: the model call, then (when it asked for them) its tool calls.

    Keeping both in one node halves the supersteps and checkpoints per step; a crash mid-step re-runs the step.
    """
    first: dict[str, Any] = await think(state, config)
    merged = {**state, **first}
    if key in first:
        merged[key] = extend_conversation(state.get(key), first[key])
    reply = last_ai(merged.get(key) or [])
    if is_over(merged) or reply is None or merged[key][-1] is not reply:
        return first
    if not (reply.tool_calls or reply.invalid_tool_calls):
        return first
    second = await run_tools(merged, config)
    combined = {**first, **second}
    if key in first and key in second:
        combined[key] = combine_updates(first[key], second[key])
    return combined
