"""Bubblewrap: finding it, checking that it can build a sandbox here, and the arguments of one sandbox.

Deny by default. Inside a sandbox a command sees only: the system directories a build needs (read-only: /usr, /bin,
/sbin, /lib*, /etc minus host secrets), the workspace (writable), a private /tmp with HOME in it, a private /dev and
/proc, ripgrep at `/opt/open-swe/bin/rg`, and what `SANDBOX_EXTRA_RO_PATHS` adds (read-only). Not /root, /home,
/run, /var, /opt, /srv, the service's checkout or state dir (other tasks, locks, worktrees, event logs).

No privilege inside, whoever runs the service: a new user namespace maps one unprivileged uid/gid (the service's
own, or 1000 when the service is root) to the service user, so files a command creates belong on the host to the
service user; every capability set is empty (`--cap-drop ALL`); no_new_privs is set; the seccomp filter of
`sandbox/seccomp.py` refuses the calls that break confinement. New PID/IPC/UTS/cgroup namespaces, no network unless
allowed, and the whole tree dies with its parent. The repository's `.git/config`, `config.worktree`, `hooks/` and
`info/` are read-only, and the git directory itself cannot be renamed away, so nothing planted there runs on the
user's next `git status`.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import seccomp
from sandbox.base import IsolationUnavailable
from sandbox.settings import Isolation, SandboxSettings

log = logging.getLogger(__name__)

INSTALL_HINT = "install it with `apt-get install bubblewrap`"
SANDBOX_HOME = "/tmp/home"
TOOLS_DIR = "/opt/open-swe/bin"
"""Where the sandbox finds the tools the agent's own tools rely on (ripgrep)."""
SECCOMP_FD = "{seccomp-fd}"
"""Placeholder in the argv for the descriptor the runner passes the seccomp program on (see `Runner`)."""
ROOT_SANDBOX_UID = 1000
"""The uid/gid commands run as when the service runs as root (mapped to root on the host, with no capability)."""
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
ETC_SECRETS = (
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssl/private",
    "/etc/security/opasswd",
    "/etc/letsencrypt",
    "/etc/wireguard",
    "/etc/NetworkManager/system-connections",
    "/etc/credstore",
    "/etc/credstore.encrypted",
    "/etc/ppp/chap-secrets",
    "/etc/ppp/pap-secrets",
    "/etc/ssh/ssh_host_*key*",
    "/etc/ssh/sshd_config.d",
    "/etc/open-swe",
)
"""Host secrets under /etc, masked (globs allowed)."""
CREDENTIAL_PATHS = (
    ".ssh",
    ".aws",
    ".azure",
    ".gnupg",
    ".kube",
    ".docker",
    ".netrc",
    ".git-credentials",
    ".pypirc",
    ".npmrc",
    ".config/gh",
    ".config/hub",
    ".config/gcloud",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".local/share/keyrings",
    ".password-store",
    ".vault-token",
    ".config/op",
    ".terraform.d",
)
"""Under the host's HOME: masked wherever HOME is visible (a workspace or extra path holding it), symlinks followed."""
GIT_CONFIG = (".gitconfig", ".config/git/config")
"""Copied (read-only) into the sandbox's HOME, so commits keep the user's identity."""
GIT_PROTECTED = ("config", "config.worktree", "hooks", "info")
"""Entries of a git directory a command may not change (their content runs code in git on the host)."""
WORKTREE_PROTECTED = ("commondir", "gitdir", "config.worktree")
"""Entries of a linked worktree's admin directory (`<git dir>/worktrees/<name>`) that steer git (its common directory,
its configuration): read-only when the git directory is writable (the project is itself a worktree)."""


def sandbox_ids() -> tuple[int, int]:
    """The uid and gid commands run as inside the sandbox."""
    if os.getuid() == 0:
        return ROOT_SANDBOX_UID, ROOT_SANDBOX_UID
    return os.getuid(), os.getgid()


