"""Host side of the runner (`runner_main.py`): one long-lived process per sandbox that runs many commands.

Spawning through a resident runner costs a pipe round trip instead of a fresh process tree (and, isolated, a fresh
bubblewrap) per command. The runner is started on first use and restarted transparently if it dies.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import itertools
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import cast

from sandbox.base import BackendError, ExecResult, OutputCallback, SandboxError
from sandbox.output import OutputCap
from sandbox.runner_main import EXIT, HEADER, OUT, READY, REQUEST
from sandbox.secrets import redact

log = logging.getLogger(__name__)

SOURCE = (Path(__file__).with_name("runner_main.py")).read_text()
GONE = -1
HOST_GRACE = 5.0
"""Seconds past a command's timeout before the host stops trusting the runner to report it."""
START_TIMEOUT = 15.0


SYSTEM_PYTHON = "/usr/bin/python3"


def runner_python() -> str:
    """The interpreter the runner uses: the system's (nothing of the service inside a sandbox), else this one.

    Blocking (it looks at the filesystem): call from a thread."""
    if os.path.isfile(SYSTEM_PYTHON) and os.access(SYSTEM_PYTHON, os.X_OK):
        return SYSTEM_PYTHON
    return os.path.realpath(sys.executable)


def runner_argv(python: str | None = None) -> list[str]:
    """The command line that starts a runner. `-I -S`: no site, no user environment, no venv needed."""
    return [python or runner_python(), "-I", "-S", "-c", SOURCE]


class _Wire(asyncio.SubprocessProtocol):
    """The runner process's pipes, read as they become readable (no reader task, no stream buffering).

    Frames on stdout go straight to the job's queue; stderr lines are logged (kept for the error message until the
    runner said READY)."""

    def __init__(self, label: str, jobs: dict[int, asyncio.Queue[tuple[int, bytes]]]) -> None:
        loop = asyncio.get_running_loop()
        self.label = label
        self.jobs = jobs
        self.ready: asyncio.Future[int] = loop.create_future()
        """The kind of the runner's first frame (READY); EOFError if its output closed before."""
        self.exited: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()
        """Set once the process exited and all its pipes closed."""
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.lost = False
        """The runner's output closed: it is gone (or going)."""
        self.stopping = False
        self.early_err = bytearray()
        self._out = bytearray()
        self._err = bytearray()

    @property
    def alive(self) -> bool:
        return not self.lost and self.transport is not None and self.transport.get_returncode() is None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Casts, not isinstance checks: uvloop's transports (the servers' loop) do not subclass asyncio's classes.
        self.transport = cast(asyncio.SubprocessTransport, transport)
        self.stdin = cast(asyncio.WriteTransport, self.transport.get_pipe_transport(0))

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            self._frames(data)
        elif not self.ready.done():
            self.early_err += data[: max(0, 16384 - len(self.early_err))]
        else:
            self._err += data
            *lines, rest = self._err.split(b"\n")
            self._err = bytearray(rest[-16384:])
            for line in lines:
                self._log_err(line)

    def _frames(self, data: bytes) -> None:
        buf = self._out
        if buf:
            buf += data
            data = bytes(buf)
        pos, end = 0, len(data)
        while end - pos >= HEADER.size:
            kind, job, size = HEADER.unpack_from(data, pos)
            if end - pos - HEADER.size < size:
                break
            payload = data[pos + HEADER.size : pos + HEADER.size + size]
            pos += HEADER.size + size
            if not self.ready.done():
                self.ready.set_result(kind)
            elif (queue := self.jobs.get(job)) is not None:
                queue.put_nowait((kind, payload))
        self._out = bytearray(data[pos:])

    def _log_err(self, line: bytes) -> None:
        log.warning("%s: %s", self.label, redact(line.decode(errors="replace").rstrip()))

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 2 and self._err:
            self._log_err(bytes(self._err))
            self._err.clear()
        if fd != 1:
            return
        self.lost = True
        if not self.ready.done():
            self.ready.set_exception(EOFError())
            return
        for queue in self.jobs.values():
            queue.put_nowait((GONE, b""))
        if not self.stopping:
            log.warning("%s exited unexpectedly; it will be restarted on the next command", self.label)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.process_exited()
        if not self.done.done():
            self.done.set_result(None)
        if not self.ready.done():
            self.ready.set_exception(EOFError())

    def send(self, request: dict[str, object]) -> None:
        if self.stdin is None or self.stdin.is_closing():
            raise ConnectionError("the runner's input is closed")
        body = json.dumps(request).encode()
        self.stdin.write(REQUEST.pack(len(body)) + body)

    def kill_group(self) -> None:
        if self.transport is not None and self.transport.get_returncode() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.transport.get_pid(), signal.SIGKILL)


