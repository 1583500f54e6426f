"""The agent's configuration: models per role, retries, and every limit, read from the environment (and `.env`).

One object, `AgentSettings`, holds all of it; per-run overrides come from the graph's configurable
(`agent.config.settings_for`). Limits are *enforced* in one place: `agent/limits.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Role(StrEnum):
    PLANNER = "planner"
    PROGRAMMER = "programmer"
    REVIEWER = "reviewer"
    ROUTER = "router"
    SUMMARIZER = "summarizer"


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class AgentSettings(BaseSettings):
    """Models, retries and limits of the agent. Every field has an environment variable (in capitals)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True)

    model: str | None = Field(
        default=None,
        validation_alias=_env("MODEL"),
        description="The default model of every role (e.g. gpt-4.1, qwen2.5-coder:32b).",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=_env("OPENAI_BASE_URL"),
        description="Any OpenAI-compatible endpoint (Azure, vLLM, Ollama, OpenRouter).",
    )
    openai_api_key: SecretStr | None = Field(default=None, validation_alias=_env("OPENAI_API_KEY"))
    planner_model: str | None = Field(default=None, validation_alias=_env("PLANNER_MODEL"))
    programmer_model: str | None = Field(default=None, validation_alias=_env("PROGRAMMER_MODEL"))
    reviewer_model: str | None = Field(default=None, validation_alias=_env("REVIEWER_MODEL"))
    router_model: str | None = Field(default=None, validation_alias=_env("ROUTER_MODEL"))
    summarizer_model: str | None = Field(default=None, validation_alias=_env("SUMMARIZER_MODEL"))
    temperature: float = Field(default=0.0, ge=0, le=2, validation_alias=_env("MODEL_TEMPERATURE"))
    model_max_retries: int = Field(
        default=4,
        ge=0,
        validation_alias=_env("MODEL_MAX_RETRIES"),
        description="Retries (exponential backoff) on 429/5xx/connection errors.",
    )
    model_timeout: float = Field(default=120.0, gt=0, validation_alias=_env("MODEL_TIMEOUT"))

    # ---------------------------------------------------------------- limits (enforced in agent/limits.py)
    max_steps: int = Field(
        default=150, gt=0, validation_alias=_env("MAX_STEPS"), description="Model calls per task, all roles together."
    )
    max_total_tokens: int = Field(
        default=2_000_000,
        gt=0,
        validation_alias=_env("MAX_TOTAL_TOKENS"),
        description="Input + output tokens per task, all roles together.",
    )
    max_wall_seconds: float = Field(
        default=3600.0,
        gt=0,
        validation_alias=_env("MAX_WALL_SECONDS"),
        description="Wall time per task, not counting time spent waiting for a human.",
    )
    prompt_token_budget: int = Field(
        default=48_000,
        gt=1000,
        validation_alias=_env("PROMPT_TOKEN_BUDGET"),
        description="Most tokens one prompt may hold; history is compacted to stay under.",
    )
    summarize_threshold: float = Field(
        default=0.6,
        gt=0.1,
        lt=1.0,
        validation_alias=_env("SUMMARIZE_THRESHOLD"),
        description="Fraction of the budget at which older history is summarized.",
    )
    keep_recent_tool_outputs: int = Field(
        default=6,
        ge=1,
        validation_alias=_env("KEEP_RECENT_TOOL_OUTPUTS"),
        description="Tool outputs kept verbatim in prompts; older ones are shortened.",
    )
    tool_output_chars: int = Field(
        default=12_000,
        gt=200,
        validation_alias=_env("TOOL_OUTPUT_CHARS"),
        description="Characters of one tool output sent to the model (head and tail).",
    )
    max_review_rounds: int = Field(
        default=2,
        ge=1,
        validation_alias=_env("MAX_REVIEW_ROUNDS"),
        description="Reviewer passes per task; when the last one still requests changes the task ends needs_review.",
    )
    planner_max_exploration_steps: int = Field(default=12, gt=0, validation_alias=_env("PLANNER_MAX_EXPLORATION_STEPS"))
    reviewer_max_steps: int = Field(default=10, gt=0, validation_alias=_env("REVIEWER_MAX_STEPS"))
    failure_streak_to_diagnose: int = Field(
        default=3,
        gt=0,
        validation_alias=_env("FAILURE_STREAK_TO_DIAGNOSE"),
        description="Consecutive failed tool calls after which the programmer diagnoses.",
    )
    max_idle_replies: int = Field(
        default=3,
        gt=0,
        validation_alias=_env("MAX_IDLE_REPLIES"),
        description="Consecutive replies without a tool call before the programmer gives up.",
    )
    shell_timeout: float = Field(default=300.0, gt=0, validation_alias=_env("SHELL_TIMEOUT"))
    install_timeout: float = Field(default=900.0, gt=0, validation_alias=_env("INSTALL_TIMEOUT"))

    def model_for(self, role: Role | str) -> str | None:
        return getattr(self, f"{Role(role).value}_model") or self.model


OVERRIDABLE = (
    "max_steps",
    "max_total_tokens",
    "max_wall_seconds",
    "max_review_rounds",
    "planner_max_exploration_steps",
    "prompt_token_budget",
)
MODEL_KEYS = ("model", *(f"{r.value}_model" for r in Role))


def settings_for(configurable: Mapping[str, Any] | None, base: AgentSettings | None = None) -> AgentSettings:
    """The settings of one run: `base` (or the environment) with the run's configurable overrides applied."""
    base = base or _cached_settings()
    cfg = configurable or {}
    updates = {k: cfg[k] for k in (*OVERRIDABLE, *MODEL_KEYS) if cfg.get(k) not in (None, "")}
    if not updates:
        return base
    key = (id(base), tuple(sorted((k, repr(v)) for k, v in updates.items())))
    hit = _OVERRIDDEN.get(key)
    if hit is None or hit[0] is not base:  # validating re-reads the environment and .env: once per distinct override
        hit = _OVERRIDDEN[key] = (base, base.model_validate({**base.model_dump(), **updates}))
    return hit[1]


_SETTINGS: list[AgentSettings] = []
_OVERRIDDEN: dict[tuple[Any, ...], tuple[AgentSettings, AgentSettings]] = {}


def _cached_settings() -> AgentSettings:
    """Read the environment once per process (lazily: importing this module does no I/O)."""
    if not _SETTINGS:
        _SETTINGS.append(AgentSettings())
    return _SETTINGS[0]


async def load_settings() -> AgentSettings:
    """Read the environment and `.env` once, off the event loop (async servers flag blocking file reads)."""
    import asyncio

    return _SETTINGS[0] if _SETTINGS else await asyncio.to_thread(_cached_settings)


def reset_settings_cache() -> None:
    _SETTINGS.clear()
    _OVERRIDDEN.clear()
