"""Opening a path inside a directory with the guarantee that resolution never leaves it: openat2(2) with
RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS (Linux 5.6+), else an equivalent descriptor walk (`sandbox/fdwalk.py`).

A command inside the sandbox may swap any directory for a symlink at any moment (`renameat2(RENAME_EXCHANGE)`); a
path check followed by an open would race it. Here the kernel resolves every component relative to the root's
descriptor and fails with EXDEV the moment resolution would leave it (a `..` past the root, an absolute symlink, a
symlink to outside), so what is opened is always inside, whatever happens meanwhile. Synchronous: call from a thread.

Which one: the first call probes openat2 once. ENOSYS means a kernel older than 5.6 (Debian 10, Ubuntu 18.04, RHEL 8)
or a seccomp filter that answers ENOSYS (systemd's RestrictSUIDSGID= refuses every openat2 that way since v248);
EPERM means a seccomp profile that refuses it: Docker's default profile allows openat2 since Docker 20.10
(moby#41353) but before that refused every call it did not list with EPERM, and copies of that old profile (and
systemd 247) still do. openat2's arguments live in memory seccomp cannot read, so a profile allows it for every use
or for none: one probe decides for the process.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import platform
from collections.abc import Callable

from sandbox.base import PathOutsideWorkspace, SandboxError
from sandbox.fdwalk import open_walk

SYS_OPENAT2 = 437  # the same number on every architecture (it came after the syscall table unification)
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_BENEATH = 0x08
RETRIES = 1000
UNAVAILABLE = (errno.ENOSYS, errno.EPERM, errno.EINVAL, errno.E2BIG)
"""What the probe's openat2 fails with when it cannot be used: no such call, refused by seccomp, flags unknown."""
_libc = ctypes.CDLL(None, use_errno=True)
log = logging.getLogger(__name__)

Opener = Callable[[int, str, int, int], int]
FORCE: Opener | None = None
"""The implementation to use instead of probing (tests run everything over both)."""
_chosen: Opener | None = None


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


class Unsupported(SandboxError):
    """This system has no openat2 (Linux < 5.6) or refuses it."""


def open_beneath(root_fd: int, rel: str, flags: int, mode: int = 0o666) -> int:
    """A descriptor for `rel` (relative to `root_fd`), resolved without ever leaving that directory.

    Raises PathOutsideWorkspace when resolution would leave it, or the OSError of the open (FileNotFoundError...).
    """
    return (FORCE or _chosen or _choose(root_fd))(root_fd, rel, flags, mode)


def implementation() -> Opener | None:
    """The implementation chosen by the probe (None before the first call)."""
    return _chosen


def _choose(root_fd: int) -> Opener:
    global _chosen
    if platform.system() != "Linux":
        raise Unsupported("confined file operations need Linux")
    err = _openat2(root_fd, ".", os.O_PATH, 0)
    if err >= 0:
        os.close(err)
        _chosen = openat2_beneath
        return _chosen
    err = ctypes.get_errno()
    if err not in UNAVAILABLE:  # (EMFILE...): say nothing for good, walk this time
        return open_walk
    log.warning(
        "openat2 is unavailable here (%s): file operations resolve paths by a descriptor walk instead", os.strerror(err)
    )
    _chosen = open_walk
    return _chosen


def _openat2(root_fd: int, rel: str, flags: int, mode: int) -> int:
    how = _OpenHow(flags | os.O_CLOEXEC, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
    return int(_libc.syscall(SYS_OPENAT2, root_fd, os.fsencode(rel), ctypes.byref(how), ctypes.sizeof(how)))


def openat2_beneath(root_fd: int, rel: str, flags: int, mode: int = 0o666) -> int:
    """`open_beneath` by openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS); Unsupported when the kernel has none."""
    if "\x00" in rel:  # (the kernel would read the path only up to it)
        raise ValueError("embedded null byte")
    tmpfile = getattr(os, "O_TMPFILE", 0)
    creates = bool(flags & os.O_CREAT) or (tmpfile != 0 and flags & tmpfile == tmpfile)
    for _ in range(RETRIES):
        fd = _openat2(root_fd, rel, flags, mode if creates else 0)  # a mode without O_CREAT is EINVAL
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err in (errno.EINTR, errno.EAGAIN):  # EAGAIN: a rename raced the lookup; the kernel asks to retry
            continue
        if err == errno.EXDEV:
            raise PathOutsideWorkspace(f"{rel!r} resolves outside the workspace")
        if err == errno.ENOSYS:
            raise Unsupported("this kernel has no openat2 (Linux 5.6 or later is needed)")
        raise OSError(err, os.strerror(err), rel)
    raise SandboxError(f"{rel!r}: the workspace keeps changing under this path; try again")
