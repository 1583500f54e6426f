"""Programmer nodes: carry out the plan item by item, commit after each change, ask a human, diagnose failures."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from agent import conversation
from agent.config import Role
from agent.context import head_tail
from agent.contract import EventType, PlanItem, TaskStatus, event
from agent.git import commit_all, diff_against
from agent.hitl import InvalidResume, parse_answer, question_request
from agent.nodes.common import Run, act, execute_tool_calls, failed, invoke_model, last_ai, now, resumed_pause
from agent.prompts import system_prompt
from agent.state import AgentState, Commit
from agent.tools import PROGRAMMER_TOOLS
from agent.tools.workflow import current_item, make_plan
from sandbox.base import SandboxError

NUDGE = (
    "You replied without calling a tool. Continue with the current plan item ({item}) using the tools, "
    "and call `mark_task_completed` when it is done."
)


def _plan_started(plan: list[PlanItem]) -> list[PlanItem]:
    plan = [PlanItem(**i) for i in plan]
    if not any(i["status"] == "in_progress" for i in plan):
        item = current_item(plan)
        if item is not None:
            item["status"] = "in_progress"
    return plan


async def programmer_start(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    plan = _plan_started(state.get("plan") or make_plan([state.get("task") or "Carry out the task"]))
    item = current_item(plan)
    added = []
    if item is not None:
        run.emit(event(EventType.ITEM_STARTED, index=item["index"], description=item["description"]))
        added.append(HumanMessage(f"Work on plan item {item['index'] + 1}: {item['description']}"))
    return {
        "plan": plan,
        "programmer_messages": added,
        "status": TaskStatus.PROGRAMMING.value,
        "idle_replies": 0,
        "failure_streak": 0,
    }


async def programmer_agent(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    turn = await invoke_model(
        run,
        state,
        Role.PROGRAMMER,
        conversation=list(state.get("programmer_messages") or []),
        tools=PROGRAMMER_TOOLS,
        system=system_prompt("programmer", state),
    )
    return {**turn.updates, "programmer_messages": turn.write([])}


async def _commit(run: Run, state: AgentState, sandbox: Any, message: str, commits: list[Commit]) -> dict[str, Any]:
    commit = await commit_all(sandbox, message)
    if commit is None:
        return {}
    commits.append(commit)
    diff = await diff_against(sandbox, state.get("base_commit", ""))
    run.emit(event(EventType.DIFF_UPDATED, commit=commit["sha"], message=message, diff=head_tail(diff, 20_000)))
    return {"commits": commits, "diff": diff}


async def programmer_tools(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    batch, ended = await execute_tool_calls(run, state, PROGRAMMER_TOOLS, "programmer_messages")
    if ended is not None:
        return ended
    assert batch is not None
    sandbox = await run.sandbox(state)  # the thread's cached handle: commits go where the tools ran
    reply = last_ai(list(state.get("programmer_messages") or []))
    assert reply is not None
    added: list[Any] = list(batch.messages)
    ok_calls = sum(1 for m in batch.messages if m.status == "success")
    streak = batch.failures if ok_calls else int(state.get("failure_streak") or 0) + batch.failures
    updates: dict[str, Any] = {
        "failure_streak": streak,
        "idle_replies": 0,
        "needs_diagnosis": streak >= run.settings.failure_streak_to_diagnose,
    }
    plan: list[PlanItem] = batch.updates.get("plan", state.get("plan") or [])
    updates.update(batch.recorded())
    commits: list[Commit] = list(state.get("commits") or [])
    said: list[AIMessage] = []  # to the user, in `messages`
    try:
        if batch.wrote_files:
            edited = sorted({str(c["args"].get("path", "")) for c in reply.tool_calls if c.get("args")} - {""})
            updates.update(
                await _commit(run, state, sandbox, f"open-swe: edit {', '.join(edited) or 'files'}", commits)
            )
        for index in batch.updates.get("completed", []):
            item = plan[index]
            run.emit(
                event(EventType.ITEM_COMPLETED, index=index, description=item["description"], summary=item["summary"])
            )
            said.append(conversation.item_completed(item, plan))
            updates.update(await _commit(run, state, sandbox, f"{item['description']}\n\n{item['summary']}", commits))
    except SandboxError as exc:
        return {**updates, "programmer_messages": added, "plan": plan, "messages": said, **failed(str(exc))}
    nxt = current_item(plan)
    if nxt is not None and (batch.updates.get("completed") or batch.updates.get("plan_changed")):
        plan = _plan_started(plan)
        nxt = current_item(plan)
        assert nxt is not None
        run.emit(event(EventType.ITEM_STARTED, index=nxt["index"], description=nxt["description"]))
        added.append(HumanMessage(f"Work on plan item {nxt['index'] + 1}: {nxt['description']}"))
    updates.update(plan=plan, programmer_messages=added)
    question = batch.updates.get("pending_question")
    if question:
        run.emit(event(EventType.QUESTION_ASKED, question=question["question"], call_id=question["call_id"]))
        updates.update(pending_question=question, status=TaskStatus.AWAITING_ANSWER.value, awaiting_since=now())
        said.append(conversation.question_asked(question["question"]))
    return {**updates, "messages": said} if said else updates


async def ask_human(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """Wait for the human's answer (agent/hitl.py: the interrupt and the resume values it accepts)."""
    pending = state.get("pending_question")
    question = pending["question"] if pending else ""
    payload = question_request(question)
    while True:
        try:
            answer = parse_answer(interrupt(payload))
            break
        except InvalidResume as exc:
            payload = question_request(question, error=f"invalid resume value: {exc}")
    message = HumanMessage(f"Answer from the human to your question ({question}):\n{answer}")
    return {
        **resumed_pause(state),
        "pending_question": None,
        "status": TaskStatus.PROGRAMMING.value,
        "programmer_messages": [message],
        "messages": [conversation.human_reply(answer)],
    }


