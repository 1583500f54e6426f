"""The MCP server's tools: thin adapters from a tool call to the owner's sandbox (sandbox/base.py protocol).

Every tool returns a pydantic model (the tool's structured output, schema in `tools/list`). Failures are tool
errors whose text starts with an error kind (`not_found: ...`, see sandbox/mcp/protocol.py).
"""

from __future__ import annotations

import base64
import binascii
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from agent.git import GIT, commit_all
from sandbox.base import SandboxError
from sandbox.mcp import protocol as p
from service.mcp.auth import owner_of
from service.mcp.sandboxes import Held, InvalidRequest, OwnedSandboxes

MAX_EXEC_TIMEOUT = 3600.0

SandboxId = Annotated[str, Field(description="The id `sandbox_create` returned.", min_length=1, max_length=64)]
Path = Annotated[str, Field(description="Relative to the workspace root (absolute paths must lie inside it).")]


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn sandbox errors into tool errors the caller (a model, or the MCP backend) can read and classify."""
    try:
        yield
    except InvalidRequest as exc:
        raise ToolError(f"invalid: {exc}") from exc
    except SandboxError as exc:
        raise ToolError(f"{p.error_kind(exc)}: {exc}") from exc


def _decode(path: str, encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ToolError(f"invalid: the content of {path!r} is not valid base64") from None


def _info(held: Held) -> p.SandboxInfo:
    return p.SandboxInfo(
        id=held.id, backend=held.backend, root=held.sandbox.root, repository=held.repository, created=held.created
    )


def register(server: MCPServer, sandboxes: OwnedSandboxes) -> None:
    def held(ctx: Context, sandbox_id: str) -> Held:
        return sandboxes.get(owner_of(ctx.request_context.request), sandbox_id)

    @server.tool(title="Create a sandbox")
    async def sandbox_create(
        ctx: Context,
        backend: Annotated[str | None, Field(description="A backend this server offers; default: its first.")] = None,
        repository: Annotated[str | None, Field(description="A git URL (or allowed local path) to clone.")] = None,
    ) -> p.SandboxInfo:
        """Create a sandbox: an empty workspace, or a clone of `repository`."""
        with tool_errors():
            owner = owner_of(ctx.request_context.request)
            return _info(await sandboxes.create(owner, backend=backend, repository=repository))

    @server.tool(title="List sandboxes")
    async def sandbox_list(ctx: Context) -> p.SandboxList:
        """The sandboxes of the calling key."""
        return p.SandboxList(sandboxes=[_info(h) for h in sandboxes.list(owner_of(ctx.request_context.request))])

    @server.tool(title="Delete a sandbox")
    async def sandbox_delete(ctx: Context, sandbox_id: SandboxId) -> p.Deleted:
        """Delete a sandbox and everything in it."""
        with tool_errors():
            await sandboxes.delete(owner_of(ctx.request_context.request), sandbox_id)
            return p.Deleted(id=sandbox_id, deleted=True)

    @server.tool(title="Run a command")
    async def exec(
        ctx: Context,
        sandbox_id: SandboxId,
        command: Annotated[str, Field(min_length=1, description="A shell command.")],
        cwd: Annotated[str | None, Field(description="Working directory inside the workspace.")] = None,
        timeout: Annotated[float | None, Field(gt=0, le=MAX_EXEC_TIMEOUT, description="Seconds.")] = None,
        env: Annotated[
            dict[str, str] | None, Field(description="Extra environment variables (credentials are refused).")
        ] = None,
    ) -> p.ExecOutput:
        """Run a shell command in the sandbox; its output is streamed as progress notifications while it runs."""
        with tool_errors():
            sandbox = held(ctx, sandbox_id).sandbox
            chunks = 0

            async def stream(chunk: str) -> None:
                nonlocal chunks
                chunks += 1
                await ctx.report_progress(chunks, None, chunk)

            result = await sandbox.exec(command, cwd=cwd, timeout=timeout, env=env, on_output=stream)
            return p.ExecOutput(
                exit_code=result.exit_code,
                output=result.output,
                truncated=result.truncated,
                timed_out=result.timed_out,
                duration=result.duration,
            )

    @server.tool(title="Read a file")
    async def read_file(
        ctx: Context,
        sandbox_id: SandboxId,
        path: Path,
        max_bytes: Annotated[int | None, Field(gt=0, description="Read at most this many bytes.")] = None,
    ) -> p.FileText:
        """Read a text file (binary files come back with `binary: true` and no text)."""
        with tool_errors():
            return p.FileText.of(await held(ctx, sandbox_id).sandbox.read(path, max_bytes=max_bytes))

    @server.tool(title="Write a file")
    async def write_file(
        ctx: Context,
        sandbox_id: SandboxId,
        path: Path,
        content: Annotated[str | None, Field(description="The text to write.")] = None,
        content_base64: Annotated[str | None, Field(description="Or: the bytes to write, base64-encoded.")] = None,
    ) -> p.Entry:
        """Create or replace a file, creating parent directories."""
        if (content is None) == (content_base64 is None):
            raise ToolError("invalid: give exactly one of content and content_base64")
        data: str | bytes = content if content is not None else _decode(path, content_base64 or "")
        with tool_errors():
            return p.Entry.of(await held(ctx, sandbox_id).sandbox.write(path, data))

    @server.tool(title="List files")
    async def list_files(
        ctx: Context,
        sandbox_id: SandboxId,
        path: Path = ".",
        depth: Annotated[int, Field(ge=1, le=16)] = 1,
    ) -> p.Listing:
        """List a directory (to `depth` levels)."""
        with tool_errors():
            entries = await held(ctx, sandbox_id).sandbox.list(path, depth=depth)
            return p.Listing(entries=[p.Entry.of(e) for e in entries])

    @server.tool(title="Stat a path")
    async def stat(ctx: Context, sandbox_id: SandboxId, path: Path) -> p.Entry:
        """Kind, size and modification time of one path."""
        with tool_errors():
            return p.Entry.of(await held(ctx, sandbox_id).sandbox.stat(path))

    @server.tool(title="Search files")
    async def search_files(
        ctx: Context,
        sandbox_id: SandboxId,
        pattern: Annotated[str, Field(min_length=1, description="A regular expression (or text).")],
        path: Path = ".",
        glob: str | None = None,
        max_results: Annotated[int, Field(ge=1, le=10_000)] = 100,
        fixed_strings: bool = False,
        ignore_case: bool = False,
    ) -> p.Matches:
        """ripgrep over the workspace (respecting .gitignore)."""
        with tool_errors():
            result = await held(ctx, sandbox_id).sandbox.search(
                pattern,
                path=path,
                glob=glob,
                max_results=max_results,
                fixed_strings=fixed_strings,
                ignore_case=ignore_case,
            )
            return p.Matches.of(result)

    @server.tool(title="Upload files")
    async def upload_files(
        ctx: Context,
        sandbox_id: SandboxId,
        files: Annotated[dict[str, str], Field(description="path -> content, base64-encoded.")],
    ) -> p.Uploaded:
        """Write several files at once (binary allowed: contents are base64)."""
        decoded = {path: _decode(path, encoded) for path, encoded in files.items()}
        with tool_errors():
            await held(ctx, sandbox_id).sandbox.upload(decoded)
            return p.Uploaded(paths=sorted(decoded))

    @server.tool(title="Download a file")
    async def download_file(ctx: Context, sandbox_id: SandboxId, path: Path) -> p.Download:
        """A file's bytes, base64-encoded."""
        with tool_errors():
            data = await held(ctx, sandbox_id).sandbox.download(path)
            return p.Download(path=path, size=len(data), content_base64=base64.b64encode(data).decode())

    @server.tool(title="Git status")
    async def git_status(ctx: Context, sandbox_id: SandboxId) -> p.GitStatus:
        """The branch and the changed files of the workspace's repository."""
        with tool_errors():
            result = await held(ctx, sandbox_id).sandbox.exec(f"{GIT} status --porcelain --branch", timeout=120)
            if not result.ok:
                raise InvalidRequest(f"git status failed: {result.output.strip()[-300:]}")
            lines = [line for line in result.output.splitlines() if line.strip()]
            head = lines[0][3:] if lines and lines[0].startswith("## ") else ""
            branch = head.split("...")[0].removeprefix("No commits yet on ").strip() or None
            changes = [line for line in lines if not line.startswith("## ")]
            if branch and branch.startswith("HEAD (no branch)"):
                branch = None
            return p.GitStatus(branch=branch, changes=changes, clean=not changes)

    @server.tool(title="Git diff")
    async def git_diff(
        ctx: Context,
        sandbox_id: SandboxId,
        staged: Annotated[bool, Field(description="The staged changes instead of the working tree's.")] = False,
        base: Annotated[str | None, Field(description="Diff against this commit or ref instead.")] = None,
    ) -> p.GitDiff:
        """The repository's uncommitted changes (or the changes since `base`)."""
        if base is not None and (not base.strip() or base.startswith("-")):
            raise ToolError(f"invalid: {base!r} is not a commit or ref")
        args = " --cached" if staged else ""
        args += f" {shlex.quote(base)}" if base else ""
        with tool_errors():
            result = await held(ctx, sandbox_id).sandbox.exec(f"{GIT} diff --no-color --no-ext-diff{args}", timeout=120)
            if not result.ok:
                raise InvalidRequest(f"git diff failed: {result.output.strip()[-300:]}")
            return p.GitDiff(diff=result.output, truncated=result.truncated)

    @server.tool(title="Git commit")
    async def git_commit(
        ctx: Context, sandbox_id: SandboxId, message: Annotated[str, Field(min_length=1, max_length=10_000)]
    ) -> p.GitCommit:
        """Stage every change (never .env files or build artifacts) and commit it."""
        with tool_errors():
            commit = await commit_all(held(ctx, sandbox_id).sandbox, message)
            return p.GitCommit(committed=commit is not None, commit=commit["sha"] if commit else None, message=message)
