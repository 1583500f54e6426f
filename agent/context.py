"""Context and cost: token counting, compacting long histories, and keeping every prompt under its budget.

Three mechanisms, cheapest first:
1. `shorten_old_tool_outputs`: in the prompt (not the state), tool outputs older than the last few are cut to a stub.
2. `compact`: once a conversation crosses `summarize_threshold * prompt_token_budget`, its older part is replaced by a
   model-written summary. The cut never separates an AIMessage with tool_calls from its ToolMessages.
3. `fit_to_budget`: a last guard that trims the longest message contents until the prompt fits.

Counting uses langchain_core's approximate counter (about 4 characters per token): tiktoken's files cannot be
downloaded here, and the estimate errs on the generous side for code.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.tools import BaseTool
from langgraph.constants import TAG_NOSTREAM

SUMMARY_PREFIX = "[Summary of the earlier part of this conversation]\n"
ELIDED = "[output elided to save context: re-run the tool if you need it again]"


_CACHE_SIZE = 50_000
_MESSAGE_TOKENS: OrderedDict[int, tuple[BaseMessage, int]] = OrderedDict()
_TOOLS_TOKENS: dict[tuple[int, ...], tuple[list[dict[str, Any]], int]] = {}


def message_tokens(message: BaseMessage) -> int:
    """One message's approximate count, cached by identity (messages are never mutated here: edits make copies)."""
    hit = _MESSAGE_TOKENS.get(id(message))
    if hit is not None and hit[0] is message:
        return hit[1]
    tokens = count_tokens_approximately([message])
    _MESSAGE_TOKENS[id(message)] = (message, tokens)
    if len(_MESSAGE_TOKENS) > _CACHE_SIZE:
        _MESSAGE_TOKENS.popitem(last=False)
    return tokens


def tools_tokens(tools: list[dict[str, Any]]) -> int:
    key = tuple(id(t) for t in tools)
    hit = _TOOLS_TOKENS.get(key)
    if hit is None or any(a is not b for a, b in zip(hit[0], tools, strict=True)):
        schemas: list[BaseTool | dict[str, Any]] = list(tools)
        hit = _TOOLS_TOKENS[key] = (list(tools), count_tokens_approximately([], tools=schemas))
    return hit[1]


def count_tokens(messages: Sequence[BaseMessage], tools: list[dict[str, Any]] | None = None) -> int:
    """langchain_core's approximate count (it is additive per message), with per-message results cached."""
    return sum(message_tokens(m) for m in messages) + (tools_tokens(tools) if tools else 0)


def head_tail(text: str, limit: int) -> str:
    """Keep the first and last `limit // 2` characters of `text` with a marker saying how much was cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters omitted ...]\n{text[-half:]}"


def shorten_old_tool_outputs(messages: Sequence[AnyMessage], keep: int, stub_chars: int = 240) -> list[AnyMessage]:
    """A copy of `messages` where all but the last `keep` tool outputs are cut to a short stub."""
    tool_indexes = [i for i, m in enumerate(messages) if isinstance(m, ToolMessage)]
    old = set(tool_indexes[:-keep]) if keep else set(tool_indexes)
    out: list[AnyMessage] = []
    for i, m in enumerate(messages):
        if i in old and isinstance(m.content, str) and len(m.content) > stub_chars:
            out.append(m.model_copy(update={"content": f"{m.content[:stub_chars]}\n{ELIDED}"}))
        else:
            out.append(m)
    return out


def safe_cut(messages: Sequence[AnyMessage], index: int) -> int:
    """The largest cut <= index such that messages[cut:] does not start inside a tool-call group."""
    index = max(0, min(index, len(messages)))
    while 0 < index < len(messages) and isinstance(messages[index], ToolMessage):
        index -= 1
    return index


def split_recent(messages: Sequence[AnyMessage], keep_tokens: int) -> int:
    """Index where the recent tail (about `keep_tokens` tokens, at least the last group) starts."""
    total, index = 0, len(messages)
    while index > 0:
        cost = count_tokens([messages[index - 1]])
        if total + cost > keep_tokens and index < len(messages):
            break
        total += cost
        index -= 1
    cut = safe_cut(messages, index)
    if cut == 0 and len(messages) > 1:  # the whole history is one group: keep just its last group
        cut = safe_cut(messages, len(messages) - 1)
    return cut


def render_for_summary(messages: Sequence[AnyMessage], limit_chars: int = 24_000) -> str:
    lines: list[str] = []
    for m in messages:
        if isinstance(m, AIMessage):
            calls = "; ".join(f"{c['name']}({str(c['args'])[:200]})" for c in m.tool_calls)
            lines.append(f"assistant: {str(m.content)[:600]}" + (f" -> calls {calls}" if calls else ""))
        elif isinstance(m, ToolMessage):
            lines.append(f"tool {m.name or ''} ({m.status}): {head_tail(str(m.content), 600)}")
        else:
            lines.append(f"{m.type}: {head_tail(str(m.content), 1200)}")
    return head_tail("\n".join(lines), limit_chars)


SUMMARIZE_INSTRUCTIONS = (
    "[open-swe:summarizer] You compress a coding agent's working history. Write a concise summary (under 300 words) "
    "of what was done, which files were read or changed, command results that matter, and what remains open. "
    "Facts only; no advice."
)


@dataclass(frozen=True, slots=True)
class Compaction:
    messages: list[AnyMessage]
    summary_reply: AIMessage | None
    """The summarizer's reply (for usage accounting), None when nothing was summarized."""


async def compact(
    messages: list[AnyMessage], *, model: BaseChatModel, threshold_tokens: int, keep_tokens: int
) -> Compaction:
    """Summarize the older part of `messages` when they exceed `threshold_tokens`; otherwise return them unchanged."""
    if count_tokens(messages) <= threshold_tokens:
        return Compaction(list(messages), None)
    cut = split_recent(messages, keep_tokens)
    if cut <= 0:
        return Compaction(list(messages), None)
    older, recent = messages[:cut], messages[cut:]
    prompt = [SystemMessage(SUMMARIZE_INSTRUCTIONS), HumanMessage(render_for_summary(older))]
    reply = await model.ainvoke(prompt, config={"tags": [TAG_NOSTREAM]})  # internal: off the `messages` stream
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    summary = HumanMessage(SUMMARY_PREFIX + (text.strip() or "(no summary returned)"))
    return Compaction([summary, *recent], reply if isinstance(reply, AIMessage) else None)


def fit_to_budget(
    messages: list[AnyMessage], budget: int, tools: list[dict[str, Any]] | None = None
) -> list[AnyMessage]:
    """Trim the longest message contents (never removing messages) until the prompt fits `budget` tokens."""
    out = list(messages)
    for _ in range(64):
        over = count_tokens(out, tools) - budget
        if over <= 0:
            return out
        i = max(range(len(out)), key=lambda k: len(str(out[k].content)))
        content = str(out[i].content)
        if len(content) < 200:
            return out
        target = max(100, len(content) - over * 4 - 400)
        out[i] = out[i].model_copy(update={"content": head_tail(content, target)})
    return out
