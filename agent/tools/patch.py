"""`apply_patch`: apply a unified diff, all files or none, with an error naming the hunk that did not apply."""

from __future__ import annotations

import shlex

from pydantic import BaseModel, Field
from unidiff import PatchedFile, PatchSet
from unidiff.errors import UnidiffParseError

from agent.tools.base import Tool, ToolContext, ToolError
from agent.tools.files import read_text
from sandbox.base import SandboxFileNotFound


class ApplyPatchArgs(BaseModel):
    patch: str = Field(
        description="A unified diff (as produced by `git diff` or `diff -u`), paths a/... b/... or plain."
    )


def _strip_prefix(path: str) -> str:
    return path[2:] if path.startswith(("a/", "b/")) else path


def _find(lines: list[str], block: list[str], hint: int) -> int:
    """Where `block` occurs in `lines`, preferring the position nearest `hint`; -1 when nowhere."""
    if not block:
        return min(max(hint, 0), len(lines))
    candidates = [i for i in range(len(lines) - len(block) + 1) if lines[i : i + len(block)] == block]
    return min(candidates, key=lambda i: abs(i - hint)) if candidates else -1


def apply_to_text(text: str, patched_file: PatchedFile, path: str) -> str:
    lines = text.splitlines()
    trailing_newline = text.endswith("\n") or not text
    offset = 0
    for number, hunk in enumerate(patched_file, start=1):
        source = [ln.value.rstrip("\n") for ln in hunk if ln.is_context or ln.is_removed]
        target = [ln.value.rstrip("\n") for ln in hunk if ln.is_context or ln.is_added]
        at = _find(lines, source, hunk.source_start - 1 + offset)
        if at < 0:
            expected = "\n".join(source[:12])
            raise ToolError(
                f"hunk {number} of {path} (@@ -{hunk.source_start},{hunk.source_length} "
                f"+{hunk.target_start},{hunk.target_length} @@) does not apply: these lines were not found:\n{expected}"
            )
        lines[at : at + len(source)] = target
        offset = at - max(hunk.source_start - 1, 0) + len(target) - len(source)
    return "\n".join(lines) + ("\n" if trailing_newline and lines else "")


async def apply_patch(ctx: ToolContext, args: ApplyPatchArgs) -> str:
    try:
        patch = PatchSet(args.patch if args.patch.endswith("\n") else args.patch + "\n")
    except UnidiffParseError as exc:
        raise ToolError(f"not a valid unified diff: {exc}") from exc
    if not len(patch):
        raise ToolError("not a valid unified diff: no file headers (--- a/path, +++ b/path) found")
    writes: dict[str, str] = {}
    deletes: list[str] = []
    for patched in patch:
        path = _strip_prefix(patched.target_file if not patched.is_removed_file else patched.source_file)
        if patched.is_removed_file:
            deletes.append(path)
            continue
        original = ""
        if not patched.is_added_file:
            try:
                original = writes.get(path) or await read_text(ctx, path)
            except SandboxFileNotFound as exc:
                raise ToolError(f"cannot patch {path}: the file does not exist") from exc
        writes[path] = apply_to_text(original, patched, path)
    for path, text in writes.items():
        await ctx.sandbox.write(path, text)
    for path in deletes:
        result = await ctx.sandbox.exec(f"rm -f -- {shlex.quote(path)}")
        if not result.ok:
            raise ToolError(f"could not delete {path}: {result.output.strip()}")
    changed = [*writes, *(f"{p} (deleted)" for p in deletes)]
    return "patched " + ", ".join(changed)


APPLY_PATCH = Tool(
    "apply_patch",
    "Apply a unified diff to one or more files (all or nothing).",
    ApplyPatchArgs,
    apply_patch,
    writes_files=True,
)
