"""Manager nodes: route the user's message (new task, follow-up, direct answer) and close the task."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from agent import conversation
from agent.config import Role, load_settings
from agent.contract import FAILED_STATUSES, TERMINAL_STATUSES, EventType, TaskStatus, event
from agent.git import commit_all
from agent.limits import total_tokens
from agent.models import ModelNotConfigured, check_all_roles
from agent.nodes.artifacts import task_patch
from agent.nodes.common import Run, failed, invoke_model, is_over, now
from agent.nodes.setup import task_from_messages
from agent.prompts import plan_text, system_prompt
from agent.runtime import release_after_task
from agent.state import AgentState, Commit, new_task_state
from agent.tools.base import Tool, ToolContext
from sandbox.base import SandboxError


class StartTaskArgs(BaseModel):
    task: str = Field(description="The task, restated completely and precisely.")


class FollowUpArgs(BaseModel):
    instructions: str = Field(description="What the user adds to or changes in the current task.")


class AnswerArgs(BaseModel):
    reply: str = Field(description="The answer to the user.")


async def _unused(_: ToolContext, __: Any) -> str:  # router tools are decisions, never executed
    return ""


START_NEW_TASK = Tool("start_new_task", "Start a new coding task.", StartTaskArgs, _unused)
ADD_TO_CURRENT_TASK = Tool(
    "add_to_current_task", "Route the message to the current task as a follow-up.", FollowUpArgs, _unused
)
ANSWER = Tool("answer", "Answer the user directly, without starting a task.", AnswerArgs, _unused)
ROUTER_TOOLS = (START_NEW_TASK, ADD_TO_CURRENT_TASK, ANSWER)


def _context(state: AgentState) -> str:
    if not state.get("task"):
        return "There is no current task."
    return f"Current task ({state.get('status', '')}): {state['task']}\nPlan:\n{plan_text(state.get('plan') or [])}"


async def route_message(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    await load_settings()
    run = Run.of(config)
    try:
        check_all_roles(run.settings, run.configurable)
    except ModelNotConfigured as exc:
        run.emit(event(EventType.FAILED, status=TaskStatus.FAILED.value, reason=str(exc)))
        return {**failed(str(exc)), "route": "end"}
    message = task_from_messages(state)
    if not message.strip():
        return {**failed("the last user message is empty"), "route": "end", "intent": ""}
    has_task = bool(state.get("task"))
    intent = state.get("intent") or ""
    if intent == "task" or (intent == "follow_up" and not has_task):  # the caller said so: no model guesses
        return {"route": "new_task", "pending_task": message, "intent": ""}
    if intent == "follow_up":
        return {"route": "follow_up", "pending_task": message, "intent": ""}
    prompt: list[AnyMessage] = [HumanMessage(f"{_context(state)}\n\nThe user's message:\n{message}")]
    turn = await invoke_model(
        run,
        state,
        Role.ROUTER,
        conversation=prompt,
        system=system_prompt("router", state),
        tools=ROUTER_TOOLS,
        within_task=False,
    )
    usage = {"usage": turn.updates["usage"]} if "usage" in turn.updates else {}
    if turn.reply is None:
        run.emit(event(EventType.FAILED, status=TaskStatus.FAILED.value, reason=turn.updates.get("reason", "")))
        return {**turn.updates, "route": "end"}
    return {**usage, **decide_route(turn.reply, message, has_task=has_task)}


def decide_route(reply: AIMessage, message: str, *, has_task: bool) -> dict[str, Any]:
    """The router's reply as a route. Only a router tool call is a decision: prose, an empty reply or an unknown call
    is not, and then the message is work (a follow-up when there is a current task), never a guessed chat answer."""
    call = next((c for c in reply.tool_calls if c["name"] in {t.name for t in ROUTER_TOOLS}), None)
    args: dict[str, Any] = dict(call.get("args") or {}) if call is not None else {}
    if call is not None and call["name"] == "answer" and str(args.get("reply") or "").strip():
        return {"route": "answer", "pending_answer": str(args["reply"])}
    if call is not None and call["name"] == "start_new_task":
        return {"route": "new_task", "pending_task": str(args.get("task") or message)}
    if has_task:
        instructions = args.get("instructions") if call is not None else None
        return {"route": "follow_up", "pending_task": str(instructions or message)}
    return {"route": "new_task", "pending_task": message}


async def start_task(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    task = state.get("pending_task") or task_from_messages(state)
    run.emit(event(EventType.TASK_STARTED, task=task))
    return {
        **new_task_state(task),
        "usage": state.get("usage") or {},
        "tokens_at_start": total_tokens(state),
        "status": TaskStatus.PLANNING.value,
        "started_at": now(),
        "base_commit": "",
        "pending_task": "",
    }


async def follow_up(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    extra = state.get("pending_task") or task_from_messages(state)
    run.emit(event(EventType.TASK_STARTED, task=state.get("task", ""), follow_up=extra))
    restart = state.get("status") in TERMINAL_STATUSES
    return {
        "task": f"{state.get('task', '')}\n\nFollow-up from the user: {extra}",
        "plan_feedback": extra,
        "status": TaskStatus.PLANNING.value,
        "review_round": 0,
        "review_verdict": "",
        "open_requests": [],
        "reason": "",
        "pending_task": "",
        **(
            {"started_at": now(), "steps": 0, "paused_seconds": 0.0, "tokens_at_start": total_tokens(state)}
            if restart
            else {}
        ),
    }


async def answer(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """Reply to the user without starting a task: the reply is the message, the `finished` event's summary and (when no
    earlier task's outcome is shown) the view's summary."""
    run = Run.of(config)
    text = state.get("pending_answer") or ""
    status = state.get("status")
    keep = status in TERMINAL_STATUSES and status != TaskStatus.ANSWERED
    run.emit(event(EventType.FINISHED, status=TaskStatus.ANSWERED.value, summary=text, answer=text))
    return {
        "messages": [AIMessage(text)],
        "pending_answer": "",
        "answer": text,
        **({} if keep else {"status": TaskStatus.ANSWERED.value, "summary": text}),
    }


def summary_of(state: AgentState) -> str:
    parts = [state.get("summary") or ""]
    done = [i for i in state.get("plan") or [] if i["status"] == "done"]
    if done and not parts[0]:
        parts = ["\n".join(f"- {i['description']}: {i['summary']}" for i in done)]
    return parts[0].strip()


async def finish(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """Close the task: final commit and diff, final status, the `finished` or `failed` event, a reply to the user."""
    run = Run.of(config)
    updates: dict[str, Any] = {}
    status = state.get("status")
    if state.get("sandbox_id") and state.get("base_commit"):
        try:
            sandbox = await run.sandbox(state)
            commits: list[Commit] = list(state.get("commits") or [])
            commit = (
                await commit_all(sandbox, "open-swe: final changes") if status not in (TaskStatus.REJECTED,) else None
            )
            if commit:
                updates["commits"] = [*commits, commit]
            patch = await task_patch(sandbox, state["base_commit"])
            updates.update(diff=patch.diff, mbox=patch.mbox)
            await release_after_task(state, config)
        except SandboxError as exc:
            if not is_over(state):  # a task that already ended keeps its own reason: it says what went wrong first
                updates.update(failed(f"could not finalize the branch: {exc}"))
                status = TaskStatus.FAILED
    if status in FAILED_STATUSES:
        reason = updates.get("reason") or state.get("reason", "")
        run.emit(event(EventType.FAILED, status=str(status), reason=reason))
        text = f"Task {status}: {reason}"
        return {
            **updates,
            "status": str(status),
            "summary": state.get("summary") or text,
            "messages": [AIMessage(text)],
        }
    summary = summary_of(state)
    if state.get("review_verdict") in ("rounds_exhausted", "no_verdict"):
        open_requests = list(state.get("open_requests") or [])
        rounds = int(state.get("review_round") or 0)
        note = f"Not accepted by the reviewer after {rounds} review round(s); open: " + "; ".join(open_requests)
        summary = f"{summary}\n\n{note}".strip()
        run.emit(
            event(
                EventType.FINISHED,
                status=TaskStatus.NEEDS_REVIEW.value,
                summary=summary,
                open_requests=open_requests,
                feedback=state.get("review_feedback", ""),
                branch=state.get("branch", ""),
                commits=len(updates.get("commits", state.get("commits") or [])),
            )
        )
        return {
            **updates,
            "status": TaskStatus.NEEDS_REVIEW.value,
            "summary": summary,
            "messages": [conversation.closing(summary, state, updates)],
        }
    run.emit(
        event(
            EventType.FINISHED,
            status=TaskStatus.COMPLETED.value,
            summary=summary,
            branch=state.get("branch", ""),
            commits=len(updates.get("commits", state.get("commits") or [])),
        )
    )
    said = conversation.closing(summary, state, updates)
    return {**updates, "status": TaskStatus.COMPLETED.value, "summary": summary, "messages": [said]}
