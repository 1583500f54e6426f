"""What the command line shows and asks: task events as lines, the plan approval and the agent's questions, and
the result. Every piece of text that comes from a task (commands, output, plans, diffs) is printed literally:
Rich markup in it is escaped, so `d[item] = 1` or `[accept]` shows as written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt
from rich.syntax import Syntax

from agent.prompts import plan_text


def literal(value: object) -> str:
    """Text from a task, safe to embed in Rich markup (shown as written)."""
    return escape("" if value is None else str(value))


class TaskPrinter:
    """Prints one task's events. Command output is shown line by line as it streams: a chunk's unfinished last
    line waits for the rest of it (pytest's progress dots stay on one line), and is flushed when the call ends."""

    def __init__(self, console: Console, *, stdin: TextIO | None = None) -> None:
        self.console = console
        self.stdin = stdin
        self._partial: dict[str, str] = {}

    def render(self, event: Mapping[str, Any]) -> None:
        kind = event.get("event")
        text = literal
        if kind == "task_started":
            self.console.print(f"[bold]task[/bold] {text(event.get('task'))}")
        elif kind in ("plan_proposed", "plan_approved"):
            title = "plan" if kind == "plan_proposed" else "plan approved"
            self.console.print(f"[bold]{title}[/bold]\n{text(plan_text(event.get('plan') or []))}")
        elif kind == "item_started":
            self.console.print(
                f"[bold cyan]> item {int(event['index']) + 1}[/bold cyan] {text(event.get('description'))}"
            )
        elif kind == "item_completed":
            self.console.print(f"[green]done item {int(event['index']) + 1}[/green] {text(event.get('summary'))}")
        elif kind == "tool_call":
            args = ", ".join(f"{k}={str(v)[:80]!r}" for k, v in (event.get("args") or {}).items())
            self.console.print(f"  [magenta]{text(event.get('tool'))}[/magenta]({escape(args)})")
        elif kind == "tool_output":
            self._output(str(event.get("call_id") or ""), str(event.get("chunk") or ""))
        elif kind == "tool_result":
            self._flush(str(event.get("call_id") or ""))
            if not event.get("ok"):
                first_line = (str(event.get("output") or "").splitlines() or [""])[0]
                self.console.print(f"    error: {first_line[:200]}", style="red", markup=False, highlight=False)
        elif kind == "diff_updated":
            commit = str(event.get("commit") or "")[:10]
            self.console.print(f"  [blue]commit[/blue] {text(commit)} {text(event.get('message'))}")
        elif kind == "review":
            detail = event.get("summary") or event.get("feedback")
            self.console.print(f"[bold]review[/bold] {text(event.get('verdict'))}: {text(detail)}")
        elif kind == "question_asked":
            self.console.print(f"[bold yellow]question[/bold yellow] {text(event.get('question'))}")
        elif kind == "failed":
            self.console.print(f"[red]failed[/red] ({text(event.get('status'))}): {text(event.get('reason'))}")

    def _output(self, call_id: str, chunk: str) -> None:
        lines = (self._partial.pop(call_id, "") + chunk).split("\n")
        if lines[-1]:
            self._partial[call_id] = lines[-1]
        for line in lines[:-1]:
            self._line(line)

    def _flush(self, call_id: str) -> None:
        rest = self._partial.pop(call_id, "")
        if rest:
            self._line(rest)

    def _line(self, line: str) -> None:
        self.console.print(line, style="dim", markup=False, highlight=False, soft_wrap=True)

    def _ask(self, prompt: str, **kwargs: Any) -> str:
        return Prompt.ask(prompt, console=self.console, stream=self.stdin, **kwargs)

    def ask_approval(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The plan-approval resume value (agent/contract.py): accept, edit, response (feedback) or ignore."""
        if request.get("error"):
            self.console.print(f"[red]{literal(request['error'])}[/red]")
        self.console.print(f"[bold]Proposed plan[/bold]\n{literal(plan_text(request.get('plan') or []))}")
        choice = self._ask(
            escape("Approve? [a]ccept / [e]dit / [r]espond with feedback / [i]gnore (reject)"),
            choices=["a", "e", "r", "i"],
            default="a",
            show_choices=False,
        )
        if choice == "e":
            self.console.print("Enter the new plan, one step per line; an empty line ends it.")
            steps = []
            while line := self._ask("step", default="", show_default=False).strip():
                steps.append(line)
            return {"type": "edit", "plan": steps}
        if choice == "r":
            return {"type": "response", "message": self._ask("feedback")}
        return {"type": "ignore"} if choice == "i" else {"type": "accept"}

    def ask_answer(self, request: Mapping[str, Any]) -> dict[str, Any]:
        question = literal(request.get("question"))
        return {"type": "answer", "message": self._ask(f"[yellow]{question}[/yellow]\nanswer")}

    def result(self, outcome: Mapping[str, Any]) -> None:
        """The diff, status, branch, tokens and summary of a finished task (graph state or the task API's view)."""
        if outcome.get("diff"):
            self.console.print(Syntax(str(outcome["diff"]), "diff", theme="ansi_dark", background_color="default"))
        usage = (outcome.get("usage") or {}).get("total", {})
        parts = [
            f"[bold]status[/bold] {literal(outcome.get('status'))}",
            f"[bold]branch[/bold] {literal(outcome.get('branch') or '-')}",
        ]
        if "commits" in outcome:
            parts.append(f"[bold]commits[/bold] {len(outcome.get('commits') or [])}")
        parts.append(f"[bold]tokens[/bold] {usage.get('total_tokens', 0)}")
        self.console.print("  ".join(parts))
        self.console.print(f"[bold]summary[/bold] {literal(outcome.get('summary') or outcome.get('reason') or '')}")