async def programmer_nudge(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """A reply without a tool call: remind the model, and give up after `max_idle_replies` in a row."""
    run = Run.of(config)
    idle = int(state.get("idle_replies") or 0) + 1
    if idle >= run.settings.max_idle_replies:
        return {"idle_replies": idle, **failed(f"the model replied {idle} times in a row without calling a tool")}
    item = current_item(state.get("plan") or [])
    text = NUDGE.format(item=item["description"] if item else "none left")
    return {"idle_replies": idle, "programmer_messages": [HumanMessage(text)]}


async def diagnose(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """Recent tool calls keep failing: ask the model (without tools) for the cause, and feed that back."""
    run = Run.of(config)
    conversation = list(state.get("programmer_messages") or [])
    failures = [m for m in conversation if isinstance(m, ToolMessage) and m.status == "error"][-5:]
    report = "\n\n".join(f"{m.name}: {head_tail(str(m.content), 1500)}" for m in failures)
    turn = await invoke_model(
        run,
        state,
        Role.PROGRAMMER,
        conversation=[HumanMessage(f"Failures:\n{report}")],
        system=system_prompt("diagnose", state),
        usage_role="diagnose",
    )
    if turn.reply is None:
        return turn.updates
    note = HumanMessage(f"Diagnosis of the repeated failures:\n{turn.reply.content}\nTry a different approach.")
    return {**turn.updates, "failure_streak": 0, "needs_diagnosis": False, "programmer_messages": [note]}


async def programmer_finish(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """Every item is done: commit anything left and record the diff."""
    run = Run.of(config)
    try:
        sandbox = await run.sandbox(state)
        commits: list[Commit] = list(state.get("commits") or [])
        updates = await _commit(run, state, sandbox, "open-swe: remaining changes", commits)
        if "diff" not in updates:
            updates["diff"] = await diff_against(sandbox, state.get("base_commit", ""))
    except SandboxError as exc:
        return failed(f"final commit failed: {exc}")
    return updates


async def programmer_step(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """The programmer's model call and its tool calls, as one step."""
    return await act(programmer_agent, programmer_tools, "programmer_messages", state, config)
