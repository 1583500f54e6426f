"""The agent's tools, grouped by role. Each tool is a `agent.tools.base.Tool`; see agent/tools/executor.py for how
calls are run."""

from __future__ import annotations

from agent.tools.base import Tool, ToolContext, ToolError
from agent.tools.files import CREATE_FILE, INSERT, STR_REPLACE, VIEW
from agent.tools.patch import APPLY_PATCH
from agent.tools.search import FIND_FILES, GREP
from agent.tools.shell import INSTALL, SHELL
from agent.tools.workflow import (
    ACCEPT_REVIEW,
    MARK_TASK_COMPLETED,
    REQUEST_CHANGES,
    REQUEST_HUMAN_HELP,
    SCRATCHPAD,
    SESSION_PLAN,
    UPDATE_PLAN,
)

PLANNER_TOOLS: tuple[Tool, ...] = (VIEW, GREP, FIND_FILES, SHELL, SCRATCHPAD, SESSION_PLAN)
PROGRAMMER_TOOLS: tuple[Tool, ...] = (
    SHELL,
    VIEW,
    STR_REPLACE,
    CREATE_FILE,
    INSERT,
    APPLY_PATCH,
    GREP,
    FIND_FILES,
    INSTALL,
    UPDATE_PLAN,
    MARK_TASK_COMPLETED,
    REQUEST_HUMAN_HELP,
    SCRATCHPAD,
)
REVIEWER_TOOLS: tuple[Tool, ...] = (SHELL, VIEW, GREP, FIND_FILES, SCRATCHPAD, ACCEPT_REVIEW, REQUEST_CHANGES)

ROLE_TOOLS: dict[str, tuple[Tool, ...]] = {
    "planner": PLANNER_TOOLS,
    "programmer": PROGRAMMER_TOOLS,
    "reviewer": REVIEWER_TOOLS,
}

__all__ = ["PLANNER_TOOLS", "PROGRAMMER_TOOLS", "REVIEWER_TOOLS", "ROLE_TOOLS", "Tool", "ToolContext", "ToolError"]
