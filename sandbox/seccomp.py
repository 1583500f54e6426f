"""The seccomp filter every bubblewrap sandbox runs under, compiled with libseccomp (Debian's `libseccomp2`).

The filter allows everything except the system calls that break confinement, which fail with EPERM:
the mount family, namespace creation and joining (`unshare`, `setns`, `clone` with a CLONE_NEW* flag), ptrace and
cross-process memory access, the kernel keyring, bpf, perf_event_open, module and kexec loading, userfaultfd,
io_uring, swap/reboot/clock/quota administration, open_by_handle_at. `clone3` fails with ENOSYS (its flags live in
memory a filter cannot read), so the C library falls back to `clone`, which the filter checks. Calls of another
architecture (i386) are refused by libseccomp's bad-architecture action; x32 calls are filtered like native ones.

The program is compiled once per process (`program()`, blocking: call it from a thread) and handed to bubblewrap
through `--seccomp FD`: bwrap sets no_new_privs and loads it just before it executes the sandbox's runner, so every
command inherits it at no cost per command.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os

from sandbox.base import IsolationUnavailable

ALLOW = 0x7FFF0000
ERRNO = 0x00050000
MASKED_EQ = 7
DENIED = (
    # the mount family
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    # namespaces
    "unshare",
    "setns",
    # other processes' memory
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    # kernel attack surface
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "fanotify_init",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    # administration
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "vhangup",
    "uselib",
)
CLONE_NEW_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)


class _Cmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        raise IsolationUnavailable("libseccomp is missing; install it with `apt-get install libseccomp2`") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_arch_native.restype = ctypes.c_uint32
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_Cmp),
    ]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _check(rc: int, what: str) -> None:
    if rc < 0:
        raise IsolationUnavailable(f"libseccomp: {what} failed: {os.strerror(-rc)}")


@functools.cache
def program() -> bytes:
    """The compiled BPF program (struct sock_filter[]), as bwrap's `--seccomp` expects it."""
    lib = _library()
    ctx = lib.seccomp_init(ALLOW)
    if not ctx:
        raise IsolationUnavailable("libseccomp: seccomp_init failed")
    try:
        if lib.seccomp_arch_native() == lib.seccomp_arch_resolve_name(b"x86_64"):
            _check(lib.seccomp_arch_add(ctx, lib.seccomp_arch_resolve_name(b"x32")), "adding the x32 ABI")
        eperm = ERRNO | errno.EPERM
        for name in DENIED:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr < 0:  # not a system call on this architecture (e.g. iopl on arm64)
                continue
            _check(lib.seccomp_rule_add_array(ctx, eperm, nr, 0, None), f"denying {name}")
        clone = lib.seccomp_syscall_resolve_name(b"clone")
        for flag in CLONE_NEW_FLAGS:
            cmp = _Cmp(0, MASKED_EQ, flag, flag)
            _check(lib.seccomp_rule_add_array(ctx, eperm, clone, 1, ctypes.byref(cmp)), "filtering clone")
        clone3 = lib.seccomp_syscall_resolve_name(b"clone3")
        if clone3 >= 0:
            _check(lib.seccomp_rule_add_array(ctx, ERRNO | errno.ENOSYS, clone3, 0, None), "refusing clone3")
        fd = os.memfd_create("open-swe-seccomp", os.MFD_CLOEXEC)
        try:
            _check(lib.seccomp_export_bpf(ctx, fd), "exporting the filter")
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)
