"""File operations on a host directory, confined by the kernel. Synchronous: callers run them in a thread.

`Workspace.resolve` refuses a path that names or resolves outside the workspace (with a clear message), then every
open goes through `open_beneath` (openat2 with RESOLVE_BENEATH, or the descriptor walk of `sandbox/fdwalk.py` where
openat2 is missing) from a descriptor of the workspace's root, so a command racing the operation (swapping a
directory for a symlink to outside) cannot make it read or write outside.
Directories are created one level at a time with mkdirat in a directory opened that way; listings read directories
through descriptors and never descend into symlinks.
"""

from __future__ import annotations

import contextlib
import os
import stat as st
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath

from sandbox.base import FileContent, FileInfo, FileKind, NotAFile, SandboxError, SandboxFileNotFound
from sandbox.beneath import open_beneath
from sandbox.output import decode_file
from sandbox.paths import Workspace

SKIP_DESCENT = frozenset({".git"})
"""Directories listed but never descended into by `list_dir` (their content is noise for an agent)."""


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


@contextlib.contextmanager
def _root(ws: Workspace) -> Iterator[int]:
    fd = os.open(ws.root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def _open(root: int, rel: str, shown: str, flags: int, mode: int = 0o666) -> int:
    try:
        return open_beneath(root, rel, flags, mode)
    except FileNotFoundError:
        raise SandboxFileNotFound(f"{shown!r} does not exist") from None
    except (IsADirectoryError, NotADirectoryError):
        raise NotAFile(f"{shown!r}: a directory where a file is needed, or the other way round") from None
    except OSError as exc:
        raise SandboxError(f"cannot open {shown!r}: {exc.strerror}") from None


def _open_regular(root: int, rel: str, shown: str, flags: int) -> int:
    """Open a regular file (never blocking on a FIFO: O_NONBLOCK until it is known to be regular)."""
    try:
        fd = _open(root, rel, shown, flags | os.O_NONBLOCK)
    except SandboxError as exc:
        if "No such device" in str(exc):  # ENXIO: a FIFO opened for writing with no reader
            raise NotAFile(f"{shown!r} is not a regular file") from None
        raise
    mode = os.fstat(fd).st_mode
    if not st.S_ISREG(mode):
        os.close(fd)
        raise NotAFile(f"{shown!r} is {'a directory' if st.S_ISDIR(mode) else 'not a regular file'}")
    os.set_blocking(fd, True)
    return fd


def read_file(ws: Workspace, path: str, limit: int) -> FileContent:
    rel = ws.lexical(path)
    with _root(ws) as root, os.fdopen(_open_regular(root, rel, path, os.O_RDONLY), "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        data = handle.read(min(limit, size) + 1)  # (not `read(limit)`: it would allocate the whole limit)
        if len(data) == size + 1 and size < limit:  # it grew since: read on, up to the limit
            data += handle.read(limit - size)
        truncated = len(data) > limit
        data = data[:limit]
    text = decode_file(data, final=not truncated)
    return FileContent(rel, text, size, binary=text is None, truncated=truncated)


def read_bytes(ws: Workspace, path: str) -> bytes:
    rel = ws.lexical(path)
    with _root(ws) as root, os.fdopen(_open_regular(root, rel, path, os.O_RDONLY), "rb") as handle:
        return handle.read()


def _make_parents(root: int, rel: str, shown: str) -> None:
    """Create the missing directories of `rel`'s parent, each inside a directory opened beneath the root."""
    parts = PurePosixPath(rel).parts[:-1]
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        try:
            os.close(_open(root, prefix, shown, os.O_PATH | os.O_DIRECTORY))
            continue
        except SandboxFileNotFound:
            pass
        parent = _open(root, "/".join(parts[: depth - 1]) or ".", shown, os.O_PATH | os.O_DIRECTORY)
        try:
            os.mkdir(parts[depth - 1], dir_fd=parent)
        except FileExistsError:
            pass  # made meanwhile (or a file: the next open says so)
        finally:
            os.close(parent)


def write_file(ws: Workspace, path: str, content: str | bytes) -> FileInfo:
    rel = ws.lexical(path)
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    if rel == ".":
        raise NotAFile(f"{path!r} is a directory, not a file")
    with _root(ws) as root:
        try:
            _make_parents(root, rel, path)
        except NotAFile:
            raise NotAFile(f"cannot create {path!r}: a parent is not a directory") from None
        fd = _open_regular(root, rel, path, os.O_WRONLY | os.O_CREAT)
        with os.fdopen(fd, "wb") as handle:
            handle.truncate(0)  # only now that it is known to be a regular file
            handle.write(data)
            handle.flush()
            result = os.fstat(handle.fileno())
    return _info(rel, result)


def write_many(ws: Workspace, files: Mapping[str, bytes]) -> None:
    for path in files:  # refuse the whole batch before writing anything
        ws.resolve(path)  # (symlinks to outside included: a clear error before the first write)
    for path, data in files.items():
        write_file(ws, path, data)


def stat_path(ws: Workspace, path: str) -> FileInfo:
    rel = ws.lexical(path)
    with _root(ws) as root:
        fd = _open(root, rel, path, os.O_PATH)
        try:
            return _info(rel, os.fstat(fd))
        finally:
            os.close(fd)


def list_dir(ws: Workspace, path: str, depth: int) -> list[FileInfo]:
    """Entries under `path` down to `depth` levels, sorted; symlinks are reported, never followed."""
    rel = ws.lexical(path)
    out: list[FileInfo] = []

    def walk(fd: int, prefix: str, level: int) -> None:
        try:
            entries = sorted(os.scandir(fd), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            child = entry.name if prefix == "." else f"{prefix}/{entry.name}"
            try:
                info = _info(child, entry.stat(follow_symlinks=False))
            except OSError:
                continue
            out.append(info)
            if info.kind is FileKind.DIRECTORY and level < depth and entry.name not in SKIP_DESCENT:
                try:
                    sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except OSError:
                    continue  # swapped for a symlink or removed meanwhile: not descended into
                try:
                    walk(sub, child, level + 1)
                finally:
                    os.close(sub)

    with _root(ws) as root:
        top = _open(root, rel, path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            walk(top, rel, 1)
        finally:
            os.close(top)
    return out
