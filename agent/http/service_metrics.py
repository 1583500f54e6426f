"""Prometheus metrics of the task service, in the default registry (served at /metrics beside the
LangGraph server's own metrics and the sandbox metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TASKS_CREATED = Counter("open_swe_tasks_created_total", "Tasks created through the task API.")
TASKS_BY_STATE = Gauge("open_swe_tasks", "Tasks this process knows, by state.", ["state"])
TASK_DURATION = Histogram(
    "open_swe_task_duration_seconds",
    "Seconds from task creation to a terminal state.",
    ["status"],
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 3600, 7200),
)
TOOL_CALLS = Counter("open_swe_tool_calls_total", "Tool calls made by the agent.", ["tool"])
TOKENS = Counter("open_swe_tokens_total", "Model tokens used by finished tasks.", ["kind"])
TASK_EVENTS = Counter("open_swe_task_events_total", "Events recorded in task event logs.", ["event"])
REQUESTS_REFUSED = Counter("open_swe_task_requests_refused_total", "Task API requests refused.", ["reason"])


class TaskStates:
    """The latest known state of each task, mirrored into the `open_swe_tasks{state}` gauge."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}

    def set(self, task_id: str, state: str) -> None:
        previous = self._states.get(task_id)
        if previous == state:
            return
        if previous is not None:
            TASKS_BY_STATE.labels(previous).dec()
        TASKS_BY_STATE.labels(state).inc()
        self._states[task_id] = state

    def get(self, task_id: str) -> str | None:
        return self._states.get(task_id)


def record_usage(usage: dict) -> None:
    total = usage.get("total") if isinstance(usage, dict) else None
    if not isinstance(total, dict):
        return
    for kind in ("input_tokens", "output_tokens"):
        value = total.get(kind)
        if isinstance(value, int | float) and value > 0:
            TOKENS.labels(kind.removesuffix("_tokens")).inc(value)
