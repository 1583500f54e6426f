"""The tools against a real local sandbox (plain processes in a temporary workspace), and the executor's handling of
everything a model can get wrong."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agent.config import AgentSettings
from agent.tools import PROGRAMMER_TOOLS
from agent.tools.base import ToolContext
from agent.tools.executor import run_tool_calls
from sandbox.base import SandboxGone
from sandbox.local import LocalSandbox
from sandbox.settings import SandboxSettings

SECRET = "sk-live-abcdef0123456789"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("one\ntwo\nthree\ntwo\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "mod.py").write_text("def f():\n    return 1\n")
    async with LocalSandbox(root, settings=SandboxSettings(state_dir=tmp_path / "state")) as sb:
        yield sb


async def call(
    sandbox: LocalSandbox,
    name: str,
    args: Any,
    *,
    settings: AgentSettings | None = None,
    events: list[dict[str, Any]] | None = None,
) -> tuple[bool, str, dict[str, Any]]:
    reply = AIMessage("", tool_calls=[{"name": name, "args": args, "id": "c1", "type": "tool_call"}])
    settings = settings or AgentSettings(MODEL="m")
    emitted = events if events is not None else []
    result = await run_tool_calls(
        reply,
        PROGRAMMER_TOOLS,
        lambda cid, upd: ToolContext(sandbox, settings, {}, cid, emitted.append, upd),
        output_chars=settings.tool_output_chars,
        emit=emitted.append,
    )
    (message,) = result.messages
    return message.status == "success", str(message.content), result.updates


async def test_view_numbers_lines_and_honours_ranges(sandbox: LocalSandbox) -> None:
    ok, text, _ = await call(sandbox, "view", {"path": "a.py", "view_range": [2, 3]})
    assert ok and text == "     2\ttwo\n     3\tthree"
    ok, text, _ = await call(sandbox, "view", {"path": "a.py", "view_range": [3, -1]})
    assert ok and text.splitlines()[-1] == "     4\ttwo"
    ok, text, _ = await call(sandbox, "view", {"path": "a.py", "view_range": [9, 10]})
    assert not ok and "a.py has 4 lines" in text


async def test_view_lists_a_directory(sandbox: LocalSandbox) -> None:
    ok, text, _ = await call(sandbox, "view", {"path": "."})
    assert ok and {"a.py", "pkg/", "pkg/mod.py"} <= set(text.splitlines())


async def test_view_of_a_missing_file_is_a_tool_error(sandbox: LocalSandbox) -> None:
    ok, text, _ = await call(sandbox, "view", {"path": "nope.py"})
    assert not ok and "view failed" in text and "\n" not in text


async def test_str_replace_needs_exactly_one_match(sandbox: LocalSandbox) -> None:
    ok, text, _ = await call(sandbox, "str_replace", {"path": "a.py", "old_str": "two", "new_str": "2"})
    assert not ok and "found 2 matches" in text
    ok, text, _ = await call(sandbox, "str_replace", {"path": "a.py", "old_str": "four", "new_str": "4"})
    assert not ok and "found no match" in text
    ok, text, _ = await call(sandbox, "str_replace", {"path": "a.py", "old_str": "three", "new_str": "3"})
    assert ok and "line 3" in text
    assert Path(sandbox.root, "a.py").read_text() == "one\ntwo\n3\ntwo\n"


async def test_create_file_and_insert(sandbox: LocalSandbox) -> None:
    ok, _, _ = await call(sandbox, "create_file", {"path": "new/b.txt", "content": "x\ny\n"})
    assert ok and Path(sandbox.root, "new/b.txt").read_text() == "x\ny\n"
    ok, _, _ = await call(sandbox, "insert", {"path": "new/b.txt", "insert_line": 1, "text": "between"})
    assert ok and Path(sandbox.root, "new/b.txt").read_text() == "x\nbetween\ny\n"
    ok, _, _ = await call(sandbox, "insert", {"path": "new/b.txt", "insert_line": 0, "text": "top\n"})
    assert ok and Path(sandbox.root, "new/b.txt").read_text().startswith("top\nx\n")
    ok, text, _ = await call(sandbox, "insert", {"path": "new/b.txt", "insert_line": 99, "text": "z"})
    assert not ok and "past the end" in text


PATCH = """--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -1,2 +1,2 @@
 def f():
