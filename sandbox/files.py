"""File operations on a host directory, confined by `Workspace`. Synchronous: callers run them in a thread."""

from __future__ import annotations

import codecs
import contextlib
import os
import stat as st
from collections.abc import Mapping
from pathlib import Path

from sandbox.base import FileContent, FileInfo, FileKind, NotAFile, SandboxError, SandboxFileNotFound
from sandbox.paths import Workspace

BINARY_SNIFF = 8192
SKIP_DESCENT = frozenset({".git"})
"""Directories listed but never descended into by `list_dir` (their content is noise for an agent)."""

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _kind(mode: int) -> FileKind:
    if st.S_ISLNK(mode):
        return FileKind.SYMLINK
    if st.S_ISDIR(mode):
        return FileKind.DIRECTORY
    if st.S_ISREG(mode):
        return FileKind.FILE
    return FileKind.OTHER


def _info(rel: str, result: os.stat_result) -> FileInfo:
    return FileInfo(rel, _kind(result.st_mode), result.st_size, result.st_mtime)


def _open_regular(path: Path, shown: str, flags: int) -> int:
    """Open a regular file without following a final symlink; never blocks on a FIFO."""
    with contextlib.suppress(FileNotFoundError):
        if not st.S_ISREG(mode := os.stat(path).st_mode):
            raise NotAFile(f"{shown!r} is {'a directory' if st.S_ISDIR(mode) else 'not a regular file'}")
    try:
        fd = os.open(path, flags | _NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SandboxFileNotFound(f"{shown!r} does not exist") from None
    except IsADirectoryError:
        raise NotAFile(f"{shown!r} is a directory, not a file") from None
    except OSError as exc:
        raise SandboxError(f"cannot open {shown!r}: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not st.S_ISREG(mode):
        os.close(fd)
        what = "a directory" if st.S_ISDIR(mode) else "not a regular file"
        raise NotAFile(f"{shown!r} is {what}")
    os.set_blocking(fd, True)
    return fd


def read_file(ws: Workspace, path: str, limit: int) -> FileContent:
    resolved = ws.existing(path)
    fd = _open_regular(resolved.real, path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(fd).st_size
        data = handle.read(limit)
        truncated = len(data) < size or bool(handle.read(1))
    if b"\x00" in data[:BINARY_SNIFF]:
        return FileContent(resolved.rel, None, size, binary=True, truncated=truncated)
    # An incremental decoder drops a multi-byte character cut in half by the limit instead of mangling it.
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(data, final=not truncated)
    return FileContent(resolved.rel, text.replace("\x00", "\ufffd"), size, truncated=truncated)


def read_bytes(ws: Workspace, path: str) -> bytes:
    resolved = ws.existing(path)
    with os.fdopen(_open_regular(resolved.real, path, os.O_RDONLY), "rb") as handle:
        return handle.read()


def write_file(ws: Workspace, path: str, content: str | bytes) -> FileInfo:
    resolved = ws.resolve(path)
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    if resolved.real == ws.root or resolved.real.is_dir():
        raise NotAFile(f"{path!r} is a directory, not a file")
    parent = resolved.real.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotAFile(f"cannot create {path!r}: a parent is not a directory") from None
    # The parent may have been swapped for a symlink since `resolve`: check again right before writing.
    if not ws.contains(Path(os.path.realpath(parent))):
        raise SandboxError(f"{path!r}: its directory changed while writing")
    fd = _open_regular(resolved.real, path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        result = os.fstat(handle.fileno())
    return _info(resolved.rel, result)


def write_many(ws: Workspace, files: Mapping[str, bytes]) -> None:
    for path in files:  # refuse the whole batch before writing anything
        ws.resolve(path)
    for path, data in files.items():
        write_file(ws, path, data)


def stat_path(ws: Workspace, path: str) -> FileInfo:
    resolved = ws.existing(path)
    try:
        return _info(resolved.rel, os.stat(resolved.real))
    except FileNotFoundError:
        raise SandboxFileNotFound(f"{path!r} does not exist") from None


def list_dir(ws: Workspace, path: str, depth: int) -> list[FileInfo]:
    """Entries under `path` down to `depth` levels, sorted; symlinks are reported, never followed."""
    resolved = ws.directory(path)
    out: list[FileInfo] = []

    def walk(directory: Path, rel: str, level: int) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            child = entry.name if rel == "." else f"{rel}/{entry.name}"
            try:
                info = _info(child, entry.stat(follow_symlinks=False))
            except OSError:
                continue
            out.append(info)
            if info.kind is FileKind.DIRECTORY and level < depth and entry.name not in SKIP_DESCENT:
                walk(Path(entry.path), child, level + 1)

    walk(resolved.real, resolved.rel, 1)
    return out
