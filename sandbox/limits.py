"""Resource limits for local sandboxes: a cgroup per sandbox capping its processes and its memory.

The sandbox's runner is moved into `<hierarchy>/open-swe/<sandbox>` right after it starts (before any command), so
every command it forks inherits the limits.

Without a writable cgroup (an unprivileged service user), an isolated (bwrap) sandbox still gets its process cap from
`RLIMIT_NPROC`, set on its processes inside its own user namespace (memory stays uncapped). Since Linux 5.14 that
count is per (user namespace, uid): `copy_process` refuses a fork when `is_rlimit_overlimit` finds the count of the
sandbox's (namespace, uid) above the caller's RLIMIT_NPROC, or a parent level's count above the limit its creator had
(bwrap's, normally unlimited): so it counts the sandbox's processes only, not the service user's others. The check is
skipped for real uid 0 (INIT_USER) and for holders of CAP_SYS_RESOURCE/CAP_SYS_ADMIN in the initial namespace, which
a sandboxed command of an unprivileged service never has. It does not do for root (INIT_USER: skipped, hence cgroups),
nor for isolation=none (no namespace of its own: the count would be all of the service user's processes).
Two cgroup layouts are supported:
  cgroup v2: one hierarchy at `root` (`cgroup.controllers` there); `pids` and `memory` enabled in `subtree_control`
             on the way down; limits `pids.max`, `memory.max` (and `memory.swap.max` 0: the cap is RAM plus swap).
  cgroup v1: `root/pids` and `root/memory`; limits `pids.max`, `memory.limit_in_bytes` (and `memory.memsw.*`).
Everything here is blocking file I/O: call it from a thread.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import logging
import os
import re
import resource
import secrets
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sandbox.base import IsolationUnavailable
from sandbox.runner_main import descendants
from sandbox.settings import ResourceLimits, SandboxSettings

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("/sys/fs/cgroup")
GROUP = "open-swe"
CONTROLLERS = ("pids", "memory")
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class LimitsUnavailable(IsolationUnavailable):
    """SANDBOX_RESOURCE_LIMITS=required but no writable cgroup (with the pids and memory controllers) is available."""


class Mechanism(StrEnum):
    CGROUP_V2 = "cgroup-v2"
    CGROUP_V1 = "cgroup-v1"
    RLIMIT_NPROC = "rlimit-nproc"
    """RLIMIT_NPROC in the sandbox's user namespace: processes capped, memory not (see the module's docstring)."""


@dataclass(frozen=True, slots=True)
class Support:
    """What this machine offers under one cgroup root: a mechanism and its hierarchies, or why there is none."""

    mechanism: Mechanism | None
    hierarchies: tuple[Path, ...] = ()
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """The limits one sandbox runs under, and where: one cgroup directory per hierarchy."""

    mechanism: Mechanism
    max_processes: int
    max_memory_bytes: int
    """0: not capped (RLIMIT_NPROC)."""
    paths: tuple[Path, ...]
    """The cgroup directories (none with RLIMIT_NPROC)."""


@functools.cache
def detect(root: Path = DEFAULT_ROOT) -> Support:
    """Which cgroup layout is usable under `root` (looked up once per root; writes nothing)."""
    if (root / "cgroup.controllers").is_file():
        available = set((root / "cgroup.controllers").read_text().split())
        missing = [c for c in CONTROLLERS if c not in available]
        if missing:
            return Support(None, problem=f"cgroup v2 at {root} lacks the {' and '.join(missing)} controller(s)")
        return _writable(Mechanism.CGROUP_V2, (root,))
    v1 = tuple(root / c for c in CONTROLLERS)
    if all((h / "cgroup.procs").is_file() for h in v1):
        return _writable(Mechanism.CGROUP_V1, v1)
    if not root.is_dir():
        return Support(None, problem=f"no cgroup filesystem at {root} (it does not exist)")
    return Support(None, problem=f"no cgroup v2 with pids and memory, nor cgroup v1 pids/ and memory/, at {root}")


def _writable(mechanism: Mechanism, hierarchies: tuple[Path, ...]) -> Support:
    for h in hierarchies:
        target = h / GROUP if (h / GROUP).is_dir() else h
        if not os.access(target, os.W_OK):
            problem = f"{target} is not writable (run as root, or delegate that cgroup to this user)"
            return Support(None, problem=problem)
    return Support(mechanism, hierarchies)


def cgroup_name(sandbox_id: str) -> str:
    """A directory name for the sandbox: readable, unique per call (two sandboxes never share a cgroup)."""
    digest = hashlib.sha256(sandbox_id.encode()).hexdigest()[:8]
    return f"{UNSAFE.sub('_', sandbox_id).strip('_.')[-48:]}-{digest}-{secrets.token_hex(3)}"


def create(support: Support, sandbox_id: str, *, max_processes: int, max_memory_mb: int) -> Applied:
    """Make the sandbox's cgroup(s) and write the limits. Raises OSError when the kernel refuses."""
    assert support.mechanism is not None
    v2, name = support.mechanism is Mechanism.CGROUP_V2, cgroup_name(sandbox_id)
    paths = tuple(_parent(h, v2=v2) / name for h in support.hierarchies)
    for parent in {path.parent for path in paths}:
        prune(parent)
    applied = Applied(support.mechanism, max_processes, max_memory_mb * 1024 * 1024, paths)
    _make(applied)
    return applied


