"""The model factory: one `ChatOpenAI` per role, against any OpenAI-compatible endpoint.

`OPENAI_BASE_URL` picks the endpoint (OpenAI when unset; Azure, vLLM, Ollama, OpenRouter otherwise) and `OPENAI_API_KEY`
its key. A run with no usable model fails at once with `ModelNotConfigured`, whose message names the variables to set;
there is no fallback to any other provider.

Tests and embedders may pass ready chat models through the run's configurable: `{"chat_model": m}` for every role or
`{"chat_models": {"planner": m1, ...}}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.config import AgentSettings, Role

_PLACEHOLDER_KEY = "not-needed"


class ModelNotConfigured(RuntimeError):
    """No usable model for a role: the message says which environment variables to set."""


def injected_model(configurable: Mapping[str, Any] | None, role: Role | str) -> BaseChatModel | None:
    cfg = configurable or {}
    per_role = cfg.get("chat_models") or {}
    model = per_role.get(Role(role).value) if isinstance(per_role, Mapping) else None
    model = model or cfg.get("chat_model")
    return model if isinstance(model, BaseChatModel) else None


def check_configured(settings: AgentSettings, role: Role | str) -> str:
    """The model name for `role`, or `ModelNotConfigured` naming what is missing."""
    name = settings.model_for(role)
    missing = []
    if not name:
        missing.append(f"MODEL (or {Role(role).value.upper()}_MODEL)")
    if settings.openai_api_key is None and not settings.openai_base_url:
        missing.append("OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server)")
    if missing:
        raise ModelNotConfigured(f"no model configured for the {Role(role).value}: set {' and '.join(missing)}")
    return name  # type: ignore[return-value]


def build_chat_model(settings: AgentSettings, role: Role | str) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    name = check_configured(settings, role)
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else _PLACEHOLDER_KEY
    return ChatOpenAI(
        model=name,
        base_url=settings.openai_base_url,
        api_key=key,
        temperature=settings.temperature,
        max_retries=settings.model_max_retries,
        timeout=settings.model_timeout,
        stream_usage=True,
    )


def chat_model_for(settings: AgentSettings, role: Role | str, configurable: Mapping[str, Any] | None) -> BaseChatModel:
    """The chat model of `role` in this run: an injected one, else a cached `ChatOpenAI`."""
    model = injected_model(configurable, role)
    if model is not None:
        return model
    key = (
        settings.model_for(role),
        settings.openai_base_url,
        settings.temperature,
        settings.model_max_retries,
        settings.model_timeout,
        settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
    )
    cached = _CACHE.get(key)
    if cached is None:
        cached = _CACHE[key] = build_chat_model(settings, role)
    return cached


def check_all_roles(settings: AgentSettings, configurable: Mapping[str, Any] | None) -> None:
    """Fail fast, before any work, when some role has no usable model."""
    for role in Role:
        if injected_model(configurable, role) is None:
            check_configured(settings, role)


_CACHE: dict[tuple[Any, ...], BaseChatModel] = {}
