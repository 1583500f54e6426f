"""Configuration per role, per-run overrides, the model factory, limits and usage accounting."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agent.config import AgentSettings, Role, settings_for
from agent.limits import check_limits, wall_seconds
from agent.models import ModelNotConfigured, build_chat_model, chat_model_for, check_all_roles
from agent.usage import add_usage, measured
from tests.support.fake_chat import FakeChatModel
from tests.support.scripted_openai import Reply


def test_every_role_defaults_to_model_and_can_be_overridden(agent_env: None) -> None:
    s = AgentSettings(MODEL="base", REVIEWER_MODEL="strict")
    assert {r: s.model_for(r) for r in Role} == {
        Role.PLANNER: "base",
        Role.PROGRAMMER: "base",
        Role.REVIEWER: "strict",
        Role.ROUTER: "base",
        Role.SUMMARIZER: "base",
    }
    run = settings_for({"model": "other", "planner_model": "big", "max_steps": 7, "unrelated": 1}, s)
    assert run.model_for(Role.PLANNER) == "big" and run.model_for(Role.ROUTER) == "other"
    assert run.model_for(Role.REVIEWER) == "strict" and run.max_steps == 7
    assert settings_for({}, s) is s


def test_settings_come_from_the_environment(agent_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MAX_STEPS", "12")
    monkeypatch.setenv("PROMPT_TOKEN_BUDGET", "9000")
    s = AgentSettings()
    assert (s.model, s.openai_base_url, s.max_steps, s.prompt_token_budget) == (
        "env-model",
        "http://127.0.0.1:9/v1",
        12,
        9000,
    )


def test_a_missing_model_names_the_variables_to_set(agent_env: None) -> None:
    with pytest.raises(ModelNotConfigured, match=r"set MODEL \(or PLANNER_MODEL\) and OPENAI_API_KEY"):
        check_all_roles(AgentSettings(), {})
    with pytest.raises(ModelNotConfigured, match="OPENAI_API_KEY"):
        build_chat_model(AgentSettings(MODEL="m"), Role.ROUTER)
    check_all_roles(AgentSettings(MODEL="m", OPENAI_BASE_URL="http://127.0.0.1:9/v1"), {})  # local server, no key
    injected = FakeChatModel(policy=lambda r: Reply.text("x"))
    check_all_roles(AgentSettings(), {"chat_model": injected})


def test_the_factory_builds_chat_openai_with_retries_and_the_endpoint() -> None:
    s = AgentSettings(
        MODEL="m",
        PROGRAMMER_MODEL="coder",
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
        OPENAI_API_KEY=SecretStr("sk-x"),
        MODEL_MAX_RETRIES=7,
    )
    model = build_chat_model(s, Role.PROGRAMMER)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "coder" and model.max_retries == 7
    assert model.openai_api_base == "http://127.0.0.1:9/v1" and model.stream_usage is True
    assert chat_model_for(s, Role.PROGRAMMER, {}) is chat_model_for(s, Role.PROGRAMMER, {})
    injected = FakeChatModel(policy=lambda r: Reply.text("x"))
    assert chat_model_for(s, Role.REVIEWER, {"chat_models": {"reviewer": injected}}) is injected


def test_limits_are_named_and_wall_time_excludes_waiting_for_a_human() -> None:
    s = AgentSettings(MAX_STEPS=5, MAX_TOTAL_TOKENS=100, MAX_WALL_SECONDS=60)
    assert check_limits({"steps": 4}, s) is None
    assert (steps := check_limits({"steps": 5}, s)) and steps.reason == "limit reached: max_steps=5 (used 5)"
    usage = {"total": {"total_tokens": 150}}
    assert (tokens := check_limits({"usage": usage}, s)) and tokens.name == "max_total_tokens"
    assert check_limits({"usage": usage, "tokens_at_start": 100}, s) is None  # per task, not per thread
    now = 10_000.0
    assert (wall := check_limits({"started_at": now - 61}, s, now=now)) and wall.name == "max_wall_seconds"
    assert wall_seconds({"started_at": now - 61, "paused_seconds": 30}, now=now) == 31
    assert check_limits({"started_at": now - 61, "paused_seconds": 30}, s, now=now) is None


def test_usage_is_recorded_per_role_with_a_total() -> None:
    reply = AIMessage("hi", usage_metadata={"input_tokens": 10, "output_tokens": 2, "total_tokens": 12})
    usage = add_usage({}, "planner", measured(reply, []))
    usage = add_usage(usage, "programmer", measured(reply, []))
    assert usage["planner"] == {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12, "calls": 1}
    assert usage["total"] == {"input_tokens": 20, "output_tokens": 4, "total_tokens": 24, "calls": 2}
    estimated = measured(AIMessage("x" * 400), [AIMessage("y" * 4000)])
    assert estimated["input_tokens"] > 900 and estimated["output_tokens"] > 90


def test_empty_variables_mean_unset(agent_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL", "")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    s = AgentSettings()
    assert s.model is None and s.openai_api_key is None
    with pytest.raises(ModelNotConfigured):
        check_all_roles(s, {})


def test_run_overrides_are_validated_once_per_distinct_override(monkeypatch: pytest.MonkeyPatch) -> None:
    base = AgentSettings(MODEL="m")
    first = settings_for({"max_steps": 12}, base)
    monkeypatch.setenv("PROMPT_TOKEN_BUDGET", "1234")  # not re-read: the environment is read when settings are built
    again = settings_for({"max_steps": 12}, base)
    assert again is first and first.max_steps == 12 and again.prompt_token_budget == base.prompt_token_budget
    assert settings_for({"max_steps": 13}, base).max_steps == 13


def test_chat_models_differing_only_in_timeout_are_not_shared() -> None:
    quick = AgentSettings(MODEL="m", OPENAI_API_KEY=SecretStr("sk-x"), MODEL_TIMEOUT=5)
    slow = AgentSettings(MODEL="m", OPENAI_API_KEY=SecretStr("sk-x"), MODEL_TIMEOUT=500)
    assert chat_model_for(quick, Role.ROUTER, {}) is not chat_model_for(slow, Role.ROUTER, {})
    assert chat_model_for(quick, Role.ROUTER, {}) is chat_model_for(quick, Role.ROUTER, {})
