"""The graph state shared by the manager and its planner, programmer and reviewer subgraphs.

The keys above the line are the contract the service reads (see agent/contract.py for the value types);
the keys below are the agent's working memory. Every key except `messages` is overwritten by the node that
returns it (nodes run one at a time), so a node returns the whole new value.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from agent.contract import PlanItem


class Commit(TypedDict):
    sha: str
    message: str


class RoleUsage(TypedDict):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    calls: int


class PendingQuestion(TypedDict):
    call_id: str
    question: str


class AgentState(TypedDict, total=False):
    # ---------------------------------------------------------------- read by the service
    messages: Annotated[list[AnyMessage], add_messages]
    repo: str | None
    status: str
    task: str
    plan: list[PlanItem]
    diff: str
    branch: str
    base_commit: str
    commits: list[Commit]
    summary: str
    usage: dict[str, RoleUsage]
    sandbox_id: str
    sandbox_backend: str
    reason: str
    # ---------------------------------------------------------------- working memory
    project_path: str
    rules: str
    """AGENTS.md / CLAUDE.md of the repository, when present."""
    route: str
    """The manager's decision for the latest user message: new_task | follow_up | answer."""
    planner_messages: list[AnyMessage]
    programmer_messages: list[AnyMessage]
    reviewer_messages: list[AnyMessage]
    planner_steps: int
    planner_baseline: list[str]
    """`git status --porcelain` lines before the planner ran: anything new afterwards is reverted."""
    plan_feedback: str
    steps: int
    started_at: float
    paused_seconds: float
    awaiting_since: float
    review_round: int
    review_verdict: str
    pending_question: PendingQuestion | None
    notes: list[str]
    failure_streak: int
    idle_replies: int
    reviewer_steps: int
    last_prompt_tokens: int
    plan_title: str
    planner_done: bool
    pending_task: str
    needs_diagnosis: bool
    tokens_at_start: int
    """Thread-cumulative total tokens when the current task started (usage is per thread)."""
    pending_answer: str
    reverted_paths: list[str]
    review_feedback: str


def new_task_state(task: str) -> dict[str, Any]:
    """The working memory of a fresh task (sandbox, branch and base commit are kept across tasks of a thread)."""
    return {
        "task": task, "plan": [], "diff": "", "commits": [], "summary": "", "reason": "",
        "usage": {}, "planner_messages": [], "programmer_messages": [], "reviewer_messages": [],
        "planner_steps": 0, "plan_feedback": "", "steps": 0, "paused_seconds": 0.0, "awaiting_since": 0.0,
        "review_round": 0, "review_verdict": "", "pending_question": None, "notes": [], "failure_streak": 0,
        "idle_replies": 0, "reviewer_steps": 0,
    }
