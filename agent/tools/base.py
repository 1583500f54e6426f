"""What a tool is: a name, a description, a pydantic argument schema and a short async body.

Tools are thin adapters over the sandbox protocol. They get everything they touch (the sandbox, the settings, the
stream writer, the task's plan) from a `ToolContext` the graph node builds from its runtime config; never from module
globals. A tool signals failure by raising `ToolError` (or a `SandboxError`): the executor turns it into a tool error
message for the model, so a bad call never ends the run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from agent.config import AgentSettings
from sandbox.base import Sandbox


class ToolError(Exception):
    """A tool call failed; the message (one line where possible) goes back to the model."""


def _noop(_: dict[str, Any]) -> None:
    return None


@dataclass
class ToolContext:
    sandbox: Sandbox
    settings: AgentSettings
    state: Mapping[str, Any]
    call_id: str = ""
    emit: Callable[[dict[str, Any]], None] = _noop
    updates: dict[str, Any] = field(default_factory=dict)
    """State changes made by workflow tools (plan, notes, verdicts); the node applies them after the batch."""

    def current(self, key: str, default: Any = None) -> Any:
        """A state value as updated by earlier tools of this batch."""
        return self.updates.get(key, self.state.get(key, default))


_SCHEMAS: dict[int, tuple[Tool, dict[str, Any]]] = {}


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[ToolContext, Any], Awaitable[str]]
    writes_files: bool = False

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-tool schema sent to the model (computed once per tool)."""
        cached = _SCHEMAS.get(id(self))
        if cached is None or cached[0] is not self:
            cached = _SCHEMAS[id(self)] = (self, self._build_schema())
        return cached[1]

    def _build_schema(self) -> dict[str, Any]:
        params = self.args.model_json_schema()
        params.pop("title", None)
        for prop in params.get("properties", {}).values():
            prop.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": params},
        }
