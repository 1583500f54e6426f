"""`shell` and `install_dependencies`: commands in the sandbox, output streamed as `tool_output` events."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent.contract import EventType, event
from agent.tools.base import Tool, ToolContext
from sandbox.secrets import redact


class ShellArgs(BaseModel):
    command: str = Field(description="A bash command line.")
    workdir: str | None = Field(default=None, description="Directory relative to the repository root (default: root).")
    timeout: float | None = Field(default=None, gt=0, description="Seconds before the command is killed.")


class InstallArgs(BaseModel):
    command: str = Field(description="The install command, e.g. `pip install -e .` or `npm ci`.")
    workdir: str | None = Field(default=None, description="Directory relative to the repository root.")


async def _run(ctx: ToolContext, command: str, workdir: str | None, timeout: float) -> str:
    async def forward(chunk: str) -> None:
        ctx.emit(event(EventType.TOOL_OUTPUT, call_id=ctx.call_id, chunk=redact(chunk)))

    result = await ctx.sandbox.exec(command, cwd=workdir, timeout=timeout, on_output=forward)
    status = "timed out" if result.timed_out else f"exit code {result.exit_code}"
    text = f"[{status}]\n{result.output}"
    if not result.ok:
        from agent.tools.base import ToolError

        raise ToolError(text)
    return text


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
