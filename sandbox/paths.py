"""Confinement: every path a caller names must resolve (through `..`, absolute paths and symlinks) inside the
workspace."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sandbox.base import NotAFile, PathOutsideWorkspace, SandboxError, SandboxFileNotFound


@dataclass(frozen=True, slots=True)
class Resolved:
    real: Path
    """The absolute path with every symlink resolved; always inside the workspace."""
    rel: str
    """The path as the caller named it, relative to the root with forward slashes ('.' for the root)."""


class Workspace:
    """A directory that file operations may not leave. `root` is fully resolved."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        real = Path(os.path.realpath(root))
        if not real.is_dir():
            raise SandboxFileNotFound(f"workspace {str(root)!r} does not exist or is not a directory")
        self.root = real
        self._root_str = str(real)
        self._prefix = self._root_str.rstrip("/") + "/"

    def contains(self, path: Path) -> bool:
        return path == self.root or path.is_relative_to(self.root)

    def resolve(self, path: str | os.PathLike[str]) -> Resolved:
        """Resolve `path` (relative to the root, or absolute) or raise PathOutsideWorkspace.

        Symlinks are followed wherever they are, including a final component that does not exist yet
        (a dangling link to outside is refused too), so writing *through* a link cannot leave the workspace.
        """
        raw = os.fspath(path)
        if "\x00" in raw:
            raise PathOutsideWorkspace(f"{raw!r}: paths cannot contain NUL bytes")
        lexical = Path(os.path.normpath(self.root / raw))  # an absolute `raw` replaces the root
        try:
            real = Path(os.path.realpath(lexical))
        except OSError as exc:  # a component changed under us (a command racing the call)
            raise SandboxError(f"{raw!r} cannot be resolved: {exc.strerror}") from None
        if not self.contains(real):
            raise PathOutsideWorkspace(f"{raw!r} resolves outside the workspace ({self.root})")
        shown = lexical if self.contains(lexical) else real
        return Resolved(real, self.relative(shown))

    def lexical(self, path: str | os.PathLike[str]) -> str:
        """`path` relative to the root ('.' for the root), by string work only (no filesystem access), or
        PathOutsideWorkspace when it names a place outside (`..` past the root, an absolute path elsewhere).

        Symlinks are not looked at: the caller opens the result with `open_beneath`, where the kernel refuses any
        resolution that leaves the root."""
        raw = os.fspath(path)
        if "\x00" in raw:
            raise PathOutsideWorkspace(f"{raw!r}: paths cannot contain NUL bytes")
        root = self._root_str
        full = os.path.normpath(os.path.join(root, raw))
        if full == root:
            return "."
        if not full.startswith(self._prefix):
            raise PathOutsideWorkspace(f"{raw!r} resolves outside the workspace ({root})")
        return full[len(self._prefix) :]

    def relative(self, path: Path) -> str:
        return "." if path == self.root else path.relative_to(self.root).as_posix()

    def existing(self, path: str | os.PathLike[str]) -> Resolved:
        resolved = self.resolve(path)
        if not os.path.lexists(resolved.real):
            raise SandboxFileNotFound(f"{os.fspath(path)!r} does not exist")
        return resolved

    def directory(self, path: str | os.PathLike[str]) -> Resolved:
        resolved = self.existing(path)
        if not resolved.real.is_dir():
            raise NotAFile(f"{os.fspath(path)!r} is not a directory")
        return resolved
