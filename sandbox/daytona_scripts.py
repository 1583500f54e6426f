"""Shell scripts that make each Daytona file operation one toolbox request, and the parsers of their output.

Every operation runs as one `process/execute` call. The script resolves the real path inside the
sandbox (so a symlink cannot lead outside the workspace), does the work, and reports failures with
the distinctive exit codes below. SDK-free and pure: easy to test, nothing here talks to Daytona.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

EXIT_NOT_FOUND = 201
EXIT_OUTSIDE = 202
EXIT_IS_DIRECTORY = 203
EXIT_NOT_DIRECTORY = 204
EXIT_UNREADABLE = 205
EXIT_BAD_PATTERN = 206

EXEC_MARK = "\x00open-swe:"
"""Prefix of the markers the exec wrapper prints (NUL cannot appear in a command's decoded text unaltered)."""

INLINE_UPLOAD_LIMIT = 64 * 1024
"""Raw bytes that travel inside one execute request (base64 inside a `sh -c` argument, which Linux caps at
128 KiB). Larger uploads are staged with one bulk-upload and moved into place by one execute."""


def q(value: str) -> str:
    return shlex.quote(value)


def as_command(script: str) -> str:
    """The string sent as the execute request's command: works whether the daemon runs it through a shell or
    splits it into arguments itself."""
    return f"sh -c {q(script)}"


def _prelude(root: str) -> str:
    return (
        "set -u\n"
        f"mkdir -p -- {q(root)} 2>/dev/null\n"
        f"R=$(realpath -m -- {q(root)})\n"
        'inside() { case "$1/" in "$R"/*) return 0;; esac; return 1; }\n'
    )


def _resolve(var: str, path: str, *, on_fail: str = "") -> str:
    return f'{var}=$(realpath -m -- {q(path)})\ninside "${var}" || {{ {on_fail}exit {EXIT_OUTSIDE}; }}\n'


def read_script(root: str, path: str, max_bytes: int | None) -> str:
    body = (
        f'[ -e "$P" ] || exit {EXIT_NOT_FOUND}\n'
        f'[ -d "$P" ] && exit {EXIT_IS_DIRECTORY}\n'
        f'[ -r "$P" ] || exit {EXIT_UNREADABLE}\n'
        f'S=$(stat -c %s -- "$P") || exit {EXIT_UNREADABLE}\n'
        'printf "%s\\n" "$S"\n'
    )
    if max_bytes is not None:
        body += f'head -c {int(max_bytes)} -- "$P" | base64 -w 0\n'
    else:
        body += 'base64 -w 0 -- "$P"\n'
    return _prelude(root) + _resolve("P", path) + body


def parse_read(output: str) -> tuple[int, str]:
    """(full size, base64 of the bytes read)."""
    size, _, encoded = output.partition("\n")
    return int(size.strip()), encoded.strip()


@dataclass(frozen=True, slots=True)
class InlineFile:
    path: str
    """Absolute path inside the sandbox (already checked lexically)."""
    encoded: str
    """The content, base64."""


def upload_script(
    root: str, files: Sequence[InlineFile] | Sequence[str], *, staged_dir: str | None = None, stat_last: bool = False
) -> str:
    """Check every target first (so a bad path changes nothing), then write them all.

    With `staged_dir`, `files` are target paths whose contents were bulk-uploaded to `staged_dir/<index>`.
    On a failed check the script prints the index of the offending file and exits with the reason.
    """
    script = _prelude(root)
    targets = [f.path if isinstance(f, InlineFile) else f for f in files]
    for i, target in enumerate(targets):
        script += _resolve(f"P{i}", target, on_fail=f"echo {i}; ")
        script += f'[ -d "$P{i}" ] && {{ echo {i}; exit {EXIT_IS_DIRECTORY}; }}\n'
    for i, item in enumerate(files):
        fail = f"{{ echo {i}; exit {EXIT_UNREADABLE}; }}"
        no_dir = f"{{ echo {i}; exit {EXIT_NOT_DIRECTORY}; }}"
        script += f'mkdir -p -- "$(dirname -- "$P{i}")" 2>/dev/null || {no_dir}\n'
        if isinstance(item, InlineFile):
            script += f'printf %s {q(item.encoded)} | base64 -d > "$P{i}" || {fail}\n'
        else:
            script += f'cat -- {q(f"{staged_dir}/{i}")} > "$P{i}" || {fail}\n'
    if staged_dir is not None:
        script += f"rm -rf -- {q(staged_dir)}\n"
    if stat_last and targets:
        script += f'stat -c "%s %.9Y" -- "$P{len(targets) - 1}"\n'
    return script


def list_script(root: str, path: str, depth: int) -> str:
    return (
        _prelude(root)
        + _resolve("P", path)
        + (
            f'[ -e "$P" ] || exit {EXIT_NOT_FOUND}\n'
            f'[ -d "$P" ] || exit {EXIT_NOT_DIRECTORY}\n'
            f'find "$P" -mindepth 1 -maxdepth {int(depth)} -printf "%y\\t%s\\t%T@\\t%P\\0"'
            " -name .git -type d -prune\n"
        )
    )


@dataclass(frozen=True, slots=True)
class ListedEntry:
    type_code: str
    """find's %y: f file, d directory, l symlink, anything else other."""
    size: int
    modified: float
    relative: str


def parse_list(output: str) -> list[ListedEntry]:
    entries: list[ListedEntry] = []
    for record in output.split("\x00"):
        if not record:
            continue
        type_code, size, modified, relative = record.split("\t", 3)
        entries.append(ListedEntry(type_code, int(size), float(modified), relative))
    return entries


def stat_script(root: str, path: str) -> str:
    """Stat the fully resolved path (symlinks followed, like the local backend)."""
    return (
        _prelude(root)
        + _resolve("P", path)
        + (f'[ -e "$P" ] || exit {EXIT_NOT_FOUND}\nstat --printf "%F\\t%s\\t%.9Y\\n" -- "$P"\n')
    )


def parse_stat(output: str) -> tuple[str, int, float]:
    kind, size, modified = output.strip().split("\t")
    return kind, int(size), float(modified)


def search_script(
    root: str,
    path: str,
    pattern: str,
    *,
    glob: str | None,
    max_results: int,
    fixed_strings: bool,
    ignore_case: bool,
) -> str:
    rg = ["rg", "--null", "--line-number", "--no-heading", "--color", "never"]
    grep = ["grep", "-rnZ", "--exclude-dir=.git", "-I"]
    if fixed_strings:
        rg.append("--fixed-strings")
        grep.append("-F")
    else:
        grep.append("-E")
    if ignore_case:
        rg.append("--ignore-case")
        grep.append("-i")
    if glob:
        rg += ["--glob", glob]
        grep.append(f"--include={glob}")
    rg += ["-e", pattern, "--"]
    grep += ["-e", pattern, "--"]
    target = "." if path in ("", ".") else path
    return (
        _prelude(root)
        + _resolve("P", posixpath.join(root, target))
        + (
            f'[ -e "$P" ] || exit {EXIT_NOT_FOUND}\n'
            'cd -- "$R" || exit 1\n'
            "T=$(mktemp) && E=$(mktemp) || exit 1\n"
            "if command -v rg >/dev/null 2>&1; then "
            f'{" ".join(q(a) for a in rg)} {q(target)} > "$T" 2> "$E"; rc=$?\n'
            f'else {" ".join(q(a) for a in grep)} {q(target)} > "$T" 2> "$E"; rc=$?; fi\n'
            f'if [ "$rc" -gt 1 ]; then head -c 500 "$E"; rm -f "$T" "$E"; exit {EXIT_BAD_PATTERN}; fi\n'
            f'head -n {int(max_results) + 1} "$T"\n'
            'rm -f "$T" "$E"\n'
        )
    )


def parse_search(output: str) -> list[tuple[str, int, str]]:
    matches: list[tuple[str, int, str]] = []
    for line in output.splitlines():
        path, sep, rest = line.partition("\x00")
        if not sep:
            continue
        number, _, text = rest.partition(":")
        if not number.isdigit():
            continue
        matches.append((path.removeprefix("./"), int(number), text))
    return matches


def _mark(text: str) -> str:
    """A printf format printing an exec marker: EXEC_MARK + text + NUL."""
    return q(f"{EXEC_MARK}{text}\x00".replace("\x00", "\\000"))


def exec_script(root: str, cwd: str, command: str, *, timeout: float, output_limit: int) -> str:
    """Run `command` in `cwd` under `timeout` (killing its process group), capping output head-and-tail
    inside the sandbox so a huge output never crosses the network. The working directory is checked with the
    same prelude as every file operation; a refusal prints a marker that `exec_precheck_failure` recognizes."""
    half = max(1, output_limit // 2)
    return (
        _prelude(root)
        + _resolve("C", cwd, on_fail=f"printf {_mark('outside')}; ")
        + (
            f'[ -e "$C" ] || {{ printf {_mark("missing")}; exit {EXIT_NOT_FOUND}; }}\n'
            f'[ -d "$C" ] || {{ printf {_mark("notdir")}; exit {EXIT_NOT_DIRECTORY}; }}\n'
            f'cd -- "$C" 2>/dev/null || {{ printf {_mark("missing")}; exit {EXIT_NOT_FOUND}; }}\n'
            "O=$(mktemp) || exit 1\n"
            "if command -v bash >/dev/null 2>&1; then SH=bash; else SH=sh; fi\n"
            f'timeout -k 2 {max(1, int(timeout + 0.999))} "$SH" -c {q(command)} > "$O" 2>&1 < /dev/null\n'
            "rc=$?\n"
            'N=$(wc -c < "$O")\n'
            f'if [ "$N" -le {int(output_limit)} ]; then cat "$O"; else head -c {half} "$O"; '
            f'printf {_mark("cut:%s")} "$N"; tail -c {half} "$O"; fi\n'
            'rm -f "$O"\n'
            "exit $rc\n"
        )
    )


def exec_precheck_failure(output: str) -> str | None:
    """ "outside", "missing" or "notdir" when the wrapper refused to run the command."""
    for reason in ("outside", "missing", "notdir"):
        if output == f"{EXEC_MARK}{reason}\x00":
            return reason
    return None


def split_capped(output: str) -> tuple[str, str | None, int]:
    """(head, tail or None when not cut, total bytes) from the exec wrapper's output."""
    marker = f"{EXEC_MARK}cut:"
    at = output.find(marker)
    if at < 0:
        return output, None, len(output.encode("utf-8", errors="replace"))
    end = output.find("\x00", at + len(marker))
    total = int(output[at + len(marker) : end])
    return output[:at], output[end + 1 :], total
