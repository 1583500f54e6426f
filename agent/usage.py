"""Token usage per role, kept in state as `usage`: role -> {input_tokens, output_tokens, total_tokens, calls}, plus
"total"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agent.context import count_tokens

FIELDS = ("input_tokens", "output_tokens", "total_tokens", "calls")


def measured(reply: AIMessage, prompt: Sequence[BaseMessage]) -> dict[str, int]:
    """Usage the endpoint reported, or an approximate count when it reported none."""
    meta = reply.usage_metadata
    if meta and meta.get("total_tokens"):
        inp, out = int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
        return {"input_tokens": inp, "output_tokens": out, "total_tokens": int(meta["total_tokens"]), "calls": 1}
    inp, out = count_tokens(prompt), count_tokens([reply])
    return {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out, "calls": 1}


def add_usage(usage: Mapping[str, Any] | None, role: str, delta: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """A new usage dict with `delta` added to `role` and to "total"."""
    out = {k: dict(v) for k, v in (usage or {}).items()}
    for key in (role, "total"):
        entry = out.setdefault(key, dict.fromkeys(FIELDS, 0))
        for f in FIELDS:
            entry[f] = int(entry.get(f, 0)) + int(delta.get(f, 0))
    return out
