"""Workspace search with ripgrep (`rg --json`), run on the host over the confined directory.

Like rg: .gitignore'd files are skipped; unlike rg's default, hidden files (.github/, .env.example) are searched,
`.git/` never is.

ripgrep never follows symlinks here (so a link to outside is not searched), reads no config file, and gets a
scrubbed environment. It is looked up in the virtualenv first (the `ripgrep` wheel), then on PATH.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import posixpath
import shutil
import sys
from functools import cache

from sandbox.base import SandboxError, SearchMatch, SearchResult
from sandbox.paths import Workspace
from sandbox.secrets import command_env

MAX_LINE = 1000
"""Characters of a matching line kept (minified files have megabyte-long lines)."""


@cache
def find_rg() -> str:
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", os.defpath)])
    found = shutil.which("rg", path=path)
    if found is None:
        raise SandboxError("ripgrep (rg) is not installed: `pip install ripgrep` or `apt-get install ripgrep`")
    return found


def _text(field: dict[str, str]) -> str:
    if "text" in field:
        return field["text"]
    return base64.b64decode(field.get("bytes", "")).decode("utf-8", errors="replace")


async def search(
    ws: Workspace,
    pattern: str,
    *,
    path: str = ".",
    glob: str | None = None,
    max_results: int = 100,
    fixed_strings: bool = False,
    ignore_case: bool = False,
) -> SearchResult:
    target = ws.existing(path)
    args = [find_rg(), "--json", "--no-config", "--no-messages", "--hidden", "--glob", "!.git"]
    if fixed_strings:
        args.append("--fixed-strings")
    if ignore_case:
        args.append("--ignore-case")
    if glob:
        args += ["--glob", glob]
    args += ["--regexp", pattern, "--", target.rel]
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=ws.root,
        env=command_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=1 << 24,
    )
    assert proc.stdout is not None and proc.stderr is not None
    matches: list[SearchMatch] = []
    truncated = False
    try:
        async for raw in proc.stdout:
            event = json.loads(raw)
            if event.get("type") != "match":
                continue
            if len(matches) >= max_results:
                truncated = True
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()  # enough: stop ripgrep
                break
            data = event["data"]
            rel = posixpath.normpath(_text(data["path"]))  # string work only; sandboxes are POSIX
            line = _text(data["lines"]).rstrip("\r\n")
            matches.append(SearchMatch(rel, data["line_number"] or 0, line[:MAX_LINE]))
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        raise
    finally:
        err = await proc.stderr.read()
        code = await proc.wait()
    if code == 2 and not matches and not truncated:
        message = err.decode(errors="replace").strip().splitlines()
        raise SandboxError(f"search failed: {message[-1] if message else 'ripgrep exit 2'}")
    return SearchResult(matches, truncated)
