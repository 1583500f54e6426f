"""`ensure_workspace`: acquire the thread's sandbox, put the repository on `agent/<thread_id>`, read its rules.

Idempotent: the planner, programmer and reviewer graphs all start with it, so each also runs on its own.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig

from agent.config import load_settings
from agent.contract import EventType, TaskStatus, event
from agent.git import prepare_workspace
from agent.nodes.common import Run, failed, now
from agent.runtime import acquire_sandbox
from agent.state import AgentState, new_task_state
from sandbox.base import Sandbox, SandboxError, SandboxGone

RULE_FILES = ("AGENTS.md", "CLAUDE.md")
RULES_CHARS = 8000


async def read_rules(sandbox: Sandbox) -> str:
    parts = []
    for name in RULE_FILES:
        try:
            content = await sandbox.read(name, max_bytes=RULES_CHARS)
        except SandboxError:
            continue
        if content.text:
            parts.append(f"# {name}\n{content.text.strip()}")
    return "\n\n".join(parts)[:RULES_CHARS]


def task_from_messages(state: AgentState) -> str:
    for message in reversed(state.get("messages") or []):
        if isinstance(message, HumanMessage):
            return str(message.content)
    return ""


async def ensure_workspace(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    await load_settings()
    run = Run.of(config)
    updates: dict[str, Any] = {}
    if not state.get("task"):
        task = task_from_messages(state)
        if not task:
            return failed("no task: send a user message with the task")
        updates.update(new_task_state(task), status=TaskStatus.PLANNING.value, started_at=now())
        run.emit(event(EventType.TASK_STARTED, task=task))
    if state.get("sandbox_id") and state.get("base_commit") and state.get("branch"):
        return updates
    try:
        try:
            sandbox, backend, project_path = await acquire_sandbox({**state, **updates}, config)
            workspace = await prepare_workspace(sandbox, run.thread_id)
        except SandboxGone:  # the cached remote sandbox expired or was deleted since the thread's last task
            sandbox, backend, project_path = await acquire_sandbox({**state, **updates}, config, refresh=True)
            workspace = await prepare_workspace(sandbox, run.thread_id)
        rules = await read_rules(sandbox)
    except Exception as exc:  # provider misconfiguration, clone failure, git error: the task fails, the run does not
        return {**updates, **failed(f"sandbox setup failed: {type(exc).__name__}: {exc}")}
    updates.update(
        sandbox_id=sandbox.id,
        sandbox_backend=backend,
        branch=workspace.branch,
        base_commit=workspace.base_commit,
        rules=rules,
        project_path=project_path or "",
    )
    if not state.get("started_at") and "started_at" not in updates:
        updates["started_at"] = now()
    return updates
