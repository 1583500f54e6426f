"""The command line: run a whole task, in process with the local sandbox or on a running service.

    open-swe run "fix the failing test" --repo PATH [--auto-approve] [--model M]
    open-swe run "fix the failing test" --repo PATH --server http://127.0.0.1:2024 [--api-key KEY]

Shows live progress (plan, current item, each tool call, command output line by line), asks for plan approval (and
answers to the agent's questions) in the terminal unless `--auto-approve`, prints the summary and the diff, and exits
non-zero when the task did not complete (1: failed, rejected or limit reached; 2: not configured or unreachable).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from agent.cli_remote import RemoteError, run_remote
from agent.cli_render import TaskPrinter, literal
from agent.contract import TaskStatus

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

app = typer.Typer(
    help="open-swe: a coding agent that plans, edits, tests and reviews in a sandbox.", add_completion=False
)
console = Console(highlight=False)


@app.callback()
def main() -> None:
    """open-swe command line."""


async def run_task(
    printer: TaskPrinter, task: str, repo: Path, *, auto_approve: bool, model: str | None, thread_id: str
) -> int:
    # The graph machinery is imported here, so `run --server` (a thin client) starts quickly.
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    from agent.config import settings_for
    from agent.models import ModelNotConfigured, check_all_roles
    from agent.runtime import close_providers
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
        console.print(f"[red]error:[/red] {literal(exc)}")
        return 2
    graph = build().compile(checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": configurable, "recursion_limit": 10_000}
    payload: Any = {"messages": [{"role": "user", "content": task}], "repo": str(await asyncio.to_thread(repo.resolve))}
    try:
        while True:
            async for event in graph.astream(payload, config, stream_mode="custom"):
                printer.render(event)
            snapshot = await graph.aget_state(config)
            if not snapshot.interrupts:
                break
            request = snapshot.interrupts[0].value
            ask = printer.ask_approval if request.get("type") == "plan_approval" else printer.ask_answer
            payload = Command(resume=await asyncio.to_thread(ask, request))
    finally:
        await close_providers()
    state = snapshot.values
    printer.result({**state, "commits": state.get("commits") or []})
    return 0 if state.get("status") in (TaskStatus.COMPLETED, TaskStatus.ANSWERED) else 1


def _is_url(repo: str) -> bool:
    return repo.startswith(("http://", "https://", "ssh://", "git://", "file://", "git@"))


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="What to do, in plain words.")],
    repo: Annotated[
        str, typer.Option(help="The repository: a local directory, or with --server a path on the server or a git URL.")
    ] = ".",
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Skip the plan approval.")] = False,
    model: Annotated[str | None, typer.Option(help="Model for every role (overrides MODEL).")] = None,
    thread_id: Annotated[
        str | None, typer.Option(help="Thread id in process; the branch is agent/<thread_id>.")
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            help="Run on this service (e.g. http://127.0.0.1:2024) instead of in process.", envvar="OPEN_SWE_SERVER"
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="The service's API key (with --server).", envvar="OPEN_SWE_API_KEY", show_default=False),
    ] = None,
    sandbox: Annotated[
        str | None, typer.Option(help="With --server: 'local' or 'daytona' (the server's default when unset).")
    ] = None,
) -> None:
    """Run a task start to finish, in process on a local repository or on a running service (--server)."""
    printer = TaskPrinter(console)
    if server:
        if not api_key:
            console.print("[red]error:[/red] --server needs an API key: pass --api-key or set OPEN_SWE_API_KEY")
            raise typer.Exit(2)
        body: dict[str, Any] = {"task": task, "auto_approve": auto_approve}
        body["repo"] = repo if _is_url(repo) else str(Path(repo).resolve())
        if model:
            body["model"] = model
        if sandbox:
            body["sandbox"] = sandbox
        try:
            code = asyncio.run(run_remote(printer, server=server, api_key=api_key, body=body))
        except RemoteError as exc:
            console.print(f"[red]error:[/red] {literal(exc)}")
            code = 2
        except KeyboardInterrupt:
            console.print("stopped following; the task goes on on the server (the web page or GET /tasks shows it)")
            code = 130
        raise typer.Exit(code)
    path = Path(repo)
    if not path.is_dir():
        console.print(f"[red]error:[/red] --repo {literal(repo)} is not a directory")
        raise typer.Exit(2)
    code = asyncio.run(
        run_task(
            printer,
            task,
            path,
            auto_approve=auto_approve,
            model=model,
            thread_id=thread_id or f"cli-{uuid.uuid4().hex[:8]}",
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
