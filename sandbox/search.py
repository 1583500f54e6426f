"""Workspace search with ripgrep, run by the sandbox's own runner (inside bubblewrap when isolated).

Inside the sandbox the kernel confines ripgrep to what the sandbox sees, so a command swapping a directory for a
symlink to outside while a search runs finds nothing outside. Like rg: .gitignore'd files are skipped; unlike rg's
default, hidden files (.github/, .env.example) are searched, `.git/` never is. ripgrep never follows symlinks here,
reads no config file, gets the sandbox's scrubbed environment, stops after `SEARCH_TIMEOUT` seconds, never opens a
path that is not a directory or a regular file (a FIFO would block it, a device never ends), treats `-` as a file
name (not stdin), and keeps the first `MAX_LINE` characters of a matching line however long it is (a 20 MB minified
line included: ripgrep itself cuts it, `--max-columns`).
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import shlex
import shutil
import stat
import sys
from collections.abc import Awaitable, Callable
from functools import cache

from sandbox.base import ExecResult, NotAFile, OutputCallback, SandboxError, SearchMatch, SearchResult
from sandbox.paths import Workspace

MAX_LINE = 1000
"""Characters of a matching line kept (minified files have megabyte-long lines)."""
SEARCH_TIMEOUT = 60.0
SEP = "\x1f"
"""Between a match's path, line number and text (a path holding it is cut short: no file name has one in practice)."""
Run = Callable[[str, OutputCallback, float], Awaitable[ExecResult]]
"""Runs a shell command in the sandbox's workspace, streaming its output: (command, on_output, timeout)."""


@cache
def find_rg() -> str:
    """The host's ripgrep: the `ripgrep` wheel next to this interpreter, else PATH. Blocking: call from a thread."""
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", os.defpath)])
    found = shutil.which("rg", path=path)
    if found is None:
        raise SandboxError("ripgrep (rg) is not installed: `pip install ripgrep` or `apt-get install ripgrep`")
    return found


class _Enough(Exception):
    """Raised from the output callback to stop ripgrep once enough matches came in."""


def _check_target(ws: Workspace, path: str) -> str:
    """The path to give ripgrep ('./'-prefixed, so `-` is a file): a directory or a regular file inside, or an error."""
    target = ws.existing(path)
    mode = os.stat(target.real).st_mode
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise NotAFile(f"{path!r} is neither a directory nor a regular file")
    return "." if target.rel == "." else f"./{target.rel}"


def command(rg: str, target: str, pattern: str, *, glob: str | None, fixed_strings: bool, ignore_case: bool) -> str:
    args = [rg, "--no-config", "--no-messages", "--hidden", "--glob", "!.git", "--color", "never"]
    args += ["--with-filename", "--line-number", "--no-heading", "--field-match-separator", SEP]
    args += ["--max-columns", str(MAX_LINE)]
    args += ["--max-columns-preview", "--max-filesize", "100M"]
    if fixed_strings:
        args.append("--fixed-strings")
    if ignore_case:
        args.append("--ignore-case")
    if glob:
        args += ["--glob", glob]
    args += ["--regexp", pattern, "--", target]
    return shlex.join(args)


async def search(
    ws: Workspace,
    run: Run,
    rg: str,
    pattern: str,
    *,
    path: str = ".",
    glob: str | None = None,
    max_results: int = 100,
    fixed_strings: bool = False,
    ignore_case: bool = False,
    timeout: float = SEARCH_TIMEOUT,
) -> SearchResult:
    """`rg`: ripgrep's path as the runner sees it."""
    target = await asyncio.to_thread(_check_target, ws, path)
    matches: list[SearchMatch] = []
    pending = [""]
    truncated = False

    async def collect(text: str) -> None:
        nonlocal truncated
        lines = (pending[0] + text).split("\n")
        pending[0] = lines.pop()
        if len(pending[0]) > 4 * MAX_LINE + 4096:  # ripgrep cuts lines; anything longer is not its output
            pending[0] = pending[0][: 4 * MAX_LINE]
        for line in lines:
            name, sep, rest = line.partition(SEP)
            number, colon, body = rest.partition(SEP)
            if not sep or not colon or not number.isdigit():
                continue
            if len(matches) >= max_results:
                truncated = True
                raise _Enough
            rel = posixpath.normpath(name)  # pure string work
            matches.append(SearchMatch(rel, int(number), body.rstrip("\r")[:MAX_LINE]))

    cmd = command(rg, target, pattern, glob=glob, fixed_strings=fixed_strings, ignore_case=ignore_case)
    try:
        result = await run(cmd, collect, timeout)
    except _Enough:
        return SearchResult(matches, True)
    if result.timed_out:
        raise SandboxError(f"search timed out after {timeout:g}s")
    if result.exit_code not in (0, 1) and not matches:
        message = [line for line in result.output.splitlines() if SEP not in line]
        raise SandboxError(f"search failed: {message[-1] if message else f'ripgrep exit {result.exit_code}'}")
    return SearchResult(matches, truncated)