def _make(applied: Applied) -> None:
    made: list[Path] = []
    try:
        for path in applied.paths:
            path.mkdir()
            made.append(path)
        if applied.mechanism is Mechanism.CGROUP_V2:
            (path,) = applied.paths
            _write(path / "pids.max", applied.max_processes)
            _write(path / "memory.max", applied.max_memory_bytes)
            if (path / "memory.swap.max").exists():
                _write(path / "memory.swap.max", 0)
        else:
            pids, memory = applied.paths
            _write(pids / "pids.max", applied.max_processes)
            _write(memory / "memory.limit_in_bytes", applied.max_memory_bytes)
            if (memory / "memory.memsw.limit_in_bytes").exists():  # only with swap accounting on
                _write(memory / "memory.memsw.limit_in_bytes", applied.max_memory_bytes)
    except BaseException:
        _remove_dirs(made)
        raise


def prune(parent: Path, *, older_than: float = 60.0) -> None:
    """Remove sandboxes' cgroups left empty by a service that died without closing them (a busy one refuses)."""
    now = time.time()
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False) and now - entry.stat().st_mtime > older_than:
                os.rmdir(entry.path)
                log.info("removed the stale empty cgroup %s", entry.path)
        except OSError:
            continue


def _parent(hierarchy: Path, *, v2: bool) -> Path:
    """`<hierarchy>/open-swe`, created if needed; on v2 with both controllers enabled for its children."""
    parent = hierarchy / GROUP
    if v2:
        _enable(hierarchy)
    parent.mkdir(exist_ok=True)
    if v2:
        _enable(parent)
    return parent


def _enable(path: Path) -> None:
    enabled = set((path / "cgroup.subtree_control").read_text().split())
    for controller in CONTROLLERS:
        if controller not in enabled:
            _write(path / "cgroup.subtree_control", f"+{controller}")


def _write(path: Path, value: object) -> None:
    with open(path, "w") as f:
        f.write(str(value))


def add(applied: Applied, pids: Iterable[int]) -> None:
    """Move processes (parents before children) into the sandbox's cgroup(s), made again if pruned meanwhile."""
    if not all(path.is_dir() for path in applied.paths):
        _remove_dirs([path for path in applied.paths if path.is_dir()])
        for path in applied.paths:
            _parent(path.parent.parent, v2=applied.mechanism is Mechanism.CGROUP_V2)
        _make(applied)
    for pid in pids:
        for path in applied.paths:
            _write(path / "cgroup.procs", pid)


def members(applied: Applied) -> set[int]:
    found: set[int] = set()
    for path in applied.paths:
        try:
            found.update(int(line) for line in (path / "cgroup.procs").read_text().split())
        except OSError:
            continue
    return found


