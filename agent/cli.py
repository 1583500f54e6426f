"""The command line: run a whole task in process with the local sandbox.

    open-swe run "fix the failing test" --repo PATH [--auto-approve] [--model M]

Shows live progress (plan, current item, each tool call), asks for plan approval (and answers to the agent's
questions) in the terminal unless `--auto-approve`, prints the summary and the diff, and exits non-zero when the
task did not complete (1: failed, rejected or limit reached; 2: not configured).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from rich.console import Console
from rich.prompt import Prompt
from rich.syntax import Syntax

from agent.config import settings_for
from agent.contract import TaskStatus
from agent.models import ModelNotConfigured, check_all_roles
from agent.prompts import plan_text
from agent.runtime import close_providers

app = typer.Typer(
    help="open-swe: a coding agent that plans, edits, tests and reviews in a sandbox.", add_completion=False
)
console = Console(highlight=False)


@app.callback()
def main() -> None:
    """open-swe command line."""


def render(event: dict[str, Any]) -> None:
    """One line per task event."""
    kind = event.get("event")
    if kind == "task_started":
        console.print(f"[bold]task[/bold] {event.get('task', '')}")
    elif kind in ("plan_proposed", "plan_approved"):
        console.print(
            f"[bold]{'plan' if kind == 'plan_proposed' else 'plan approved'}[/bold]\n"
            f"{plan_text(event.get('plan') or [])}"
        )
    elif kind == "item_started":
        console.print(f"[bold cyan]> item {event['index'] + 1}[/bold cyan] {event.get('description', '')}")
    elif kind == "item_completed":
        console.print(f"[green]done item {event['index'] + 1}[/green] {event.get('summary', '')}")
    elif kind == "tool_call":
        args = ", ".join(f"{k}={str(v)[:80]!r}" for k, v in (event.get("args") or {}).items())
        console.print(f"  [magenta]{event.get('tool')}[/magenta]({args})")
    elif kind == "tool_output":
        console.out(event.get("chunk", "").rstrip(), style="dim")
    elif kind == "tool_result" and not event.get("ok"):
        first_line = (str(event.get("output") or "").splitlines() or [""])[0]
        console.out(f"    error: {first_line[:200]}", style="red")
    elif kind == "diff_updated":
        console.print(f"  [blue]commit[/blue] {str(event.get('commit', ''))[:10]} {event.get('message', '')}")
    elif kind == "review":
        console.print(
            f"[bold]review[/bold] {event.get('verdict')}: {event.get('summary') or event.get('feedback', '')}"
        )
    elif kind == "question_asked":
        console.print(f"[bold yellow]question[/bold yellow] {event.get('question')}")


def ask_approval(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("error"):
        console.print(f"[red]{request['error']}[/red]")
    console.print(f"[bold]Proposed plan[/bold]\n{plan_text(request.get('plan') or [])}")
    choice = Prompt.ask(
        "Approve? [a]ccept / [e]dit / [r]espond with feedback / [i]gnore",
        console=console,
        choices=["a", "e", "r", "i"],
        default="a",
        show_choices=False,
    )
    if choice == "e":
        console.print("Enter the new plan, one step per line; an empty line ends it.")
        steps = []
        while line := Prompt.ask("step", console=console, default="", show_default=False).strip():
            steps.append(line)
        return {"type": "edit", "plan": steps}
    if choice == "r":
        return {"type": "response", "message": Prompt.ask("feedback", console=console)}
    return {"type": "ignore"} if choice == "i" else {"type": "accept"}


def ask_answer(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "answer",
        "message": Prompt.ask(f"[yellow]{request.get('question')}[/yellow]\nanswer", console=console),
    }


async def run_task(task: str, repo: Path, *, auto_approve: bool, model: str | None, thread_id: str) -> int:
    from graphs.manager import build

    configurable: dict[str, Any] = {
        "thread_id": thread_id,
        "sandbox_backend": "local",
        "x-local-mode": True,
        "auto_approve": auto_approve,
    }
    if model:
        configurable["model"] = model
    try:
        check_all_roles(settings_for(configurable), configurable)
    except ModelNotConfigured as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    graph = build().compile(checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": configurable, "recursion_limit": 10_000}
    payload: Any = {"messages": [{"role": "user", "content": task}], "repo": str(await asyncio.to_thread(repo.resolve))}
    try:
        while True:
            async for event in graph.astream(payload, config, stream_mode="custom"):
                render(event)
            snapshot = await graph.aget_state(config)
            if not snapshot.interrupts:
                break
            request = snapshot.interrupts[0].value
            payload = Command(
                resume=ask_approval(request) if request.get("type") == "plan_approval" else ask_answer(request)
            )
    finally:
        await close_providers()
    state = snapshot.values
    status = state.get("status", "")
    if state.get("diff"):
        console.print(Syntax(state["diff"], "diff", theme="ansi_dark", background_color="default"))
    usage = (state.get("usage") or {}).get("total", {})
    console.print(
        f"[bold]status[/bold] {status}  [bold]branch[/bold] {state.get('branch', '-')}  "
        f"[bold]commits[/bold] {len(state.get('commits') or [])}  [bold]tokens[/bold] {usage.get('total_tokens', 0)}"
    )
    console.print(f"[bold]summary[/bold] {state.get('summary') or state.get('reason', '')}")
    return 0 if status in (TaskStatus.COMPLETED, TaskStatus.ANSWERED) else 1


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="What to do, in plain words.")],
    repo: Annotated[Path, typer.Option(help="The repository to work on.", exists=True, file_okay=False)] = Path("."),
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Skip the plan approval.")] = False,
    model: Annotated[str | None, typer.Option(help="Model for every role (overrides MODEL).")] = None,
    thread_id: Annotated[str | None, typer.Option(help="Thread id; the branch is agent/<thread_id>.")] = None,
) -> None:
    """Run a task on a local repository, start to finish."""
    code = asyncio.run(
        run_task(
            task, repo, auto_approve=auto_approve, model=model, thread_id=thread_id or f"cli-{uuid.uuid4().hex[:8]}"
        )
    )
    raise typer.Exit(code)


@app.command()
def mcp(
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8765,
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 for a private network).")] = "127.0.0.1",
) -> None:
    """Serve sandboxes as MCP tools (streamable HTTP at /mcp), authenticated by the service's API keys."""
    from service.mcp.app import serve

    asyncio.run(serve(host, port))


if __name__ == "__main__":
    app()
