"""The Sandbox operations of a remote workspace, each one toolbox request (SDK-free).

`RemoteWorkspace` turns every operation into one shell script run by an `Executor` (the Daytona backend
supplies one over `process/execute`), checks paths lexically before any request, lets the script resolve
symlinks inside the sandbox, and maps the script's exit codes to the sandbox error hierarchy.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import time
import uuid
from collections.abc import Mapping
from typing import Protocol

from sandbox import daytona_scripts as scripts
from sandbox.base import (
    BackendError,
    ExecResult,
    FileContent,
    FileInfo,
    FileKind,
    NotAFile,
    OutputCallback,
    PathOutsideWorkspace,
    SandboxError,
    SandboxFileNotFound,
    SearchMatch,
    SearchResult,
)
from sandbox.output import cap_text, decode, decode_file, omitted_marker
from sandbox.secrets import refuse_credentials
from sandbox.settings import SandboxSettings

MAX_LINE = 1000
TIMEOUT_CODE = 124
_KINDS = {"f": FileKind.FILE, "d": FileKind.DIRECTORY, "l": FileKind.SYMLINK}
_STAT_KINDS = {
    "regular file": FileKind.FILE,
    "regular empty file": FileKind.FILE,
    "directory": FileKind.DIRECTORY,
    "symbolic link": FileKind.SYMLINK,
}


class Executor(Protocol):
    async def execute(
        self, operation: str, command: str, *, env: Mapping[str, str] | None, timeout: float, idempotent: bool
    ) -> tuple[int, str]:
        """Run `command` in the sandbox in one request; (exit code, combined output)."""
        ...

    async def stage(self, files: Mapping[str, bytes]) -> None:
        """Upload files to absolute in-sandbox paths in one request (unconfined: callers stage outside)."""
        ...


class RemoteWorkspace:
    def __init__(self, executor: Executor, root: str, settings: SandboxSettings) -> None:
        self._executor = executor
        self._root = posixpath.normpath(root)
        self._settings = settings

    @property
    def root(self) -> str:
        return self._root

    # ------------------------------------------------------------ paths

    def _absolute(self, path: str) -> str:
        if "\x00" in path:
            raise PathOutsideWorkspace(f"{path!r}: paths cannot contain NUL bytes")
        lexical = posixpath.normpath(posixpath.join(self._root, path or "."))
        if lexical != self._root and not lexical.startswith(self._root + "/"):
            raise PathOutsideWorkspace(f"{path!r} resolves outside the workspace ({self._root})")
        return lexical

    def _relative(self, absolute: str) -> str:
        return "." if absolute == self._root else absolute[len(self._root) + 1 :]

    def _fail(self, code: int, path: str, output: str) -> SandboxError:
        shown = repr(path)
        match code:
            case scripts.EXIT_NOT_FOUND:
                return SandboxFileNotFound(f"{shown} does not exist")
            case scripts.EXIT_OUTSIDE:
                return PathOutsideWorkspace(f"{shown} resolves outside the workspace ({self._root})")
            case scripts.EXIT_IS_DIRECTORY:
                return NotAFile(f"{shown} is a directory, not a file")
            case scripts.EXIT_NOT_DIRECTORY:
                return NotAFile(f"{shown} is not a directory (or a parent of it is a file)")
            case scripts.EXIT_UNREADABLE:
                return SandboxError(f"cannot access {shown}: permission denied or I/O error")
        first = output.strip().splitlines()[:1]
        detail = first[0] if first else "no output"
        return BackendError(f"operation on {shown} failed with exit code {code}: {detail}")

    async def _execute(self, operation: str, script: str) -> tuple[int, str]:
        """One idempotent toolbox request running one of our scripts."""
        command = scripts.as_command(script)
        limit = self._settings.exec_timeout
        return await self._executor.execute(operation, command, env=None, timeout=limit, idempotent=True)

    async def _run(self, operation: str, script: str, path: str) -> str:
        code, output = await self._execute(operation, script)
        if code != 0:
            raise self._fail(code, path, output)
        return output

    # ------------------------------------------------------------ commands

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        on_output: OutputCallback | None = None,
    ) -> ExecResult:
        extra = refuse_credentials(env)  # as on the local backend: credentials never enter a sandbox
        limit = timeout or self._settings.exec_timeout
        workdir = self._absolute(cwd or ".")
        script = scripts.exec_script(
            self._root, workdir, command, timeout=limit, output_limit=self._settings.output_limit
        )
        started = time.monotonic()
        code, raw = await self._executor.execute(
            "exec", scripts.as_command(script), env=extra or None, timeout=limit + 15, idempotent=False
        )
        duration = time.monotonic() - started
        refused = scripts.exec_precheck_failure(raw)
        if refused == "outside":
            raise PathOutsideWorkspace(f"{cwd!r} resolves outside the workspace ({self._root})")
        if refused == "missing":
            raise SandboxFileNotFound(f"working directory {cwd!r} does not exist")
        if refused == "notdir":
            raise NotAFile(f"working directory {cwd!r} is not a directory")
        output, truncated = self._capped(raw)
        timed_out = code in (TIMEOUT_CODE, 128 + 9) and duration >= limit
        result = ExecResult(
            exit_code=TIMEOUT_CODE if timed_out else code,
            output=output,
            truncated=truncated,
            timed_out=timed_out,
            duration=duration,
        )
        if on_output is not None and output:
            await on_output(output)
        return result

    def _capped(self, raw: str) -> tuple[str, bool]:
        head, tail, total = scripts.split_capped(raw)
        if tail is None:
            return cap_text(decode(head.encode("utf-8", errors="replace")), self._settings.output_limit)
        cut = total - 2 * max(1, self._settings.output_limit // 2)  # the wrapper kept half the limit per end
        return decode(head.encode()) + omitted_marker(max(0, cut)) + decode(tail.encode()), True

    # ------------------------------------------------------------ files

    async def read(self, path: str, *, max_bytes: int | None = None) -> FileContent:
        absolute = self._absolute(path)
        limit = max_bytes or self._settings.read_limit
        output = await self._run("read", scripts.read_script(self._root, absolute, limit), path)
        size, data = self._decode_read(output)
        rel = self._relative(absolute)
        truncated = len(data) < size
        text = decode_file(data, final=not truncated)
        return FileContent(rel, text, size, binary=text is None, truncated=truncated)

    @staticmethod
    def _decode_read(output: str) -> tuple[int, bytes]:
        try:
            size, encoded = scripts.parse_read(output)
            return size, base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise BackendError("the sandbox returned a malformed file read") from None

    async def download(self, path: str) -> bytes:
        absolute = self._absolute(path)
        output = await self._run("download", scripts.read_script(self._root, absolute, None), path)
        return self._decode_read(output)[1]

    async def write(self, path: str, content: str | bytes) -> FileInfo:
        absolute = self._absolute(path)
        if absolute == self._root:
            raise NotAFile(f"{path!r} is a directory, not a file")
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        output = await self._upload({absolute: data}, {absolute: path}, stat_last=True)
        size, _, modified = output.strip().rpartition("\n")[2].partition(" ")
        return FileInfo(self._relative(absolute), FileKind.FILE, int(size), _float(modified))

    async def upload(self, files: Mapping[str, bytes]) -> None:
        shown = {self._absolute(path): path for path in files}  # two spellings of one file: the last one wins
        for absolute, path in shown.items():
            if absolute == self._root:
                raise NotAFile(f"{path!r} is a directory, not a file")
        if shown:
            await self._upload(
                {absolute: bytes(files[path]) for absolute, path in shown.items()}, shown, stat_last=False
            )

    async def _upload(self, targets: dict[str, bytes], shown: dict[str, str], *, stat_last: bool) -> str:
        """One execute when the content fits in a command, else a bulk upload to staging plus one execute."""
        paths = list(targets)
        if sum(len(d) for d in targets.values()) <= scripts.INLINE_UPLOAD_LIMIT:
            inline = [scripts.InlineFile(p, base64.b64encode(d).decode()) for p, d in targets.items()]
            script = scripts.upload_script(self._root, inline, stat_last=stat_last)
        else:
            staged = f"/tmp/open-swe-stage-{uuid.uuid4().hex}"
            await self._executor.stage({f"{staged}/{i}": data for i, data in enumerate(targets.values())})
            script = scripts.upload_script(self._root, paths, staged_dir=staged, stat_last=stat_last)
        code, output = await self._execute("write", script)
        if code != 0:
            index = output.strip().splitlines()[:1]
            at = int(index[0]) if index and index[0].isdigit() else 0
            failed = paths[at] if at < len(paths) else paths[0]
            raise self._fail(code, shown[failed], output)
        return output

    async def list(self, path: str = ".", *, depth: int = 1) -> list[FileInfo]:
        absolute = self._absolute(path)
        output = await self._run("list", scripts.list_script(self._root, absolute, max(1, depth)), path)
        base = self._relative(absolute)
        entries = [
            FileInfo(
                e.relative if base == "." else f"{base}/{e.relative}",
                _KINDS.get(e.type_code, FileKind.OTHER),
                e.size,
                e.modified,
            )
            for e in scripts.parse_list(output)
        ]
        return sorted(entries, key=lambda info: info.path.split("/"))

    async def stat(self, path: str) -> FileInfo:
        absolute = self._absolute(path)
        output = await self._run("stat", scripts.stat_script(self._root, absolute), path)
        kind, size, modified = scripts.parse_stat(output)
        return FileInfo(self._relative(absolute), _STAT_KINDS.get(kind, FileKind.OTHER), size, modified)

    async def search(
        self,
        pattern: str,
        *,
        path: str = ".",
        glob: str | None = None,
        max_results: int = 100,
        fixed_strings: bool = False,
        ignore_case: bool = False,
    ) -> SearchResult:
        rel = self._relative(self._absolute(path))
        script = scripts.search_script(
            self._root,
            rel,
            pattern,
            glob=glob,
            max_results=max_results,
            fixed_strings=fixed_strings,
            ignore_case=ignore_case,
        )
        code, output = await self._execute("search", script)
        if code == scripts.EXIT_BAD_PATTERN:
            lines = output.strip().splitlines()
            raise SandboxError(f"search failed: {lines[-1] if lines else 'bad pattern'}")
        if code != 0:
            raise self._fail(code, path, output)
        found = [
            SearchMatch(posixpath.normpath(p), n, text.rstrip("\r")[:MAX_LINE])
            for p, n, text in scripts.parse_search(output)
        ]
        return SearchResult(found[:max_results], truncated=len(found) > max_results)


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0