def remove(applied: Applied, *, timeout: float = 5.0) -> None:
    """Kill whatever is still in the cgroup (normally nothing: the runner cleans up), then remove it."""
    deadline = time.monotonic() + timeout
    while (left := members(applied)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    if left:
        log.warning("cgroup %s still holds processes %s; left in place", applied.paths[0], sorted(left)[:10])
        return
    _remove_dirs(list(applied.paths))


def _remove_dirs(paths: list[Path]) -> None:
    """The sandbox's own directories; the shared open-swe/ stays (removing it would race other sandboxes' creation)."""
    for path in paths:
        try:
            path.rmdir()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("cannot remove the cgroup %s: %s", path, exc.strerror or exc)


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, parents first (a freshly started runner: bwrap, its init, the runner)."""
    return [pid, *descendants(pid)]


def establish(settings: SandboxSettings, sandbox_id: str, *, user_namespace: bool = False) -> Applied | None:
    """The sandbox's cgroup per `settings.resource_limits`: created, or None (auto, nothing usable). Without a usable
    cgroup, in auto mode, a sandbox in its own user namespace (`user_namespace`: bwrap) of a service not running as
    root gets RLIMIT_NPROC instead (applied by `enter`).

    Raises LimitsUnavailable when they are required and cannot be had.
    """
    support = detect(settings.cgroup_root)
    problem = support.problem
    if support.mechanism is not None:
        try:
            applied = create(
                support, sandbox_id, max_processes=settings.max_processes, max_memory_mb=settings.max_memory_mb
            )
        except OSError as exc:
            problem = f"creating a cgroup under {support.hierarchies[0] / GROUP} failed: {exc.strerror or exc}"
        else:
            _once(
                logging.INFO,
                f"sandbox resource limits: {applied.mechanism} under {settings.cgroup_root}, "
                f"{settings.max_processes} processes and {settings.max_memory_mb} MiB per sandbox",
            )
            return applied
    if settings.resource_limits is ResourceLimits.REQUIRED:
        raise LimitsUnavailable(f"SANDBOX_RESOURCE_LIMITS=required but {problem}")
    if user_namespace and os.getuid() != 0:
        _once(
            logging.WARNING,
            f"sandbox resource limits: {settings.max_processes} processes per sandbox by RLIMIT_NPROC in its user "
            f"namespace, memory not capped ({problem})",
        )
        return Applied(Mechanism.RLIMIT_NPROC, settings.max_processes, 0, ())
    _once(
        logging.WARNING,
        f"sandbox resource limits: none (SANDBOX_RESOURCE_LIMITS=auto and {problem}); "
        "a runaway command can exhaust this machine",
    )
    return None


def enter(applied: Applied, pid: int, *, required: bool) -> bool:
    """Move a freshly started runner (and bwrap's processes around it) into the cgroup, or set its RLIMIT_NPROC;
    False if that failed (auto)."""
    try:
        if applied.mechanism is Mechanism.RLIMIT_NPROC:
            limit_nproc(applied.max_processes, pid)
        else:
            add(applied, process_tree(pid))
    except OSError as exc:
        where = "RLIMIT_NPROC" if not applied.paths else applied.paths[0]
        problem = f"putting the sandbox's runner under {where} failed: {exc.strerror or exc}"
        if required:
            raise LimitsUnavailable(f"SANDBOX_RESOURCE_LIMITS=required but {problem}") from None
        log.warning("sandbox resource limits: none for this runner (%s)", problem)
        return False
    return True


def limit_nproc(max_processes: int, pid: int) -> None:
    """Set RLIMIT_NPROC (soft and hard: a command cannot raise it) on a freshly started sandbox's processes that are
    in a user namespace other than this process's (bwrap's init and the runner; not bwrap outside it, whose count is
    the service user's). Raises OSError when there is none: there the limit would count the service user's processes."""
    own = os.stat("/proc/self/ns/user").st_ino
    inside = [p for p in process_tree(pid) if os.stat(f"/proc/{p}/ns/user").st_ino != own]
    if not inside:
        raise OSError(errno.ESRCH, "the runner has no user namespace of its own")
    for p in inside:
        resource.prlimit(p, resource.RLIMIT_NPROC, (max_processes, max_processes))


@functools.cache
def _once(level: int, message: str) -> None:
    log.log(level, message)
