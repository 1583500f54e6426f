"""`open_beneath` without openat2 (Linux < 5.6, or a seccomp profile that refuses it): the same guarantee by walking
the path one component at a time from the root's descriptor.

Every component is opened with `O_NOFOLLOW` relative to the descriptor of its parent, so the kernel never follows a
symlink on its own: a symlink met on the way is read with `readlink` and its target spliced into the rest of the path,
to be walked the same way. `..` pops back to the parent's descriptor (kept on a stack) and never goes above the root;
an absolute target or a `..` above the root is `PathOutsideWorkspace` (what RESOLVE_BENEATH's EXDEV means), more than
40 links is ELOOP (the kernel's limit). A command swapping a directory for a symlink at any moment cannot make the walk
leave the root: what it finds at each step is either a directory it holds by descriptor, or a symlink it resolves
itself. Magic links (`/proc/self/fd/N`) are never followed: their readlink text is absolute (or not a path at all).

As with openat2, what is opened was inside the root when it was reached. A directory moved out of the root while the
walk holds its descriptor would take the walk with it (the kernel's final `path_is_under` check refuses that; this walk
does not): moving a directory out of the workspace needs write access outside it (rename(2) does not cross the bind
mount an isolated command sees), so a command that can do that is not confined anyway. Synchronous: call from a thread.
"""

from __future__ import annotations

import errno
import os
import stat as st
from collections import deque

from sandbox.base import PathOutsideWorkspace, SandboxError

MAX_LINKS = 40  # the kernel's MAXSYMLINKS
PATH_MAX = 4096
RETRIES = 1000
_STEP = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_walk(root_fd: int, rel: str, flags: int, mode: int = 0o666) -> int:
    """A descriptor for `rel` (relative to `root_fd`), resolved without ever leaving that directory.

    The same results as `beneath.openat2_beneath`: PathOutsideWorkspace when resolution would leave the root, else
    the OSError of the open (FileNotFoundError, NotADirectoryError...) with `rel` as its file name.
    """
    if not rel:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), rel)
    if "\x00" in rel:
        raise ValueError("embedded null byte")
    if len(os.fsencode(rel)) >= PATH_MAX:  # the kernel's limit for a path it is given (a link's target: the same)
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), rel)
    if rel.startswith("/"):
        raise PathOutsideWorkspace(f"{rel!r} resolves outside the workspace")
    parts = deque(rel.split("/"))
    stack: list[int] = []  # the descriptors of the directories walked into (the root is the caller's)
    links = 0
    try:
        while True:
            name = parts.popleft() or "."
            if name == "..":
                if not stack:
                    raise PathOutsideWorkspace(f"{rel!r} resolves outside the workspace")
                os.close(stack.pop())
                name = "."
            if name == "." and parts:
                continue
            if flags & os.O_CREAT and parts and not any(parts) and name != ".":  # `name/`: O_CREAT makes no directory
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), rel)
            here = stack[-1] if stack else root_fd
            if parts:
                got = _open_or_link(name, here, _STEP, 0)
            elif name == "." or flags & os.O_NOFOLLOW:
                return os.open(name, flags | os.O_CLOEXEC, mode, dir_fd=here)
            else:
                got = _open_or_link(name, here, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
            if isinstance(got, int):
                if not parts:
                    return got
                stack.append(got)
                continue
            links += 1
            if links > MAX_LINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), rel)
            if got.startswith("/"):
                raise PathOutsideWorkspace(f"{rel!r} resolves outside the workspace (through a link to {got!r})")
            parts.extendleft(reversed(got.split("/")))
    except OSError as exc:
        if exc.filename == rel:
            raise
        raise OSError(exc.errno, exc.strerror, rel) from None  # (OSError(errno...) is the matching subclass)
    finally:
        for fd in stack:
            os.close(fd)


def _open_or_link(name: str, here: int, flags: int, mode: int) -> int | str:
    """`name` in the directory `here` opened with `flags` (which hold O_NOFOLLOW), or its target when it is a
    symlink. A symlink opened with O_NOFOLLOW fails with ENOTDIR (O_DIRECTORY) or ELOOP, or with O_PATH alone gives
    the link itself; if it changes between the open and the readlink, look again."""
    for _ in range(RETRIES):
        try:
            fd = os.open(name, flags, mode, dir_fd=here)
        except OSError as exc:
            if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
                raise
            failure: OSError | None = exc
        else:
            if not flags & os.O_PATH or flags & os.O_DIRECTORY or not st.S_ISLNK(os.fstat(fd).st_mode):
                return fd
            os.close(fd)
            failure = None
        try:
            return os.readlink(name, dir_fd=here)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                continue  # removed meanwhile: the open says what is there now
            if exc.errno != errno.EINVAL:
                raise
        # not a symlink: a genuine ENOTDIR (a file where a directory is needed), or swapped back meanwhile
        if (
            failure is not None
            and failure.errno == errno.ENOTDIR
            and not st.S_ISDIR(os.stat(name, dir_fd=here, follow_symlinks=False).st_mode)
        ):
            raise failure
    raise SandboxError(f"{name!r}: the workspace keeps changing under this path; try again")
