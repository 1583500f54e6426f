"""What the CLI prints and asks (agent/cli_render.py): text from a task is shown literally, command output as lines,
and the prompts' answers become the contract's resume values; the remote mode maps them to websocket steps."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from agent.cli_remote import RemoteError, events_url, step_for
from agent.cli_render import TaskPrinter


def printer(stdin: str = "") -> tuple[TaskPrinter, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None, highlight=False)
    return TaskPrinter(console, stdin=io.StringIO(stdin)), out


def test_markup_in_task_text_is_shown_literally():
    p, out = printer()
    p.render({"event": "tool_call", "tool": "str_replace", "args": {"new": "d[item] = 1"}, "call_id": "c"})
    p.render({"event": "item_started", "index": 0, "description": "Handle [accept] and [bold]x[/bold]"})
    p.render({"event": "tool_output", "call_id": "c", "chunk": "d[item] = 1 [red]not red[/red]\n"})
    p.render({"event": "tool_result", "call_id": "c", "ok": False, "output": "[/] broken markup"})
    p.render({"event": "question_asked", "question": "Keep [i]?"})
    text = out.getvalue()
    assert "new='d[item] = 1'" in text
    assert "Handle [accept] and [bold]x[/bold]" in text
    assert "d[item] = 1 [red]not red[/red]" in text
    assert "error: [/] broken markup" in text
    assert "Keep [i]?" in text


def test_command_output_is_shown_as_lines_not_one_chunk_per_line():
    p, out = printer()
    for chunk in ["test_a.py ", ".", ".", "F", ".\n", "4 passed", ", 1 failed\n", "tail without newline"]:
        p.render({"event": "tool_output", "call_id": "c1", "chunk": chunk})
    assert out.getvalue() == "test_a.py ..F.\n4 passed, 1 failed\n"
    p.render({"event": "tool_result", "call_id": "c1", "ok": True, "output": ""})
    assert out.getvalue().endswith("tail without newline\n")


def test_output_of_concurrent_calls_is_kept_apart():
    p, out = printer()
    p.render({"event": "tool_output", "call_id": "a", "chunk": "aa"})
    p.render({"event": "tool_output", "call_id": "b", "chunk": "bb\n"})
    p.render({"event": "tool_output", "call_id": "a", "chunk": "AA\n"})
    assert out.getvalue().splitlines() == ["bb", "aaAA"]


def test_the_approval_prompt_shows_its_choices_literally_and_accepts_by_default():
    p, out = printer("\n")
    plan = [{"index": 0, "description": "Fix d[item]", "status": "pending"}]
    assert p.ask_approval({"type": "plan_approval", "plan": plan}) == {"type": "accept"}
    text = out.getvalue()
    assert "[a]ccept / [e]dit / [r]espond with feedback / [i]gnore" in text
    assert "Fix d[item]" in text


@pytest.mark.parametrize(
    ("answers", "resume"),
    [
        ("e\nFix add\nRun [the] tests\n\n", {"type": "edit", "plan": ["Fix add", "Run [the] tests"]}),
        ("r\nsplit it in two\n", {"type": "response", "message": "split it in two"}),
        ("i\n", {"type": "ignore"}),
    ],
)
def test_the_approval_prompt_edits_comments_or_rejects(answers, resume):
    p, _ = printer(answers)
    assert p.ask_approval({"type": "plan_approval", "plan": []}) == resume


def test_a_question_is_answered():
    p, out = printer("yes, keep it\n")
    assert p.ask_answer({"type": "question", "question": "Keep mul[]?"}) == {
        "type": "answer",
        "message": "yes, keep it",
    }
    assert "Keep mul[]?" in out.getvalue()


def test_the_result_shows_the_diff_status_and_summary_literally():
    p, out = printer()
    p.result({"status": "completed", "branch": "agent/x", "diff": "+d[item] = 1\n", "summary": "set d[item]"})
    text = out.getvalue()
    assert "+d[item] = 1" in text and "status completed" in text and "branch agent/x" in text
    assert "summary set d[item]" in text


def test_remote_steps_and_urls():
    assert step_for({"type": "accept"}) == {"type": "approve"}
    assert step_for({"type": "edit", "plan": ["a"]}) == {"type": "edit", "plan": ["a"]}
    assert step_for({"type": "ignore"}) == {"type": "reject"}
    assert step_for({"type": "response", "message": "m"}) == {"type": "message", "message": "m"}
    assert step_for({"type": "answer", "message": "a"}) == {"type": "message", "message": "a"}
    assert events_url("https://swe.example/", "t1") == "wss://swe.example/tasks/t1/events?after=0"
    assert events_url("http://127.0.0.1:2024", "t1", 5) == "ws://127.0.0.1:2024/tasks/t1/events?after=5"
    with pytest.raises(RemoteError, match="http"):
        events_url("127.0.0.1:2024", "t1")
