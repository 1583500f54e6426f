"""A real PostgreSQL server (Debian's package) for tests: initialised and run as an unprivileged user (PostgreSQL
refuses to run as root) in a directory outside /tmp, on a free loopback port, torn down afterwards."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
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


class PostgresServer:
    """A fresh cluster in a new directory under `root` (owned by the unprivileged user when running as root), serving
    its database DATABASE at `url`; `stop()` and `start()` restart it on the same port and data (a restart mid-task)."""

    def __init__(self, root: Path = SCRATCH_ROOT) -> None:
        self._binaries = postgres_bin()
        self._user = RUN_AS if os.geteuid() == 0 else None
        self._login = self._user or pwd.getpwuid(os.geteuid()).pw_name
        self.workdir = Path(tempfile.mkdtemp(prefix="open-swe-pg-", dir=root))
        self._data = self.workdir / "data"
        self._env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
            "HOME": str(self.workdir),
        }
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self.url = f"postgresql://{self._login}@127.0.0.1:{self.port}/{DATABASE}"

    def create(self) -> None:
        """initdb, start, createdb."""
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.workdir, entry.pw_uid, entry.pw_gid)
            for parent in self.workdir.parents:  # the user must traverse to its directory
                if parent.stat().st_mode & 0o001 == 0:
                    raise RuntimeError(f"{self._user} cannot reach {self.workdir}: {parent} is not traversable (o+x)")
        initdb = [str(self._binaries / "initdb"), "-D", str(self._data), "-U", self._login, "-A", "trust", "-E", "UTF8"]
        subprocess.run(
            _as_user(initdb, self._user),
            check=True,
            env=self._env,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.start()
        address = ["-h", "127.0.0.1", "-p", str(self.port), "-U", self._login]
        created = subprocess.run(
            [str(self._binaries / "createdb"), *address, DATABASE], env=self._env, capture_output=True, text=True
        )
        if created.returncode != 0:
            raise RuntimeError(f"createdb {DATABASE} failed: {created.stderr.strip()}")

    def start(self) -> None:
        log = (self.workdir / "postgres.log").open("ab")
        command = [
            str(self._binaries / "postgres"),
            "-D",
            str(self._data),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.workdir}",
            "-c",
            "dynamic_shared_memory_type=mmap",  # in the data dir: /dev/shm is shared with other tests' users
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ]
        self._proc = subprocess.Popen(
            _as_user(command, self._user), env=self._env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        wait_for_port(self.port, timeout=30)
        address = ["-h", "127.0.0.1", "-p", str(self.port), "-U", self._login]
        ready = [str(self._binaries / "pg_isready"), *address, "-d", "postgres", "-t", "5"]
        deadline = time.monotonic() + 30
        # pg_isready answers at once (exit 1) while the server is still starting up: ask again until it accepts.
        while subprocess.run(ready, env=self._env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"PostgreSQL on port {self.port} did not become ready: see {self.workdir}/postgres.log"
                )
            time.sleep(0.1)

    def stop(self, *, fast: bool = False) -> None:
        """SIGTERM: a "smart" shutdown that waits for clients; `fast` (SIGINT) disconnects them, as a restart does."""
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGINT if fast else signal.SIGTERM)
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def remove(self) -> None:
        self.stop(fast=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextmanager
def postgres_server(root: Path = SCRATCH_ROOT) -> Iterator[PostgresServer]:
    server = PostgresServer(root)
    try:
        server.create()
        yield server
    finally:
        server.remove()


@contextmanager
def running_postgres(root: Path = SCRATCH_ROOT) -> Iterator[str]:
    """A fresh cluster's `postgresql://` URL of its database DATABASE; the server is removed afterwards."""
    with postgres_server(root) as server:
        yield server.url
