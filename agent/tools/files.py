"""File tools: `view`, `str_replace`, `create_file`, `insert`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent.tools.base import Tool, ToolContext, ToolError
from sandbox.base import FileKind


class ViewArgs(BaseModel):
    path: str = Field(description="File or directory, relative to the repository root.")
    view_range: list[int] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="[first, last] line numbers (1-based, inclusive; last = -1 for the end of the file).",
    )


class StrReplaceArgs(BaseModel):
    path: str
    old_str: str = Field(description="Exact text to replace; must occur exactly once in the file.")
    new_str: str = Field(description="The replacement text.")


class CreateFileArgs(BaseModel):
    path: str
    content: str = Field(description="The whole content of the file (it is created or overwritten).")


class InsertArgs(BaseModel):
    path: str
    insert_line: int = Field(ge=0, description="Insert after this line number (0 = at the beginning).")
    text: str


async def read_text(ctx: ToolContext, path: str) -> str:
    content = await ctx.sandbox.read(path)
    if content.binary or content.text is None:
        raise ToolError(f"{path} is a binary file")
    if content.truncated:
        raise ToolError(f"{path} is too large to edit ({content.size} bytes)")
    return content.text


async def view(ctx: ToolContext, args: ViewArgs) -> str:
    info = await ctx.sandbox.stat(args.path)
    if info.kind == FileKind.DIRECTORY:
        entries = await ctx.sandbox.list(args.path, depth=2)
        lines = [f"{e.path}/" if e.kind == FileKind.DIRECTORY else e.path for e in entries]
        return "\n".join(sorted(lines)) or "(empty directory)"
    content = await ctx.sandbox.read(args.path)
    if content.binary or content.text is None:
        raise ToolError(f"{args.path} is a binary file ({content.size} bytes)")
    lines = content.text.splitlines()
    first, last = 1, len(lines)
    if args.view_range:
        first, last = args.view_range
        last = len(lines) if last == -1 else last
        if first < 1 or first > max(len(lines), 1) or last < first:
            raise ToolError(f"invalid view_range {args.view_range}: {args.path} has {len(lines)} lines")
    shown = "\n".join(f"{n:6}\t{line}" for n, line in enumerate(lines[first - 1 : last], start=first))
    return shown + ("\n[file truncated]" if content.truncated else "")


async def str_replace(ctx: ToolContext, args: StrReplaceArgs) -> str:
    text = await read_text(ctx, args.path)
    count = text.count(args.old_str) if args.old_str else 0
    if count != 1:
        hint = "no match" if count == 0 else f"{count} matches; include more surrounding lines to make it unique"
        raise ToolError(f"old_str must match exactly once in {args.path}, found {hint}")
    await ctx.sandbox.write(args.path, text.replace(args.old_str, args.new_str, 1))
    line = text[: text.index(args.old_str)].count("\n") + 1
    return f"replaced 1 occurrence in {args.path} at line {line}"


async def create_file(ctx: ToolContext, args: CreateFileArgs) -> str:
    info = await ctx.sandbox.write(args.path, args.content)
    return f"wrote {args.path} ({info.size} bytes)"


async def insert(ctx: ToolContext, args: InsertArgs) -> str:
    text = await read_text(ctx, args.path)
    lines = text.splitlines(keepends=True)
    if args.insert_line > len(lines):
        raise ToolError(f"insert_line {args.insert_line} is past the end of {args.path} ({len(lines)} lines)")
    new = args.text if args.text.endswith("\n") else args.text + "\n"
    if args.insert_line and not lines[args.insert_line - 1].endswith("\n"):
        lines[args.insert_line - 1] += "\n"
    lines.insert(args.insert_line, new)
    await ctx.sandbox.write(args.path, "".join(lines))
    return f"inserted {new.count(chr(10))} line(s) into {args.path} after line {args.insert_line}"


VIEW = Tool(
    "view",
    "Show a file with line numbers (optionally a line range), or list a directory two levels deep.",
    ViewArgs,
    view,
)
STR_REPLACE = Tool(
    "str_replace",
    "Replace one exact, unique occurrence of old_str with new_str in a file.",
    StrReplaceArgs,
    str_replace,
    writes_files=True,
)
CREATE_FILE = Tool(
    "create_file",
    "Create a file (or overwrite it) with the given content.",
    CreateFileArgs,
    create_file,
    writes_files=True,
)
INSERT = Tool(
    "insert", "Insert text after a given line of a file (0 inserts at the top).", InsertArgs, insert, writes_files=True
)
