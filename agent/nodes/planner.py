"""Planner nodes: read-only exploration, a plan via `session_plan`, reverting any write, and plan approval."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from agent import conversation
from agent.config import Role
from agent.contract import EventType, PlanItem, TaskStatus, event
from agent.git import porcelain, revert_new_changes
from agent.hitl import InvalidResume, PlanDecision, parse_plan_decision, plan_approval_request
from agent.nodes.common import Run, act, execute_tool_calls, failed, invoke_model, last_ai, now, resumed_pause
from agent.prompts import system_prompt
from agent.state import AgentState
from agent.tools import PLANNER_TOOLS
from agent.tools.workflow import SESSION_PLAN, make_plan
from sandbox.base import SandboxError

FORCE_PLAN = (
    "You have used your exploration budget. Call `session_plan` now with the plan, based on what you have seen so far."
)
NUDGE = "Reply with a tool call: explore further or call `session_plan` with the plan."


async def planner_start(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    try:
        baseline = await porcelain(await run.sandbox(state))
    except SandboxError as exc:
        return failed(f"planner could not read the workspace: {exc}")
    added = []
    if not state.get("planner_messages"):
        added.append(HumanMessage(f"Plan this task:\n{state.get('task', '')}"))
    if state.get("plan_feedback"):
        added.append(HumanMessage(f"New request from the user, plan it:\n{state['plan_feedback']}"))
    return {
        "planner_messages": added,
        "planner_baseline": baseline,
        "plan_feedback": "",
        "status": TaskStatus.PLANNING.value,
        "planner_steps": 0,
        "planner_done": False,
    }


async def planner_agent(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    steps = int(state.get("planner_steps") or 0)
    conversation = list(state.get("planner_messages") or [])
    exhausted = steps >= run.settings.planner_max_exploration_steps
    tools = (SESSION_PLAN,) if exhausted else PLANNER_TOOLS
    added = []
    if exhausted and not (isinstance(conversation[-1], HumanMessage) and conversation[-1].content == FORCE_PLAN):
        added.append(HumanMessage(FORCE_PLAN))
    turn = await invoke_model(
        run,
        state,
        Role.PLANNER,
        conversation=[*conversation, *added],
        tools=tools,
        system=system_prompt("planner", state, max_steps=run.settings.planner_max_exploration_steps),
    )
    return {**turn.updates, "planner_messages": turn.write(added), "planner_steps": steps + 1}


async def planner_tools(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    run = Run.of(config)
    allowed = (
        (SESSION_PLAN,)
        if int(state.get("planner_steps") or 0) > run.settings.planner_max_exploration_steps
        else PLANNER_TOOLS
    )
    batch, ended = await execute_tool_calls(run, state, allowed, "planner_messages")
    if ended is not None:
        return ended
    assert batch is not None
    updates: dict[str, Any] = {"planner_messages": batch.messages, **batch.recorded()}
    if "plan" in batch.updates:
        updates["plan"] = merge_with_done(state.get("plan") or [], batch.updates["plan"])
        updates["plan_title"] = batch.updates.get("plan_title", "")
        updates["planner_done"] = True
    elif int(state.get("planner_steps") or 0) > run.settings.planner_max_exploration_steps + 2:
        updates["plan"] = merge_with_done(state.get("plan") or [], make_plan([state.get("task", "Carry out the task")]))
        updates["planner_done"] = True
    return updates


def merge_with_done(old: list[PlanItem], new: list[PlanItem]) -> list[PlanItem]:
    """A follow-up's plan keeps the items already done before it."""
    merged = [*(i for i in old if i["status"] == "done"), *new]
    return [
        PlanItem(index=k, description=i["description"], status=i["status"], summary=i.get("summary", ""))
        for k, i in enumerate(merged)
    ]


