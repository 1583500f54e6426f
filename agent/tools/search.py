"""Search tools: `grep` (ripgrep through the sandbox) and `find_files` (glob)."""

from __future__ import annotations

import shlex

from pydantic import BaseModel, Field

from agent.tools.base import Tool, ToolContext, ToolError

RG_FAILED = "__open_swe_rg_failed__ "


class GrepArgs(BaseModel):
    pattern: str = Field(description="A regular expression (ripgrep syntax), or a literal with fixed_strings.")
    path: str = Field(default=".", description="Directory or file to search.")
    glob: str | None = Field(default=None, description="Only files matching this glob, e.g. '*.py'.")
    ignore_case: bool = False
    fixed_strings: bool = False
    max_results: int = Field(default=100, gt=0, le=1000)


class FindFilesArgs(BaseModel):
    pattern: str = Field(description="A glob such as '**/*.py' or 'test_*.py'.")
    path: str = Field(default=".", description="Directory to search in.")
    max_results: int = Field(default=200, gt=0, le=2000)


async def grep(ctx: ToolContext, args: GrepArgs) -> str:
    result = await ctx.sandbox.search(
        args.pattern,
        path=args.path,
        glob=args.glob,
        max_results=args.max_results,
        fixed_strings=args.fixed_strings,
        ignore_case=args.ignore_case,
    )
    if not result.matches:
        return "no matches"
    lines = [f"{m.path}:{m.line}: {m.text}" for m in result.matches]
    if result.truncated:
        lines.append(f"[more than {args.max_results} matches; narrow the search]")
    return "\n".join(lines)


async def find_files(ctx: ToolContext, args: FindFilesArgs) -> str:
    where = "" if args.path.strip() in ("", ".", "./") else shlex.quote(args.path)
    # ripgrep's own status travels through the pipe (the pipeline's is head's): a missing or failing rg is an
    # error, never an empty listing. 1: no file matched; 2 with a listing: some directory could not be read.
    command = (
        f"(rg --files --no-messages --hidden --glob '!.git' --glob {shlex.quote(args.pattern)} {where}"
        f" || echo {RG_FAILED}$?) | head -n {args.max_results + 1}"
    )
    result = await ctx.sandbox.exec(command, timeout=60)
    lines = [line for line in result.output.splitlines() if line.strip()]
    status = next((line.removeprefix(RG_FAILED) for line in lines if line.startswith(RG_FAILED)), "0")
    errors = [line for line in lines if line.startswith("rg: ")]
    paths = [line for line in lines if not line.startswith((RG_FAILED, "rg: "))]
    if not result.ok or status not in ("0", "1", "2") or (status == "2" and not paths):
        detail = "\n".join(errors or paths).strip()[:500] or f"ripgrep exit {status}"
        raise ToolError(f"find_files failed: {detail}")
    if not paths:
        return "no files match"
    more = len(paths) > args.max_results
    listing = "\n".join(sorted(paths[: args.max_results]))
    return listing + (f"\n[more than {args.max_results} files; narrow the pattern]" if more else "")


GREP = Tool("grep", "Search file contents with ripgrep (respects .gitignore). Returns path:line: text.", GrepArgs, grep)
FIND_FILES = Tool("find_files", "List files whose path matches a glob.", FindFilesArgs, find_files)