class Runner:
    """Talks to one runner process; `run` may be called concurrently."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str,
        label: str = "runner",
        on_start: Callable[[int], Awaitable[None]] | None = None,
        fd_data: tuple[str, bytes] | None = None,
        max_processes: int = 0,
    ) -> None:
        """`on_start(pid)` runs once the runner is up and before any command is sent (e.g. to put it in a cgroup).

        `fd_data` = (placeholder, data): at each start, `data` is written to a fresh pipe whose read end the runner
        inherits, and the argv item equal to `placeholder` is replaced with that descriptor's number (bubblewrap
        reads its seccomp program that way).
        """
        self._argv = list(argv)
        self._fd_data = fd_data
        self._max_processes = max_processes
        """The sandbox's process limit: a command whose processes near it after it returned is killed whole."""
        self._on_start = on_start
        self._env = dict(env)
        self._cwd = cwd
        self._label = label
        self._wire: _Wire | None = None
        self._jobs: dict[int, asyncio.Queue[tuple[int, bytes]]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def pid(self) -> int | None:
        wire = self._wire
        return wire.transport.get_pid() if wire is not None and wire.transport is not None and wire.alive else None

    async def _ensure(self) -> _Wire:
        wire = self._wire
        if wire is not None and wire.alive:
            return wire
        async with self._lock:
            if self._closed:
                raise SandboxError(f"{self._label} is closed")
            wire = self._wire
            if wire is None or not wire.alive:
                await self._stop()
                wire = await self._start()
            return wire

    async def _start(self) -> _Wire:
        argv = self._argv
        fds: tuple[int, ...] = ()
        if self._fd_data is not None:
            placeholder, data = self._fd_data
            read, write = os.pipe()  # the program is a few KiB: it fits in the pipe's buffer
            try:
                await asyncio.to_thread(os.write, write, data)  # the blocking-call detector flags os.write
            finally:
                os.close(write)
            argv, fds = [str(read) if arg == placeholder else arg for arg in argv], (read,)
        try:
            transport, wire = await asyncio.get_running_loop().subprocess_exec(
                lambda: _Wire(self._label, self._jobs),
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
                pass_fds=fds,
            )
        finally:
            for fd in fds:
                os.close(fd)
        try:
            async with asyncio.timeout(START_TIMEOUT):
                kind = await wire.ready
        except (EOFError, TimeoutError):
            wire.stopping = True
            with contextlib.suppress(ProcessLookupError):
                transport.kill()
            await asyncio.wait([wire.done], timeout=START_TIMEOUT)
            transport.close()
            err = wire.early_err.decode(errors="replace").strip()
            raise BackendError(f"{self._label} failed to start: {redact(err) or 'no output'}") from None
        try:
            if kind != READY:
                raise BackendError(f"{self._label} spoke an unexpected protocol")
            if self._on_start is not None:
                await self._on_start(transport.get_pid())
            wire.send({"op": "base", "env": self._env})  # commands sent without an environment get this one
        except BaseException:
            wire.stopping = True
            wire.kill_group()
            await wire.exited
            transport.close()
            raise
        if wire.early_err:  # said before READY: logged like the rest
            for line in bytes(wire.early_err).splitlines():
                wire._log_err(line)
            wire.early_err.clear()
        self._wire = wire
        log.debug("%s started (pid %d)", self._label, transport.get_pid())
        return wire

    async def run(
        self,
        command: str,
        *,
        cwd: str,
        env: Mapping[str, str] | None = None,
        timeout: float,
        limit: int,
        on_output: OutputCallback | None = None,
    ) -> ExecResult:
        """`env` None: the runner's own environment (this runner's `env`), which is not sent again."""
        wire = await self._ensure()
        job = next(self._ids)
        queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
        self._jobs[job] = queue
        cap = OutputCap(limit)
        decoder = codecs.getincrementaldecoder("utf-8")("replace") if on_output is not None else None
        started = time.monotonic()
        exit_code, timed_out = -1, False
        try:
            try:
                wire.send(
                    {
                        "op": "exec",
                        "id": job,
                        "cmd": command,
                        "cwd": cwd,
                        "env": None if env is None else dict(env),
                        "timeout": timeout,
                        "max_processes": self._max_processes,
                    },
                )
            except (ConnectionError, RuntimeError) as exc:  # the runner died a moment ago
                queue.put_nowait((GONE, f"[cannot reach the sandbox's command runner: {exc}]".encode()))
            async with asyncio.timeout(timeout + HOST_GRACE):
                while True:
                    kind, payload = await queue.get()
                    if kind == OUT:
                        cap.feed(payload)
                        if on_output is not None and decoder is not None and (text := decoder.decode(payload)):
                            await on_output(text.replace("\x00", "\ufffd"))
                    elif kind == EXIT:
                        status = json.loads(payload)
                        exit_code, timed_out = status["code"], status["timed_out"]
                        break
                    else:
                        cap.feed(b"\n" + (payload or b"[the sandbox's command runner exited unexpectedly]") + b"\n")
                        break
        except TimeoutError:
            log.warning("%s did not report a timed-out command; restarting it", self._label)
            timed_out = True
            await self._stop()
        except BaseException:  # cancelled, or on_output raised: the command must not run on unattended
            with contextlib.suppress(Exception):
                wire.send({"op": "kill", "id": job})
            raise
        finally:
            del self._jobs[job]
        if on_output is not None and decoder is not None and (tail := decoder.decode(b"", final=True)):
            await on_output(tail)
        return ExecResult(
            exit_code=exit_code,
            output=cap.text(),
            truncated=cap.truncated,
            timed_out=timed_out,
            duration=time.monotonic() - started,
        )

    async def _stop(self) -> None:
        wire, self._wire = self._wire, None
        if wire is None or wire.transport is None:
            return
        wire.stopping = True
        if wire.transport.get_returncode() is None:
            if wire.stdin is not None:
                wire.stdin.close()  # the runner kills its commands and exits when its input closes
            await asyncio.wait([wire.exited], timeout=2.0)
            if not wire.exited.done():
                wire.kill_group()
                await wire.exited
        await asyncio.wait([wire.done], timeout=2.0)  # its last output and stderr lines
        wire.transport.close()

    async def aclose(self) -> None:
        async with self._lock:
            self._closed = True
            await self._stop()
