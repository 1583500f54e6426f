"""Opening a path inside a directory with the kernel's guarantee that resolution never leaves it: openat2(2) with
RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS (Linux 5.6+).

A command inside the sandbox may swap any directory for a symlink at any moment (`renameat2(RENAME_EXCHANGE)`); a
path check followed by an open would race it. Here the kernel resolves every component relative to the root's
descriptor and fails with EXDEV the moment resolution would leave it (a `..` past the root, an absolute symlink, a
symlink to outside), so what is opened is always inside, whatever happens meanwhile. Synchronous: call from a thread.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform

from sandbox.base import PathOutsideWorkspace, SandboxError

SYS_OPENAT2 = 437  # the same number on every architecture (it came after the syscall table unification)
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_BENEATH = 0x08
RETRIES = 1000
_libc = ctypes.CDLL(None, use_errno=True)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


class Unsupported(SandboxError):
    """This kernel has no openat2 (Linux < 5.6)."""


def open_beneath(root_fd: int, rel: str, flags: int, mode: int = 0o666) -> int:
    """A descriptor for `rel` (relative to `root_fd`), resolved without ever leaving that directory.

    Raises PathOutsideWorkspace when resolution would leave it, or the OSError of the open (FileNotFoundError...).
    """
    if platform.system() != "Linux":
        raise Unsupported("openat2 needs Linux")
    tmpfile = getattr(os, "O_TMPFILE", 0)
    creates = bool(flags & os.O_CREAT) or (tmpfile != 0 and flags & tmpfile == tmpfile)
    how = _OpenHow(flags | os.O_CLOEXEC, mode if creates else 0, 0)  # a mode without O_CREAT is EINVAL
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS
    for _ in range(RETRIES):
        fd = _libc.syscall(SYS_OPENAT2, root_fd, os.fsencode(rel), ctypes.byref(how), ctypes.sizeof(how))
        if fd >= 0:
            return int(fd)
        err = ctypes.get_errno()
        if err in (errno.EINTR, errno.EAGAIN):  # EAGAIN: a rename raced the lookup; the kernel asks to retry
            continue
        if err == errno.EXDEV:
            raise PathOutsideWorkspace(f"{rel!r} resolves outside the workspace")
        if err == errno.ENOSYS:
            raise Unsupported("this kernel has no openat2 (Linux 5.6 or later is needed)")
        raise OSError(err, os.strerror(err), rel)
    raise SandboxError(f"{rel!r}: the workspace keeps changing under this path; try again")