-    return 1
+    return 2
--- /dev/null
+++ b/pkg/new.py
@@ -0,0 +1 @@
+X = 1
"""


async def test_apply_patch_applies_every_file(sandbox: LocalSandbox) -> None:
    ok, text, _ = await call(sandbox, "apply_patch", {"patch": PATCH})
    assert ok, text
    assert Path(sandbox.root, "pkg/mod.py").read_text() == "def f():\n    return 2\n"
    assert Path(sandbox.root, "pkg/new.py").read_text() == "X = 1\n"


async def test_apply_patch_names_the_failing_hunk_and_writes_nothing(sandbox: LocalSandbox) -> None:
    bad = PATCH.replace("-    return 1", "-    return 7").replace("--- /dev/null", "--- /dev/null")
    ok, text, _ = await call(
        sandbox, "apply_patch", {"patch": "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-one\n+ONE\n" + bad}
    )
    assert not ok
    assert text.startswith("hunk 1 of pkg/mod.py (@@ -1,2 +1,2 @@) does not apply") and "return 7" in text
    assert Path(sandbox.root, "a.py").read_text().startswith("one\n")  # all or nothing
    ok, text, _ = await call(sandbox, "apply_patch", {"patch": "this is not a diff"})
    assert not ok and "not a valid unified diff" in text


async def test_grep_and_find_files(sandbox: LocalSandbox) -> None:
    ok, text, _ = await call(sandbox, "grep", {"pattern": "return", "glob": "*.py"})
    assert ok and "pkg/mod.py:2:" in text
    ok, text, _ = await call(sandbox, "grep", {"pattern": "absent-text"})
    assert ok and text == "no matches"
    ok, text, _ = await call(sandbox, "find_files", {"pattern": "*.py"})
    assert ok and text.splitlines() == ["a.py", "pkg/mod.py"]


async def test_shell_streams_output_and_reports_failures(sandbox: LocalSandbox) -> None:
    events: list[dict[str, Any]] = []
    ok, text, _ = await call(sandbox, "shell", {"command": "echo hello; ls", "workdir": "pkg"}, events=events)
    assert ok and text.startswith("[exit code 0]\nhello") and "mod.py" in text
    assert any(e["event"] == "tool_output" and "hello" in e["chunk"] for e in events)
    assert events[0]["event"] == "tool_call" and events[-1]["event"] == "tool_result"
    ok, text, _ = await call(sandbox, "shell", {"command": "echo oops >&2; exit 3"})
    assert not ok and text.startswith("[exit code 3]") and "oops" in text
    ok, text, _ = await call(sandbox, "shell", {"command": "sleep 5", "timeout": 0.5})
    assert not ok and text.startswith("[timed out]")


async def test_long_output_is_cut_head_and_tail_with_a_marker(sandbox: LocalSandbox) -> None:
    settings = AgentSettings(MODEL="m", TOOL_OUTPUT_CHARS=1000)
    ok, text, _ = await call(sandbox, "shell", {"command": "seq 1 20000"}, settings=settings)
    assert ok and len(text) < 1200
    assert text.startswith("[exit code 0]\n1\n2\n") and text.rstrip().endswith("20000")
    assert "characters omitted" in text


async def test_secrets_are_redacted_from_tool_output(sandbox: LocalSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    Path(sandbox.root, "leak.txt").write_text(f"key={SECRET}\n")
    events: list[dict[str, Any]] = []
    ok, text, _ = await call(sandbox, "shell", {"command": "cat leak.txt"}, events=events)
    assert ok and SECRET not in text and "[REDACTED]" in text
    assert all(SECRET not in str(e) for e in events)


async def test_unknown_tool_and_invalid_arguments_are_tool_errors(sandbox: LocalSandbox) -> None:
    ok, text, _ = await call(sandbox, "rm_rf", {})
    assert not ok and text.startswith("unknown tool 'rm_rf'") and "str_replace" in text
    ok, text, _ = await call(sandbox, "view", {"file": "a.py"})
    assert not ok and text == "invalid arguments for view: path: Field required"
    ok, text, _ = await call(sandbox, "view", {"path": "a.py", "view_range": [1]})
    assert not ok and text.startswith("invalid arguments for view: view_range:")


async def test_broken_json_arguments_are_a_tool_error(sandbox: LocalSandbox) -> None:
    reply = AIMessage(
        "",
        invalid_tool_calls=[
            {"name": "view", "args": '{"path": ', "id": "bad1", "error": "bad json", "type": "invalid_tool_call"}
        ],
    )
    settings = AgentSettings(MODEL="m")
    result = await run_tool_calls(
        reply,
        PROGRAMMER_TOOLS,
        lambda cid, upd: ToolContext(sandbox, settings, {}, cid),
        output_chars=1000,
        emit=lambda _: None,
    )
    (message,) = result.messages
    assert message.status == "error" and message.tool_call_id == "bad1"
    assert "are not valid JSON" in str(message.content)


async def test_workflow_tools_update_the_plan(sandbox: LocalSandbox) -> None:
    plan = [
        {"index": 0, "description": "a", "status": "in_progress", "summary": ""},
        {"index": 1, "description": "b", "status": "pending", "summary": ""},
    ]
    settings = AgentSettings(MODEL="m")
    reply = AIMessage(
        "",
        tool_calls=[
            {"name": "mark_task_completed", "args": {"summary": "did a"}, "id": "1", "type": "tool_call"},
            {
                "name": "update_plan",
                "args": {"remaining": ["c", "d"], "reason": "found more"},
                "id": "2",
                "type": "tool_call",
            },
            {"name": "scratchpad", "args": {"note": "remember"}, "id": "3", "type": "tool_call"},
            {"name": "request_human_help", "args": {"question": "which db?"}, "id": "4", "type": "tool_call"},
        ],
    )
    result = await run_tool_calls(
        reply,
        PROGRAMMER_TOOLS,
        lambda cid, upd: ToolContext(sandbox, settings, {"plan": plan}, cid, updates=upd),
        output_chars=1000,
        emit=lambda _: None,
    )
    assert all(m.status == "success" for m in result.messages)
    new_plan = result.updates["plan"]
    assert [(i["description"], i["status"]) for i in new_plan] == [
        ("a", "done"),
        ("b", "skipped"),
        ("c", "pending"),
        ("d", "pending"),
    ]
    assert result.updates["notes"] == ["remember"]
    assert result.updates["pending_question"] == {"call_id": "4", "question": "which db?"}


async def test_install_dependencies_gets_the_longer_timeout(sandbox: LocalSandbox) -> None:
    settings = AgentSettings(MODEL="m", SHELL_TIMEOUT=0.5, INSTALL_TIMEOUT=30)
    ok, text, _ = await call(sandbox, "shell", {"command": "sleep 1; echo done"}, settings=settings)
    assert not ok and text.startswith("[timed out]")
    ok, text, _ = await call(sandbox, "install_dependencies", {"command": "sleep 1; echo done"}, settings=settings)
    assert ok and "done" in text


class _VanishedSandbox:
    """The local sandbox as seen after its remote twin was deleted: every operation raises SandboxGone."""

    def __init__(self, inner: LocalSandbox) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        async def gone(*_: Any, **__: Any) -> Any:
            raise SandboxGone(f"sandbox {self._inner.id} is gone (deleted behind our back)")

        return gone


async def test_a_vanished_sandbox_stops_the_batch_and_is_reported(sandbox: LocalSandbox) -> None:
    reply = AIMessage(
        "",
        tool_calls=[{"name": "view", "args": {"path": "a.py"}, "id": f"c{i}", "type": "tool_call"} for i in range(3)],
    )
    settings = AgentSettings(MODEL="m")
    gone = _VanishedSandbox(sandbox)
    result = await run_tool_calls(
        reply,
        PROGRAMMER_TOOLS,
        lambda cid, upd: ToolContext(gone, settings, {}, cid),
        output_chars=1000,
        emit=lambda _: None,
    )
    assert result.sandbox_gone is not None and "is gone" in result.sandbox_gone
    assert [m.tool_call_id for m in result.messages] == ["c0", "c1", "c2"], "every call still gets its result"
    assert all(m.status == "error" for m in result.messages)
    assert [str(m.content) for m in result.messages[1:]] == ["view not run: the sandbox is gone"] * 2
