"""The graph state shared by the manager and its planner, programmer and reviewer subgraphs.

The keys above the line are the contract the service reads (see agent/contract.py for the value types);
the keys below are the agent's working memory. Every key except `messages` and the three role conversations is
overwritten by the node that returns it (nodes run one at a time), so a node returns the whole new value; role
conversations are appended to (`extend_conversation`), or replaced with `replace([...])`.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from agent.contract import PlanItem
from agent.tools.testrun import TestRun


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


ConversationUpdate = list[AnyMessage] | dict[str, list[AnyMessage]]
"""A node's write to a role conversation: messages to append, or `{"replace": [...]}` (new task, summarization).
At the node boundary, appends travel as `{"append": [...]}` (agent/conversation.py: off the `messages` stream)."""


def replace(messages: list[AnyMessage]) -> dict[str, list[AnyMessage]]:
    return {"replace": list(messages)}


def extend_conversation(current: list[AnyMessage] | None, update: ConversationUpdate) -> list[AnyMessage]:
    """The reducer of role conversations: nodes write only what they add, so checkpoint writes stay small."""
    if isinstance(update, dict) and "append" in update:
        return [*(current or []), *update["append"]]
    if isinstance(update, dict):
        return list(update["replace"])
    return [*(current or []), *update]


def combine_updates(first: ConversationUpdate, second: ConversationUpdate) -> ConversationUpdate:
    """Two successive writes as one."""
    if isinstance(second, dict):
        return second
    if isinstance(first, dict):
        return replace([*first["replace"], *second])
    return [*first, *second]


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
    mbox: str
    """The task's commits as an mbox (`git format-patch --stdout`), written when it ends (agent/nodes/artifacts.py)."""
    answer: str
    """The manager's direct reply to the latest message (status `answered`)."""
    open_requests: list[str]
    """The reviewer's requests still open when the task ended `needs_review`."""
    test_runs: int
    """Runs of the project's tests during the task (any role)."""
    last_test_run: TestRun | None
    """How the latest of them ended (agent/tools/testrun.py)."""
    # ---------------------------------------------------------------- working memory
    project_path: str
    rules: str
    """AGENTS.md / CLAUDE.md of the repository, when present."""
    route: str
    """The manager's decision for the latest user message: new_task | follow_up | answer."""
    intent: str
    """Set by the caller with the message: "task" (the task API: start it) or "follow_up"; "" lets the router decide."""
    planner_messages: Annotated[list[AnyMessage], extend_conversation]
    programmer_messages: Annotated[list[AnyMessage], extend_conversation]
    reviewer_messages: Annotated[list[AnyMessage], extend_conversation]
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
        "task": task,
        "plan": [],
        "diff": "",
        "mbox": "",
        "commits": [],
        "summary": "",
        "reason": "",
        "answer": "",
        "open_requests": [],
        "test_runs": 0,
        "last_test_run": None,
        "usage": {},
        "planner_messages": replace([]),
        "programmer_messages": replace([]),
        "reviewer_messages": replace([]),
        "planner_steps": 0,
        "plan_feedback": "",
        "steps": 0,
        "paused_seconds": 0.0,
        "awaiting_since": 0.0,
        "review_round": 0,
        "review_verdict": "",
        "pending_question": None,
        "notes": [],
        "failure_streak": 0,
        "idle_replies": 0,
        "reviewer_steps": 0,
    }