async def planner_nudge(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """The planner answered without a tool call: take its text as the plan after one reminder."""
    conversation = list(state.get("planner_messages") or [])
    reply = last_ai(conversation)
    text = str(reply.content).strip() if reply else ""
    reminded = (
        len(conversation) >= 2 and isinstance(conversation[-2], HumanMessage) and conversation[-2].content == NUDGE
    )
    if not reminded:
        return {"planner_messages": [HumanMessage(NUDGE)]}
    lines = [ln.strip().lstrip("-*0123456789.) ").strip() for ln in text.splitlines()]
    items = [ln for ln in lines if ln] or [state.get("task", "Carry out the task")]
    return {"plan": merge_with_done(state.get("plan") or [], make_plan(items[:20])), "planner_done": True}


CACHE_DIRS = frozenset(
    {
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        ".tox",
        ".nox",
        ".eggs",
        ".cache",
        ".gradle",
        ".next",
        ".nyc_output",
        ".parcel-cache",
        ".turbo",
        "target",
        "build",
        "dist",
        "coverage",
        "htmlcov",
        "node_modules",
    }
)
CACHE_SUFFIXES = (".pyc", ".pyo", ".egg-info", ".tsbuildinfo", ".coverage")


def is_command_cache(porcelain_line: str) -> bool:
    """A new untracked path that commands write as a side effect (bytecode, test and tool caches, build outputs): not a
    change the planner made, so it is neither reverted nor reported. Changes to tracked files always count."""
    if not porcelain_line.startswith("?? "):
        return False
    path = porcelain_line[3:].strip('"')
    parts = path.rstrip("/").split("/")
    return any(part in CACHE_DIRS or part.endswith(CACHE_SUFFIXES) for part in parts) or path.endswith(".coverage")


async def planner_finish(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """Revert anything the planner changed in the workspace, then show the plan."""
    run = Run.of(config)
    updates: dict[str, Any] = {}
    try:
        sandbox = await run.sandbox(state)
        caches = [line for line in await porcelain(sandbox) if is_command_cache(line)]
        reverted = await revert_new_changes(sandbox, [*(state.get("planner_baseline") or []), *caches])
    except SandboxError as exc:
        return failed(f"could not revert the planner's changes: {exc}")
    if reverted:
        note = f"The planner modified files it must not touch; reverted: {', '.join(reverted)}"
        updates["planner_messages"] = [AIMessage(note)]
        updates["notes"] = [*(state.get("notes") or []), note]
        run.emit(event(EventType.TOOL_RESULT, call_id="planner-revert", ok=False, output=note))
    plan = state.get("plan") or []
    run.emit(event(EventType.PLAN_PROPOSED, plan=plan, title=state.get("plan_title", "")))
    return {
        **updates,
        "messages": [conversation.plan_proposed(plan, state.get("plan_title", ""))],
        "status": TaskStatus.AWAITING_APPROVAL.value,
        "awaiting_since": now(),
        "reverted_paths": reverted,
    }


async def await_approval(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """Wait for the human's decision on the plan (agent/hitl.py: the interrupt and the resume values it accepts)."""
    run = Run.of(config)
    plan = state.get("plan") or []
    decision = PlanDecision("approve")
    if not run.auto_approve:
        payload = plan_approval_request(plan, title=state.get("plan_title", ""))
        while True:
            try:
                decision = parse_plan_decision(interrupt(payload))
                break
            except InvalidResume as exc:
                error = f"invalid resume value: {exc}"
                payload = plan_approval_request(plan, title=state.get("plan_title", ""), error=error)
    resumed = resumed_pause(state) if not run.auto_approve else {"awaiting_since": 0.0}
    if decision.kind == "reject":
        return {**resumed, **failed("plan rejected by the user", TaskStatus.REJECTED)}
    if decision.kind == "feedback":
        feedback = HumanMessage(
            f"Feedback on your plan from the user: {decision.message}\nRevise the plan and call `session_plan` again."
        )
        return {
            **resumed,
            "status": TaskStatus.PLANNING.value,
            "planner_steps": 0,
            "planner_done": False,
            "planner_messages": [feedback],
            "messages": [conversation.human_reply(decision.message)],
        }
    if decision.kind == "edit":
        done = [i for i in plan if i["status"] == "done"]
        plan = merge_with_done(done, make_plan(list(decision.plan)))
    run.emit(event(EventType.PLAN_APPROVED, plan=plan, edited=decision.kind == "edit", auto=run.auto_approve))
    return {**resumed, "plan": plan, "status": TaskStatus.PROGRAMMING.value}


async def planner_step(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """The planner's model call and its tool calls, as one step."""
    return await act(planner_agent, planner_tools, "planner_messages", state, config)
