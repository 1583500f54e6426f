"""The `agent` graph's `messages`: a conversation a person (or a LangChain chat UI) can read.

It holds the user's requests and the agent's side of the dialogue: the proposed plan, questions and the human's
answers, a short note per completed plan item, and the final summary with the diff's stats. The role models'
own conversations stay in `planner_messages` / `programmer_messages` / `reviewer_messages`, and are kept off
LangGraph's `messages` stream mode in two ways:

- every model call is tagged `nostream` (`agent.nodes.common.invoke_model`), so no token chunk of a role model
  reaches the stream;
- the stream mode also reports the messages a node *returns*, under any state key: `quiet_conversations` wraps each
  node so that role-conversation writes travel as `{"append": [...]}` (see `agent.state.extend_conversation`),
  which the stream mode does not look into. Only `messages` writes stream.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from agent.contract import PlanItem
from agent.hitl import plan_text

ROLE_CONVERSATIONS = ("planner_messages", "programmer_messages", "reviewer_messages")


# ---------------------------------------------------------------- the readable conversation


def plan_proposed(plan: list[PlanItem], title: str = "") -> AIMessage:
    return AIMessage(f"Here is my plan:\n\n{plan_text(plan, title)}")


def item_completed(item: PlanItem, plan: list[PlanItem]) -> AIMessage:
    summary = f": {item['summary']}" if item.get("summary") else ""
    return AIMessage(f"Done {item['index'] + 1}/{len(plan)}, {item['description']}{summary}")


def question_asked(question: str) -> AIMessage:
    return AIMessage(question)


def human_reply(text: str) -> HumanMessage:
    """The human's answer or plan feedback, given through an interrupt, recorded as their turn."""
    return HumanMessage(text)


def diff_stats(diff: str) -> tuple[int, int, int]:
    """(files changed, lines added, lines removed) of a unified git diff."""
    files = added = removed = 0
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            files += 1
        elif line.startswith("+") and not line.startswith("+++ "):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    return files, added, removed


def closing(summary: str, state: Mapping[str, Any], updates: Mapping[str, Any]) -> AIMessage:
    """The finish node's last word: the summary and the stats of the task's final diff (`updates` over `state`)."""
    return final_summary(
        summary,
        diff=str(updates.get("diff", state.get("diff")) or ""),
        branch=str(state.get("branch") or ""),
        commits=len(updates.get("commits", state.get("commits")) or []),
    )


def final_summary(summary: str, *, diff: str, branch: str = "", commits: int = 0) -> AIMessage:
    files, added, removed = diff_stats(diff)
    stats = (
        f"{files} file{'s' if files != 1 else ''} changed, +{added} -{removed}" if files else "no changes to the code"
    )
    where = f" on branch `{branch}`" if branch else ""
    tail = f"{stats}{where}" + (f" ({commits} commit{'s' if commits != 1 else ''})" if commits else "")
    return AIMessage(f"{summary.strip()}\n\n{tail}".strip())


# ---------------------------------------------------------------- keeping role conversations off the messages stream

Node = Callable[..., Awaitable[Any]]


def _quiet(update: Any) -> Any:
    if not isinstance(update, Mapping):
        return update
    return {k: {"append": list(v)} if k in ROLE_CONVERSATIONS and isinstance(v, list) else v for k, v in update.items()}


def quiet_conversations(node: Node) -> Node:
    """`node`, with its role-conversation writes as `{"append": [...]}` (same state, not streamed as messages)."""

    @functools.wraps(node)
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        return _quiet(await node(*args, **kwargs))

    return wrapped
