"""`shell` and `install_dependencies`: commands in the sandbox, output streamed as coalesced `tool_output` events;
a run of the project's tests is recognised (agent/tools/testrun.py) and recorded for the task's view."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent.contract import EventType, event
from agent.tools.base import Tool, ToolContext, ToolError
from agent.tools.stream import OutputCoalescer
from agent.tools.testrun import parse_test_run
from sandbox.secrets import redact


class ShellArgs(BaseModel):
    command: str = Field(description="A bash command line.")
    workdir: str | None = Field(default=None, description="Directory relative to the repository root (default: root).")
    timeout: float | None = Field(default=None, gt=0, description="Seconds before the command is killed.")


class InstallArgs(BaseModel):
    command: str = Field(description="The install command, e.g. `pip install -e .` or `npm ci`.")
    workdir: str | None = Field(default=None, description="Directory relative to the repository root.")


async def _run(ctx: ToolContext, command: str, workdir: str | None, timeout: float) -> str:
    def forward(chunk: str) -> None:
        ctx.emit(event(EventType.TOOL_OUTPUT, call_id=ctx.call_id, chunk=redact(chunk)))

    output = OutputCoalescer(forward)
    try:
        result = await ctx.sandbox.exec(command, cwd=workdir, timeout=timeout, on_output=output.feed)
    finally:
        output.close()
    _record_test_run(ctx, command, result.output, None if result.timed_out else result.exit_code)
    status = "timed out" if result.timed_out else f"exit code {result.exit_code}"
    text = f"[{status}]\n{result.output}"
    if not result.ok:
        raise ToolError(text)
    return text


def _record_test_run(ctx: ToolContext, command: str, output: str, exit_code: int | None) -> None:
    """A run of the project's tests is counted and its outcome kept for the task's view (`last_test_run`)."""
    run = parse_test_run(redact(command), output, exit_code)
    if run is None:
        return
    ctx.updates["test_runs"] = int(ctx.current("test_runs", 0) or 0) + 1
    ctx.updates["last_test_run"] = run
    ctx.emit(event(EventType.TEST_RUN, call_id=ctx.call_id, **run))


async def shell(ctx: ToolContext, args: ShellArgs) -> str:
    limit = ctx.settings.shell_timeout
    return await _run(ctx, args.command, args.workdir, min(args.timeout or limit, limit))


async def install_dependencies(ctx: ToolContext, args: InstallArgs) -> str:
    return await _run(ctx, args.command, args.workdir, ctx.settings.install_timeout)


SHELL = Tool(
    "shell",
    "Run a bash command in the repository (tests, builds, git log, ...). Returns the exit code and "
    "output (long output is cut in the middle).",
    ShellArgs,
    shell,
)
INSTALL = Tool(
    "install_dependencies",
    "Install the project's dependencies (a longer timeout than `shell`).",
    InstallArgs,
    install_dependencies,
)