@dataclass(frozen=True, slots=True)
class Bwrap:
    """How to build a bubblewrap sandbox; `argv` gives the command line for one."""

    binary: str
    allow_network: bool = False
    hidden: tuple[Path, ...] = field(default_factory=tuple)
    """Host paths masked inside the sandbox when they are visible there, e.g. the service's own `.env`."""
    extra_ro: tuple[Path, ...] = field(default_factory=tuple)
    """Host paths shown read-only inside (SANDBOX_EXTRA_RO_PATHS), e.g. a toolchain under /opt."""

    def seccomp_program(self) -> bytes:
        """The compiled seccomp filter (blocking the first time: call from a thread)."""
        return seccomp.program()

    def argv(
        self,
        workspace: Path,
        *,
        writable: Iterable[Path] = (),
        readonly: Iterable[Path] = (),
        python: str | None = None,
        git_dirs: Iterable[Path] = (),
        rg: str | None = None,
    ) -> list[str]:
        """Blocking (it looks at the filesystem): call from a thread.

        `git_dirs`: git directories (or a worktree's `.git` file) to protect; `rg`: the host's ripgrep, shown at
        TOOLS_DIR/rg."""
        uid, gid = sandbox_ids()
        args = [self.binary, "--unshare-user", "--uid", str(uid), "--gid", str(gid), "--cap-drop", "ALL"]
        args += ["--seccomp", SECCOMP_FD, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc"]
        args += ["--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
        if not self.allow_network:
            args.append("--unshare-net")
        for system in SYSTEM_DIRS:
            if os.path.islink(system):
                args += ["--symlink", os.readlink(system), system]
            elif os.path.isdir(system):
                args += ["--ro-bind", system, system]
        for pattern in ETC_SECRETS:
            for secret in sorted(glob.glob(pattern)):
                args += _mask(Path(secret))
        args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", SANDBOX_HOME, "--tmpfs", "/var/tmp"]
        args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
        if self.allow_network:  # keep DNS working when resolv.conf lives under /run (systemd-resolved)
            resolv = os.path.realpath("/etc/resolv.conf")
            if resolv.startswith("/run/") and os.path.exists(resolv):
                args += ["--ro-bind", resolv, resolv]
        if python is not None and not _under_system(python):  # the service's own interpreter (no system python)
            prefix = os.path.realpath(sys.base_prefix)
            args += ["--ro-bind", prefix, prefix]
        if rg is not None:
            args += ["--ro-bind", os.path.realpath(rg), f"{TOOLS_DIR}/rg"]
        for path in (*self.extra_ro, *readonly):
            if path.exists():
                args += ["--ro-bind", str(path), str(path)]
        home = Path.home()
        for rel in GIT_CONFIG:
            if (home / rel).is_file():
                args += ["--ro-bind", str(home / rel), f"{SANDBOX_HOME}/{rel}"]
        writable = [workspace, *writable]
        for path in writable:
            args += ["--bind", str(path), str(path)]
        visible = [*writable, *self.extra_ro]
        for rel in CREDENTIAL_PATHS:
            args += _mask(home / rel, visible)
        for path in self.hidden:
            args += _mask(path, visible)
        for git_dir in git_dirs:
            args += _protect_git(git_dir)
        return [*args, "--remount-ro", "/", "--chdir", str(workspace), "--"]


def _under_system(path: str) -> bool:
    return any(Path(path).is_relative_to(d) for d in SYSTEM_DIRS if not os.path.islink(d))


def _mask(path: Path, visible: Sequence[Path] | None = None) -> list[str]:
    """Hide `path` (its target when it is a symlink) if it is visible: under one of `visible` (None: always)."""
    real = Path(os.path.realpath(path))
    if not real.exists():
        return []
    if visible is not None and not any(real.is_relative_to(root) for root in visible):
        return []
    return ["--tmpfs", str(real)] if real.is_dir() else ["--ro-bind", "/dev/null", str(real)]


def _protect_git(git_dir: Path) -> list[str]:
    """The git directory bound onto itself (so it cannot be renamed away) with its code-running parts read-only."""
    if git_dir.is_file():  # a worktree's `.git` file: it names the git directory
        return ["--ro-bind", str(git_dir), str(git_dir)]
    if not git_dir.is_dir():
        return []
    args = ["--bind", str(git_dir), str(git_dir)]
    for name in GIT_PROTECTED:
        if (git_dir / name).exists():
            args += ["--ro-bind", str(git_dir / name), str(git_dir / name)]
    worktrees = git_dir / "worktrees"
    if worktrees.is_dir() and not worktrees.is_symlink():  # each bound onto itself: it cannot be swapped for another
        args += ["--bind", str(worktrees), str(worktrees)]
        for admin in sorted(worktrees.iterdir()):
            if admin.is_dir() and not admin.is_symlink():
                args += ["--bind", str(admin), str(admin)]
                for name in WORKTREE_PROTECTED:
                    if (admin / name).exists():
                        args += ["--ro-bind", str(admin / name), str(admin / name)]
    return args


def find_bwrap(binary: str | None) -> str | None:
    """`binary` if it is an executable path, else a lookup of it (default "bwrap") on PATH."""
    name = binary or "bwrap"
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name)


async def probe(binary: str) -> str | None:
    """None when bubblewrap can build a sandbox on this machine, else why not (e.g. user namespaces disabled)."""
    try:
        program = await asyncio.to_thread(seccomp.program)
        args = await asyncio.to_thread(Bwrap(binary).argv, Path("/tmp"))
    except IsolationUnavailable as exc:
        return str(exc)
    read, write = os.pipe()
    try:
        await asyncio.to_thread(os.write, write, program)  # the detector flags even a small pipe write
        os.close(write)
        args = [str(read) if arg == SECCOMP_FD else arg for arg in args]
        proc = await asyncio.create_subprocess_exec(
            *args,
            "true",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": os.defpath},
            pass_fds=(read,),
        )
        _, err = await asyncio.wait_for(proc.communicate(), 10)
    except (OSError, TimeoutError) as exc:
        return str(exc)
    finally:
        os.close(read)
    return None if proc.returncode == 0 else (err.decode(errors="replace").strip() or f"exit {proc.returncode}")


async def choose(settings: SandboxSettings, *, hidden: Sequence[Path] = ()) -> Bwrap | None:
    """The isolation to use: a `Bwrap`, or None for plain processes. `bwrap` never falls back silently."""
    if settings.isolation is Isolation.NONE:
        log.info("sandbox isolation: none (SANDBOX_ISOLATION=none)")
        return None
    binary = await asyncio.to_thread(find_bwrap, settings.bwrap_path)
    problem = f"bubblewrap ({settings.bwrap_path or 'bwrap'}) was not found; {INSTALL_HINT}" if binary is None else None
    if binary is not None and (why := await probe(binary)) is not None:
        problem = f"bubblewrap ({binary}) cannot create a sandbox on this machine: {why}"
    if problem is None:
        assert binary is not None
        log.info("sandbox isolation: bwrap (%s, network %s)", binary, "allowed" if settings.allow_network else "off")
        return Bwrap(binary, allow_network=settings.allow_network, hidden=tuple(hidden), extra_ro=settings.extra_ro)
    if settings.isolation is Isolation.BWRAP:
        raise IsolationUnavailable(f"SANDBOX_ISOLATION=bwrap but {problem}")
    log.warning("sandbox isolation: none (SANDBOX_ISOLATION=auto and %s); commands run unconfined", problem)
    return None
