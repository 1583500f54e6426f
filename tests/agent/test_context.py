"""Token counting, compaction that never splits a tool call from its result, and the prompt budget."""

from __future__ import annotations

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from agent.context import (
    ELIDED,
    SUMMARY_PREFIX,
    compact,
    count_tokens,
    fit_to_budget,
    safe_cut,
    shorten_old_tool_outputs,
    split_recent,
)
from tests.support.fake_chat import FakeChatModel
from tests.support.scripted_openai import Reply


def history(groups: int, output_chars: int = 4000) -> list:
    messages: list = [HumanMessage("do the task")]
    for i in range(groups):
        calls = [
            {"name": "shell", "args": {"command": f"cmd {i} {k}"}, "id": f"c{i}-{k}", "type": "tool_call"}
            for k in range(2)
        ]
        messages.append(AIMessage("", tool_calls=calls))
        messages += [ToolMessage("x" * output_chars, tool_call_id=c["id"], name="shell") for c in calls]
    return messages


def assert_groups_whole(messages: list) -> None:
    open_ids: set[str | None] = set()
    for m in messages:
        if isinstance(m, AIMessage):
            open_ids = {c["id"] for c in m.tool_calls}
        elif isinstance(m, ToolMessage):
            assert m.tool_call_id in open_ids, f"orphan tool result {m.tool_call_id}"


def test_safe_cut_moves_back_to_the_owning_ai_message() -> None:
    messages = history(3)
    # indexes: 0 human, 1 ai, 2-3 tools, 4 ai, 5-6 tools, ...
    assert safe_cut(messages, 3) == 1 and safe_cut(messages, 6) == 4 and safe_cut(messages, 4) == 4
    for cut in range(len(messages)):
        assert_groups_whole(messages[split_recent(messages, cut * 100) :])


async def test_compaction_summarizes_old_history_and_keeps_groups_whole() -> None:
    messages = history(10)
    model = FakeChatModel(policy=lambda r: Reply.text("ran ten commands"))
    result = await compact(messages, model=model, threshold_tokens=2000, keep_tokens=2500)
    assert result.summary_reply is not None
    assert isinstance(result.messages[0], HumanMessage) and result.messages[0].text.startswith(SUMMARY_PREFIX)
    assert "ran ten commands" in result.messages[0].content
    assert isinstance(result.messages[1], AIMessage)
    assert_groups_whole(result.messages[1:])
    assert count_tokens(result.messages) < count_tokens(messages) / 3
    (request,) = model.requests
    assert request.role == "summarizer"


async def test_compaction_leaves_short_history_alone() -> None:
    messages = history(1, 100)
    model = FakeChatModel(policy=lambda r: Reply.text("unused"))
    result = await compact(messages, model=model, threshold_tokens=10_000, keep_tokens=100)
    assert result.messages == messages and result.summary_reply is None and model.requests == []


def test_old_tool_outputs_are_shortened_in_the_prompt_only() -> None:
    messages = history(4)
    view = shorten_old_tool_outputs(messages, keep=2)
    shortened = [m for m in view if isinstance(m, ToolMessage) and ELIDED in m.content]
    assert len(shortened) == 6
    assert [m.content for m in view if isinstance(m, ToolMessage)][-2:] == ["x" * 4000] * 2
    assert all(ELIDED not in m.content for m in messages if isinstance(m, ToolMessage))


def test_fit_to_budget_trims_the_longest_content() -> None:
    messages: list[AnyMessage] = [
        HumanMessage("short"),
        ToolMessage("y" * 40_000, tool_call_id="a"),
        HumanMessage("z" * 2000),
    ]
    fitted = fit_to_budget(messages, 3000)
    assert count_tokens(fitted) <= 3000
    assert fitted[0].content == "short" and len(fitted) == 3
    assert "characters omitted" in fitted[1].content
