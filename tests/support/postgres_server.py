"""A real PostgreSQL server (Debian's package) for tests: initialised and run as an unprivileged user (PostgreSQL
refuses to run as root) in a directory outside /tmp, on a free loopback port, torn down afterwards."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port, wait_for_port

PG_ROOT = Path("/usr/lib/postgresql")
RUN_AS = "nobody"
"""The unprivileged user the server runs as when the tests run as root."""
DATABASE = "open_swe"
SCRATCH_ROOT = Path("/var/tmp")
"""Where clusters live: outside /tmp, and traversable by the unprivileged user (pytest's own temp dirs are 0700)."""


def postgres_bin() -> Path:
    """The newest installed major version's bin directory (Debian installs /usr/lib/postgresql/<major>/bin)."""
    versions = sorted((p for p in PG_ROOT.glob("*/bin") if (p / "initdb").exists()), key=lambda p: int(p.parent.name))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: run 'apt-get install postgresql' (or 'make setup' as root)")
    return versions[-1]


def _as_user(command: list[str], user: str | None) -> list[str]:
    if user is None:
        return command
    return ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--clear-groups", *command]


@contextmanager
def running_postgres(root: Path = SCRATCH_ROOT) -> Iterator[str]:
    """Start a fresh cluster in a new directory under `root` (owned by the unprivileged user when running as root)
    and yield a `postgresql://` URL of its database DATABASE; stop the server and remove the directory afterwards."""
    binaries = postgres_bin()
    user = RUN_AS if os.geteuid() == 0 else None
    login = user or pwd.getpwuid(os.geteuid()).pw_name
    workdir = Path(tempfile.mkdtemp(prefix="open-swe-pg-", dir=root))
    data = workdir / "data"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
        for parent in workdir.parents:  # the user must traverse to its directory
            if parent.stat().st_mode & 0o001 == 0:
                raise RuntimeError(f"{user} cannot reach {workdir}: {parent} is not traversable (o+x)")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
        "HOME": str(workdir),
    }
    subprocess.run(
        _as_user([str(binaries / "initdb"), "-D", str(data), "-U", login, "-A", "trust", "-E", "UTF8"], user),
        check=True,
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    port = free_port()
    log = (workdir / "postgres.log").open("ab")
    proc = subprocess.Popen(
        _as_user(
            [
                str(binaries / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={workdir}",
                "-c",
                "dynamic_shared_memory_type=mmap",  # in the data dir: /dev/shm is shared with other tests' users
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            user,
        ),
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        wait_for_port(port, timeout=30)
        address = ["-h", "127.0.0.1", "-p", str(port), "-U", login]
        ready = [str(binaries / "pg_isready"), *address, "-d", "postgres", "-t", "30"]
        if subprocess.run(ready, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            raise RuntimeError(f"PostgreSQL on port {port} did not become ready: see {workdir / 'postgres.log'}")
        created = subprocess.run(
            [str(binaries / "createdb"), *address, DATABASE], env=env, capture_output=True, text=True
        )
        if created.returncode != 0:
            raise RuntimeError(f"createdb {DATABASE} failed: {created.stderr.strip()}")
        yield f"postgresql://{login}@127.0.0.1:{port}/{DATABASE}"
    finally:
        proc.terminate()  # SIGTERM: "smart" shutdown; SIGINT would be "fast"
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)
