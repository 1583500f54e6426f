"""The sandbox layer's contract: typed results, the error hierarchy, and two protocols.

`Sandbox` is *what runs*: commands and file operations inside one workspace.
`SandboxProvider` is *where it runs*: acquiring a sandbox for a thread, reusing it, releasing it.
Every backend (local, Daytona, later others) implements both; callers only ever see these types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

OutputCallback = Callable[[str], Awaitable[None]]
"""Receives command output chunks as they arrive (backends that cannot stream call it once at the end)."""


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ExecResult:
    exit_code: int
    """The command's exit status; 128+N when killed by signal N; -1 when it never ran to an exit."""
    output: str
    """stdout and stderr interleaved, decoded as UTF-8 with invalid bytes replaced, capped head-and-tail."""
    truncated: bool = False
    timed_out: bool = False
    duration: float = 0.0
    """Wall time in seconds."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class FileKind(StrEnum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    """Relative to the workspace root, with forward slashes ('.' for the root itself)."""
    kind: FileKind
    size: int
    modified: float = 0.0
    """Seconds since the epoch."""


@dataclass(frozen=True, slots=True)
class FileContent:
    path: str
    text: str | None
    """The decoded text, or None when the file is binary."""
    size: int
    """The file's full size in bytes (even when only part of it was read)."""
    binary: bool = False
    truncated: bool = False
    """True when the file is larger than the read limit and only its beginning is in `text`."""


@dataclass(frozen=True, slots=True)
class SearchMatch:
    path: str
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class SearchResult:
    matches: list[SearchMatch] = field(default_factory=list)
    truncated: bool = False
    """True when more matches existed than `max_results`."""


# ---------------------------------------------------------------- errors


class SandboxError(Exception):
    """Base of every error the sandbox layer raises. Its message is one line meant for humans and models."""


class PathOutsideWorkspace(SandboxError):
    """A path resolved (through `..`, an absolute path or a symlink) to somewhere outside the workspace."""


class SandboxFileNotFound(SandboxError):
    """The file or directory does not exist."""


class NotAFile(SandboxError):
    """A file operation was asked of a directory (or the reverse)."""


class SandboxBusy(SandboxError):
    """The workspace is already in use by another task."""


class SandboxGone(SandboxError):
    """The sandbox no longer exists (deleted, expired, or vanished behind our back)."""


class IsolationUnavailable(SandboxError):
    """The requested isolation (e.g. bubblewrap) is not available on this machine."""


class BackendError(SandboxError):
    """The backend failed (API error, connection failure) after retries."""


# ---------------------------------------------------------------- protocols


@runtime_checkable
class Sandbox(Protocol):
    """Operations inside one workspace. All paths are relative to `root` (absolute paths must lie inside it)."""

    @property
    def id(self) -> str: ...

    @property
    def root(self) -> str:
        """The workspace root as seen by commands inside the sandbox."""
        ...

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        on_output: OutputCallback | None = None,
    ) -> ExecResult:
        """Run a shell command. Never raises for a failing command: the result says how it ended."""
        ...

    async def read(self, path: str, *, max_bytes: int | None = None) -> FileContent: ...

    async def write(self, path: str, content: str | bytes) -> FileInfo:
        """Create or replace a file, creating parent directories."""
        ...

    async def list(self, path: str = ".", *, depth: int = 1) -> list[FileInfo]: ...

    async def stat(self, path: str) -> FileInfo: ...

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
        """ripgrep over the workspace (respecting .gitignore)."""
        ...

    async def upload(self, files: Mapping[str, bytes]) -> None:
        """Write several files at once (one round trip where the backend allows)."""
        ...

    async def download(self, path: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Lease:
    """A sandbox handed to a thread. `fresh` means it was just created: the caller must (re)populate it."""

    sandbox: Sandbox
    fresh: bool
    backend: str


@runtime_checkable
class SandboxProvider(Protocol):
    """Lifecycle: acquire a sandbox for a thread (reusing it when possible), release it, close the provider."""

    @property
    def name(self) -> str: ...

    async def acquire(
        self,
        thread_id: str,
        *,
        sandbox_id: str | None = None,
        project_path: str | None = None,
    ) -> Lease:
        """Get-or-create the thread's sandbox. `sandbox_id` is the id remembered in graph state, if any."""
        ...

    async def release(self, sandbox_id: str, *, delete: bool | None = None) -> None:
        """Give the sandbox back. `delete=None` follows the provider's configuration."""
        ...

    async def aclose(self) -> None: ...
