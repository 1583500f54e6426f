"""Bubblewrap: finding it, checking that it can build a sandbox here, and the arguments of one sandbox.

Inside: the host filesystem read-only, the workspace (and any extra writable path) writable, a private /tmp with
HOME in it, /run hidden (its sockets would be a way out), credential files masked, new PID/IPC/UTS namespaces, no
network unless allowed, and the whole tree dies with its parent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.base import IsolationUnavailable
from sandbox.settings import Isolation, SandboxSettings

log = logging.getLogger(__name__)

INSTALL_HINT = "install it with `apt-get install bubblewrap`"
SANDBOX_HOME = "/tmp/home"
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
"""Under the host's HOME: hidden inside the sandbox (an empty dir or /dev/null in their place)."""
GIT_CONFIG = (".gitconfig", ".config/git/config")
"""Copied (read-only) into the sandbox's HOME, so commits keep the user's identity."""


@dataclass(frozen=True, slots=True)
class Bwrap:
    """How to build a bubblewrap sandbox; `argv` gives the command line for one."""

    binary: str
    allow_network: bool = False
    hidden: tuple[Path, ...] = field(default_factory=tuple)
    """Host paths (outside the workspace) masked inside the sandbox, e.g. the service's own `.env`."""

    def argv(self, workspace: Path, *, writable: Iterable[Path] = (), python: str | None = None) -> list[str]:
        args = [
            self.binary,
            "--die-with-parent",
            "--new-session",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
        ]
        if not self.allow_network:
            args.append("--unshare-net")
        args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", SANDBOX_HOME]
        if os.path.isdir("/run"):
            args += ["--tmpfs", "/run"]
            if self.allow_network:  # keep DNS working when resolv.conf lives under /run (systemd-resolved)
                resolv = os.path.realpath("/etc/resolv.conf")
                if resolv.startswith("/run/") and os.path.exists(resolv):
                    args += ["--ro-bind", resolv, resolv]
        home = Path.home()
        for rel in CREDENTIAL_PATHS:
            args += _mask(home / rel)
        for path in self.hidden:
            if not path.is_relative_to(workspace):
                args += _mask(path)
        for rel in GIT_CONFIG:
            if (home / rel).is_file():
                args += ["--ro-bind", str(home / rel), f"{SANDBOX_HOME}/{rel}"]
        if python is not None:  # an interpreter under /tmp would be hidden by the private /tmp
            prefix = os.path.realpath(sys.base_prefix)
            if Path(prefix).is_relative_to("/tmp") or Path(python).is_relative_to("/tmp"):
                args += ["--ro-bind", prefix, prefix]
        for path in (workspace, *writable):
            args += ["--bind", str(path), str(path)]
        return args + ["--chdir", str(workspace), "--"]


def _mask(path: Path) -> list[str]:
    if path.is_symlink() or not path.exists():
        return []
    return ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)]


def find_bwrap(binary: str | None) -> str | None:
    """`binary` if it is an executable path, else a lookup of it (default "bwrap") on PATH."""
    name = binary or "bwrap"
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name)


async def probe(binary: str) -> str | None:
    """None when bubblewrap can build a sandbox on this machine, else why not (e.g. user namespaces disabled)."""
    args = Bwrap(binary).argv(Path("/")) + ["true"]
    try:
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env={"PATH": os.defpath}
        )
        _, err = await asyncio.wait_for(proc.communicate(), 10)
    except (OSError, TimeoutError) as exc:
        return str(exc)
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
        return Bwrap(binary, allow_network=settings.allow_network, hidden=tuple(hidden))
    if settings.isolation is Isolation.BWRAP:
        raise IsolationUnavailable(f"SANDBOX_ISOLATION=bwrap but {problem}")
    log.warning("sandbox isolation: none (SANDBOX_ISOLATION=auto and %s); commands run unconfined", problem)
    return None
