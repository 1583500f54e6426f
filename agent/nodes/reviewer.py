"""Reviewer nodes: review the diff against the base commit, run checks, accept or send new plan items back."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig

from agent.config import Role
from agent.context import head_tail
from agent.contract import EventType, TaskStatus, event
from agent.git import diff_against
from agent.nodes.common import Run, act, execute_tool_calls, failed, invoke_model, last_ai
from agent.prompts import plan_text, system_prompt
from agent.state import AgentState, replace
from agent.tools import REVIEWER_TOOLS
from agent.tools.workflow import ACCEPT_REVIEW, REQUEST_CHANGES
from sandbox.base import SandboxError

FORCE_VERDICT = "You have used your review budget: call `accept_review` or `request_changes` now."
NUDGE = "Reply with a tool call: run a check, or call `accept_review` / `request_changes`."


async def reviewer_start(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    try:
        diff = await diff_against(await run.sandbox(state), state.get("base_commit", ""))
    except SandboxError as exc:
        return failed(run, f"reviewer could not compute the diff: {exc}")
    intro = (
        f"Review round {int(state.get('review_round') or 0) + 1}.\nPlan:\n{plan_text(state.get('plan') or [])}\n\n"
        f"Diff against the base commit {state.get('base_commit', '')[:12]}:\n```diff\n"
        f"{head_tail(diff, run.settings.tool_output_chars) or '(no changes)'}\n```"
    )
    return {
        "diff": diff,
        "reviewer_messages": replace([HumanMessage(intro)]),
        "review_verdict": "",
        "reviewer_steps": 0,
        "idle_replies": 0,
        "status": TaskStatus.REVIEWING.value,
    }


async def reviewer_agent(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    steps = int(state.get("reviewer_steps") or 0)
    conversation = list(state.get("reviewer_messages") or [])
    exhausted = steps >= run.settings.reviewer_max_steps
    added = [HumanMessage(FORCE_VERDICT)] if exhausted and conversation[-1].content != FORCE_VERDICT else []
    turn = await invoke_model(
        run,
        state,
        Role.REVIEWER,
        conversation=[*conversation, *added],
        system=system_prompt("reviewer", state),
        tools=(ACCEPT_REVIEW, REQUEST_CHANGES) if exhausted else REVIEWER_TOOLS,
    )
    return {**turn.updates, "reviewer_messages": turn.write(added), "reviewer_steps": steps + 1}


def _verdict(run: Run, state: AgentState, updates: dict[str, Any]) -> dict[str, Any]:
    verdict = updates.get("review_verdict")
    if verdict == "changes_requested":
        round_ = int(state.get("review_round") or 0) + 1
        new_items = [i for i in updates["plan"] if i["status"] == "pending"]
        exhausted = round_ > run.settings.max_review_rounds
        run.emit(
            event(
                EventType.REVIEW,
                verdict=verdict,
                round=round_,
                feedback=updates.get("review_feedback", ""),
                items=[i["description"] for i in new_items],
                rounds_exhausted=exhausted,
            )
        )
        updates.update(review_round=round_, status=TaskStatus.PROGRAMMING.value)
        if exhausted:
            for item in new_items:
                item.update(status="skipped", summary="not done: the review rounds are exhausted")
            updates.update(review_verdict="rounds_exhausted", status=TaskStatus.REVIEWING.value)
    elif verdict == "accepted":
        run.emit(
            event(
                EventType.REVIEW,
                verdict=verdict,
                round=int(state.get("review_round") or 0) + 1,
                summary=updates.get("summary", ""),
            )
        )
    return updates


async def reviewer_tools(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    batch, ended = await execute_tool_calls(run, state, REVIEWER_TOOLS, "reviewer_messages")
    if ended is not None:
        return ended
    assert batch is not None
    updates: dict[str, Any] = {"reviewer_messages": batch.messages, "idle_replies": 0}
    for key in ("plan", "notes", "review_verdict", "review_feedback", "summary"):
        if key in batch.updates:
            updates[key] = batch.updates[key]
    if updates.get("review_verdict") == "changes_requested" and "plan" not in updates:
        updates.pop("review_verdict")
    return _verdict(run, state, updates)


async def reviewer_nudge(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """A reply without a tool call: prose counts as acceptance; an empty reply gets a reminder, then acceptance."""
    run = Run.of(config)
    reply = last_ai(state.get("reviewer_messages") or [])
    text = str(reply.content).strip() if reply else ""
    idle = int(state.get("idle_replies") or 0) + 1
    if not text and idle < run.settings.max_idle_replies:
        return {"idle_replies": idle, "reviewer_messages": [HumanMessage(NUDGE)]}
    summary = text or "The reviewer gave no verdict; the change is accepted as is."
    return _verdict(run, state, {"idle_replies": idle, "review_verdict": "accepted", "summary": summary})


async def reviewer_step(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """The reviewer's model call and its tool calls, as one step."""
    return await act(reviewer_agent, reviewer_tools, "reviewer_messages", state, config)
