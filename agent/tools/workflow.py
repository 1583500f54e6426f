"""Workflow tools: they change the task's plan, notes and verdicts (recorded in `ctx.updates`), not the repository.

- planner: `session_plan` proposes the plan.
- programmer: `update_plan`, `mark_task_completed`, `request_human_help`.
- reviewer: `accept_review`, `request_changes`.
- everyone: `scratchpad`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agent.contract import PlanItem
from agent.tools.base import Tool, ToolContext, ToolError


def make_plan(descriptions: list[str]) -> list[PlanItem]:
    return [
        PlanItem(index=i, description=d.strip(), status="pending", summary="")
        for i, d in enumerate(descriptions)
        if d.strip()
    ]


def current_item(plan: list[PlanItem]) -> PlanItem | None:
    for item in plan:
        if item["status"] in ("in_progress", "pending"):
            return item
    return None


class SessionPlanArgs(BaseModel):
    title: str = Field(default="", description="A short title for the change.")
    plan: list[str] = Field(min_length=1, description="Ordered, concrete steps; each one a small verifiable change.")


class UpdatePlanArgs(BaseModel):
    remaining: list[str] = Field(min_length=1, description="The new list of steps still to do (replaces pending ones).")
    reason: str = Field(default="", description="Why the plan changes.")


class MarkCompletedArgs(BaseModel):
    summary: str = Field(description="What was done for the current plan item (one or two sentences).")


class HumanHelpArgs(BaseModel):
    question: str = Field(description="A precise question for the human; work resumes with their answer.")


class ScratchpadArgs(BaseModel):
    note: str = Field(description="A note to keep for later (findings, file locations, open questions).")


class AcceptArgs(BaseModel):
    summary: str = Field(description="A summary of the change for the user.")


class RequestChangesArgs(BaseModel):
    items: list[str] = Field(min_length=1, description="New steps the programmer must carry out.")
    feedback: str = Field(default="", description="What is wrong with the change.")


async def session_plan(ctx: ToolContext, args: SessionPlanArgs) -> str:
    plan = make_plan(args.plan)
    if not plan:
        raise ToolError("the plan is empty: give at least one non-blank step")
    ctx.updates["plan"] = plan
    ctx.updates["plan_title"] = args.title
    return f"plan recorded with {len(plan)} step(s)"


async def update_plan(ctx: ToolContext, args: UpdatePlanArgs) -> str:
    plan: list[PlanItem] = [dict(i) for i in ctx.current("plan", [])]  # type: ignore[misc]
    kept = [i for i in plan if i["status"] in ("done", "skipped", "in_progress")]
    for item in kept:
        if item["status"] == "in_progress":
            item["status"] = "skipped"
            item["summary"] = item["summary"] or f"replaced by a plan update: {args.reason}".strip()
    new = make_plan(args.remaining)
    merged = kept + [
        PlanItem(index=len(kept) + i, description=n["description"], status="pending", summary="")
        for i, n in enumerate(new)
    ]
    ctx.updates["plan"] = merged
    ctx.updates["plan_changed"] = True
    return f"plan updated: {len(new)} step(s) remaining"


async def mark_task_completed(ctx: ToolContext, args: MarkCompletedArgs) -> str:
    plan: list[PlanItem] = [dict(i) for i in ctx.current("plan", [])]  # type: ignore[misc]
    item = current_item(plan)
    if item is None:
        raise ToolError("every plan item is already completed")
    item["status"], item["summary"] = "done", args.summary
    ctx.updates["plan"] = plan
    ctx.updates.setdefault("completed", []).append(item["index"])
    following = current_item(plan)
    if following is None:
        return f"item {item['index'] + 1} done; every plan item is completed"
    following["status"] = "in_progress"
    return f"item {item['index'] + 1} done; next item {following['index'] + 1}: {following['description']}"


async def request_human_help(ctx: ToolContext, args: HumanHelpArgs) -> str:
    ctx.updates["pending_question"] = {"call_id": ctx.call_id, "question": args.question}
    return "question sent to the human; waiting for the answer"


async def scratchpad(ctx: ToolContext, args: ScratchpadArgs) -> str:
    notes = [*ctx.current("notes", []), args.note]
    ctx.updates["notes"] = notes
    return f"noted ({len(notes)} note(s) kept)"


async def accept_review(ctx: ToolContext, args: AcceptArgs) -> str:
    ctx.updates["review_verdict"] = "accepted"
    ctx.updates["summary"] = args.summary
    return "review accepted"


async def request_changes(ctx: ToolContext, args: RequestChangesArgs) -> str:
    plan: list[dict[str, Any]] = [dict(i) for i in ctx.current("plan", [])]
    start = len(plan)
    plan += [
        dict(PlanItem(index=start + i, description=d.strip(), status="pending", summary=""))
        for i, d in enumerate(args.items)
        if d.strip()
    ]
    if len(plan) == start:
        raise ToolError("request_changes needs at least one non-blank item")
    ctx.updates["plan"] = plan
    ctx.updates["review_verdict"] = "changes_requested"
    ctx.updates["review_feedback"] = args.feedback
    return f"{len(plan) - start} item(s) sent back to the programmer"


SESSION_PLAN = Tool(
    "session_plan", "Propose the plan: ordered, concrete steps to carry out the task.", SessionPlanArgs, session_plan
)
UPDATE_PLAN = Tool(
    "update_plan",
    "Replace the remaining steps of the plan when what you learned changes it.",
    UpdatePlanArgs,
    update_plan,
)
MARK_TASK_COMPLETED = Tool(
    "mark_task_completed",
    "Mark the current plan item as done (your changes are committed).",
    MarkCompletedArgs,
    mark_task_completed,
)
REQUEST_HUMAN_HELP = Tool(
    "request_human_help",
    "Ask the human a question when you cannot proceed without an answer.",
    HumanHelpArgs,
    request_human_help,
)
SCRATCHPAD = Tool(
    "scratchpad", "Keep a note for yourself; notes survive history summarization.", ScratchpadArgs, scratchpad
)
ACCEPT_REVIEW = Tool(
    "accept_review", "Accept the change: it does what the task asks and the checks pass.", AcceptArgs, accept_review
)
REQUEST_CHANGES = Tool(
    "request_changes", "Send the change back with new steps for the programmer.", RequestChangesArgs, request_changes
)
