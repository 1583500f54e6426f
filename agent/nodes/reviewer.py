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
        return failed(f"reviewer could not compute the diff: {exc}")
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
    """Record the reviewer's verdict. A review round is one reviewer pass: after `max_review_rounds` passes that asked
    for changes, the requests stay open (`open_requests`) and the task ends `needs_review`, never `completed`."""
    verdict = updates.get("review_verdict")
    round_ = int(state.get("review_round") or 0) + 1
    if verdict == "changes_requested":
        new_items = [i for i in updates["plan"] if i["status"] == "pending"]
        exhausted = round_ >= run.settings.max_review_rounds
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
        updates.update(review_round=round_, status=TaskStatus.PROGRAMMING.value, open_requests=[])
        if exhausted:
            for item in new_items:
                item.update(status="skipped", summary="not done: the review rounds ran out (MAX_REVIEW_ROUNDS)")
            updates.update(
                review_verdict="rounds_exhausted",
                status=TaskStatus.REVIEWING.value,
                open_requests=[i["description"] for i in new_items],
            )
    elif verdict == "accepted":
        run.emit(event(EventType.REVIEW, verdict=verdict, round=round_, summary=updates.get("summary", "")))
        updates.update(review_round=round_, open_requests=[])
    return updates


async def reviewer_tools(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    batch, ended = await execute_tool_calls(run, state, REVIEWER_TOOLS, "reviewer_messages")
    if ended is not None:
        return ended
    assert batch is not None
    updates: dict[str, Any] = {"reviewer_messages": batch.messages, "idle_replies": 0, **batch.recorded()}
    for key in ("plan", "review_verdict", "review_feedback", "summary"):
        if key in batch.updates:
            updates[key] = batch.updates[key]
    if updates.get("review_verdict") == "changes_requested" and "plan" not in updates:
        updates.pop("review_verdict")
    return _verdict(run, state, updates)


async def reviewer_nudge(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """A reply without a tool call is no verdict: a reminder, and after `max_idle_replies` in a row the task ends
    `needs_review` with the reviewer's last words as its open request (prose is never taken for an acceptance)."""
    run = Run.of(config)
    reply = last_ai(state.get("reviewer_messages") or [])
    text = str(reply.content).strip() if reply else ""
    idle = int(state.get("idle_replies") or 0) + 1
    if idle < run.settings.max_idle_replies:
        return {"idle_replies": idle, "reviewer_messages": [HumanMessage(NUDGE)]}
    request = f"the reviewer gave no verdict; its last reply: {text}" if text else "the reviewer gave no verdict"
    round_ = int(state.get("review_round") or 0) + 1
    run.emit(event(EventType.REVIEW, verdict="none", round=round_, feedback=text))
    return {"idle_replies": idle, "review_verdict": "no_verdict", "review_round": round_, "open_requests": [request]}


async def reviewer_step(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """The reviewer's model call and its tool calls, as one step."""
    return await act(reviewer_agent, reviewer_tools, "reviewer_messages", state, config)
