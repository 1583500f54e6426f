"""The one place per-task limits are enforced: steps, total tokens and wall time.

`check_limits` is called before every model call (agent/nodes/common.py). When a limit is reached the task ends with
status `limit_reached` and a named reason ("limit reached: max_steps=150"), never with an exception.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.config import AgentSettings


@dataclass(frozen=True, slots=True)
class LimitReached:
    name: str
    """max_steps | max_total_tokens | max_wall_seconds"""
    limit: float
    used: float

    @property
    def reason(self) -> str:
        return f"limit reached: {self.name}={_number(self.limit)} (used {_number(self.used)})"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def wall_seconds(state: Mapping[str, Any], now: float | None = None) -> float:
    """Seconds the task has been running, not counting time spent waiting for a human."""
    started = state.get("started_at") or 0.0
    if not started:
        return 0.0
    return (now or time.time()) - started - (state.get("paused_seconds") or 0.0)


def total_tokens(state: Mapping[str, Any]) -> int:
    return int(((state.get("usage") or {}).get("total") or {}).get("total_tokens", 0))


def check_limits(state: Mapping[str, Any], settings: AgentSettings, now: float | None = None) -> LimitReached | None:
    steps = int(state.get("steps") or 0)
    if steps >= settings.max_steps:
        return LimitReached("max_steps", settings.max_steps, steps)
    tokens = total_tokens(state) - int(state.get("tokens_at_start") or 0)
    if tokens >= settings.max_total_tokens:
        return LimitReached("max_total_tokens", settings.max_total_tokens, tokens)
    elapsed = wall_seconds(state, now)
    if elapsed >= settings.max_wall_seconds:
        return LimitReached("max_wall_seconds", settings.max_wall_seconds, round(elapsed, 1))
    return None
