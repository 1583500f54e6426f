"""Running a model's tool calls: validation, events, redaction, truncation; errors go back as tool errors.

Nothing a model sends can crash the run: an unknown tool, arguments that fail validation or are not JSON, and any
exception from a tool become a `ToolMessage` with `status="error"` and a one-line explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from pydantic import ValidationError

from agent.context import head_tail
from agent.contract import EventType, event
from agent.tools.base import Tool, ToolContext, ToolError
from sandbox.base import SandboxError, SandboxGone
from sandbox.secrets import redact

EVENT_OUTPUT_CHARS = 4000
RECORDED = ("notes", "test_runs", "last_test_run")


@dataclass
class BatchResult:
    messages: list[ToolMessage] = field(default_factory=list)
    updates: dict[str, Any] = field(default_factory=dict)
    wrote_files: bool = False
    failures: int = 0
    """Failed calls at the end of the batch (reset by any success): feeds the programmer's failure streak."""
    sandbox_gone: str | None = None
    """Why the sandbox vanished mid-batch (deleted or expired): no later call can succeed, so the batch stopped."""

    def recorded(self) -> dict[str, Any]:
        """What the batch's tools recorded for every role: notes and the project's test runs."""
        return {key: self.updates[key] for key in RECORDED if key in self.updates}


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:4]:
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


async def _run_one(tool: Tool, raw_args: Any, ctx: ToolContext) -> tuple[bool, str]:
    try:
        args = tool.args.model_validate(raw_args if isinstance(raw_args, dict) else {})
    except ValidationError as exc:
        return False, f"invalid arguments for {tool.name}: {_validation_message(exc)}"
    try:
        return True, await tool.run(ctx, args)
    except ToolError as exc:
        return False, str(exc)
    except SandboxGone:
        raise
    except SandboxError as exc:
        return False, f"{tool.name} failed: {exc}"
    except Exception as exc:  # a tool bug must not end the task; the model sees what happened
        return False, f"{tool.name} failed unexpectedly: {type(exc).__name__}: {exc}"


async def run_tool_calls(
    reply: AIMessage,
    tools: Sequence[Tool],
    make_context: Callable[[str, dict[str, Any]], ToolContext],
    *,
    output_chars: int,
    emit: Callable[[dict[str, Any]], None],
) -> BatchResult:
    """Run every tool call of `reply` in order; one ToolMessage per call (malformed ones included)."""
    by_name = {t.name: t for t in tools}
    result = BatchResult()
    for bad in reply.invalid_tool_calls:
        call_id = bad.get("id") or ""
        name = bad.get("name") or "the tool call"
        text = f"the arguments of {name} are not valid JSON: {(bad.get('args') or '')[:200]!r}"
        emit(event(EventType.TOOL_CALL, tool=bad.get("name") or "", args={}, call_id=call_id))
        emit(event(EventType.TOOL_RESULT, call_id=call_id, ok=False, output=text))
        result.messages.append(ToolMessage(text, tool_call_id=call_id, name=bad.get("name") or "", status="error"))
        result.failures += 1
    for call in reply.tool_calls:
        call_id, name = call.get("id") or "", call["name"]
        emit(event(EventType.TOOL_CALL, tool=name, args=call.get("args") or {}, call_id=call_id))
        tool = by_name.get(name)
        if result.sandbox_gone is not None:
            ok, text = False, f"{name} not run: the sandbox is gone"
        elif tool is None:
            ok, text = False, f"unknown tool {name!r}; available tools: {', '.join(sorted(by_name))}"
        else:
            ctx = make_context(call_id, result.updates)
            try:
                ok, text = await _run_one(tool, call.get("args"), ctx)
            except SandboxGone as exc:
                result.sandbox_gone = str(exc)
                ok, text = False, f"{name} failed: {exc}"
            result.wrote_files |= ok and tool.writes_files
        text = head_tail(redact(text), output_chars)
        emit(event(EventType.TOOL_RESULT, call_id=call_id, ok=ok, output=head_tail(text, EVENT_OUTPUT_CHARS)))
        result.messages.append(ToolMessage(text, tool_call_id=call_id, name=name, status="success" if ok else "error"))
        result.failures = 0 if ok else result.failures + 1
    return result
