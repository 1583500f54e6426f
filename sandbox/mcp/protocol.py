"""The wire contract between the MCP sandbox server (`service/mcp`) and the MCP backend (`sandbox/mcp`).

Tool names, their structured outputs (pydantic models: the server returns them, the backend validates the
`structuredContent` it gets back against them) and the error kinds. A failed tool call is an MCP tool error whose
text starts with `<kind>: ` so the backend raises the same `SandboxError` subclass the server's sandbox raised.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from sandbox.base import (
    BackendError,
    FileContent,
    FileInfo,
    FileKind,
    NotAFile,
    PathOutsideWorkspace,
    SandboxBusy,
    SandboxError,
    SandboxFileNotFound,
    SandboxGone,
    SearchMatch,
    SearchResult,
)

ERROR_KINDS: dict[str, type[SandboxError]] = {
    "not_found": SandboxGone,
    "file_not_found": SandboxFileNotFound,
    "outside_workspace": PathOutsideWorkspace,
    "not_a_file": NotAFile,
    "busy": SandboxBusy,
    "backend_error": BackendError,
    "invalid": SandboxError,
    "error": SandboxError,
}
"""Error kind on the wire -> the exception the MCP backend raises. `not_found` is a sandbox that does not exist
(or belongs to another key): to the backend, a sandbox gone."""

_KIND_OF: list[tuple[type[SandboxError], str]] = [
    (SandboxGone, "not_found"),
    (SandboxFileNotFound, "file_not_found"),
    (PathOutsideWorkspace, "outside_workspace"),
    (NotAFile, "not_a_file"),
    (SandboxBusy, "busy"),
    (BackendError, "backend_error"),
]
_ERROR_TEXT = re.compile(r"^(?:Error executing tool [\w.-]+: )?(?P<kind>[a-z_]+): (?P<message>.*)$", re.DOTALL)


def error_kind(exc: SandboxError) -> str:
    for cls, kind in _KIND_OF:
        if isinstance(exc, cls):
            return kind
    return "error"


def error_from_text(text: str) -> SandboxError:
    """The exception a tool error's text stands for (`SandboxError` with the whole text when it has no kind)."""
    match = _ERROR_TEXT.match(text.strip())
    if match and match["kind"] in ERROR_KINDS:
        return ERROR_KINDS[match["kind"]](match["message"])
    return SandboxError(text.strip())


class SandboxInfo(BaseModel):
    id: str
    backend: str
    root: str = Field(description="The workspace root as commands inside the sandbox see it.")
    repository: str | None = None
    created: float = Field(description="Seconds since the epoch.")


class SandboxList(BaseModel):
    sandboxes: list[SandboxInfo]


class Deleted(BaseModel):
    id: str
    deleted: bool


class ExecOutput(BaseModel):
    exit_code: int = Field(
        description="The command's exit status; 128+N when killed by signal N; -1 if it never ended."
    )
    output: str = Field(description="stdout and stderr interleaved, capped head and tail.")
    truncated: bool = False
    timed_out: bool = False
    duration: float = 0.0


class Entry(BaseModel):
    path: str
    kind: FileKind
    size: int
    modified: float = 0.0

    @classmethod
    def of(cls, info: FileInfo) -> Entry:
        return cls(path=info.path, kind=info.kind, size=info.size, modified=info.modified)

    def info(self) -> FileInfo:
        return FileInfo(path=self.path, kind=self.kind, size=self.size, modified=self.modified)


class Listing(BaseModel):
    entries: list[Entry]


class FileText(BaseModel):
    path: str
    text: str | None = Field(description="The decoded text, or null when the file is binary.")
    size: int
    binary: bool = False
    truncated: bool = False

    @classmethod
    def of(cls, content: FileContent) -> FileText:
        return cls(
            path=content.path,
            text=content.text,
            size=content.size,
            binary=content.binary,
            truncated=content.truncated,
        )

    def content(self) -> FileContent:
        return FileContent(path=self.path, text=self.text, size=self.size, binary=self.binary, truncated=self.truncated)


class Match(BaseModel):
    path: str
    line: int
    text: str


class Matches(BaseModel):
    matches: list[Match]
    truncated: bool = False

    @classmethod
    def of(cls, result: SearchResult) -> Matches:
        return cls(
            matches=[Match(path=m.path, line=m.line, text=m.text) for m in result.matches],
            truncated=result.truncated,
        )

    def result(self) -> SearchResult:
        return SearchResult(
            matches=[SearchMatch(path=m.path, line=m.line, text=m.text) for m in self.matches],
            truncated=self.truncated,
        )


class Uploaded(BaseModel):
    paths: list[str]


class Download(BaseModel):
    path: str
    size: int
    content_base64: str


class GitStatus(BaseModel):
    branch: str | None = Field(description="The current branch, or null when HEAD is detached or there is no repo.")
    changes: list[str] = Field(description="`git status --porcelain` lines: XY path.")
    clean: bool


class GitDiff(BaseModel):
    diff: str
    truncated: bool = False


class GitCommit(BaseModel):
    committed: bool
    commit: str | None = Field(description="The new commit's hash, or null when there was nothing to commit.")
    message: str
