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
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._jobs: dict[int, asyncio.Queue[tuple[int, bytes]]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.returncode is None else None

    async def _ensure(self) -> asyncio.subprocess.Process:
        proc = self._proc
        if proc is not None and proc.returncode is None and self._tasks and not self._tasks[0].done():
            return proc
        async with self._lock:
            if self._closed:
                raise SandboxError(f"{self._label} is closed")
            proc = self._proc
            if proc is None or proc.returncode is not None or not self._tasks or self._tasks[0].done():
                await self._stop()
                proc = await self._start()
            return proc

    async def _start(self) -> asyncio.subprocess.Process:
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
            proc = await asyncio.create_subprocess_exec(
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
        assert proc.stdout is not None and proc.stderr is not None
        try:
            async with asyncio.timeout(START_TIMEOUT):
                kind, _, _ = HEADER.unpack(await proc.stdout.readexactly(HEADER.size))
        except (asyncio.IncompleteReadError, TimeoutError):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            err = (await proc.stderr.read()).decode(errors="replace").strip()
            await proc.wait()
            raise BackendError(f"{self._label} failed to start: {redact(err) or 'no output'}") from None
        try:
            if kind != READY:
                raise BackendError(f"{self._label} spoke an unexpected protocol")
            if self._on_start is not None:
                await self._on_start(proc.pid)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise
        self._proc = proc
        self._tasks = [asyncio.create_task(self._read(proc)), asyncio.create_task(self._log_stderr(proc))]
        log.debug("%s started (pid %d)", self._label, proc.pid)
        return proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                kind, job, size = HEADER.unpack(await proc.stdout.readexactly(HEADER.size))
                payload = await proc.stdout.readexactly(size) if size else b""
                queue = self._jobs.get(job)
                if queue is not None:
                    queue.put_nowait((kind, payload))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for queue in self._jobs.values():
                queue.put_nowait((GONE, b""))
            if not self._closed:
                log.warning("%s exited unexpectedly; it will be restarted on the next command", self._label)

    async def _log_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            log.warning("%s: %s", self._label, redact(line.decode(errors="replace").rstrip()))

    def _send(self, proc: asyncio.subprocess.Process, request: dict[str, object]) -> None:
        assert proc.stdin is not None
        body = json.dumps(request).encode()
        proc.stdin.write(REQUEST.pack(len(body)) + body)

    async def run(
        self,
        command: str,
        *,
        cwd: str,
        env: Mapping[str, str],
        timeout: float,
        limit: int,
        on_output: OutputCallback | None = None,
    ) -> ExecResult:
        proc = await self._ensure()
        job = next(self._ids)
        queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
        self._jobs[job] = queue
        cap, decoder = OutputCap(limit), codecs.getincrementaldecoder("utf-8")("replace")
        started = time.monotonic()
        exit_code, timed_out = -1, False
        try:
            try:
                self._send(
                    proc,
                    {
                        "op": "exec",
                        "id": job,
                        "cmd": command,
                        "cwd": cwd,
                        "env": dict(env),
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
                        if on_output is not None and (text := decoder.decode(payload)):
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
                self._send(proc, {"op": "kill", "id": job})
            raise
        finally:
            del self._jobs[job]
        if on_output is not None and (tail := decoder.decode(b"", final=True)):
            await on_output(tail)
        return ExecResult(
            exit_code=exit_code,
            output=cap.text(),
            truncated=cap.truncated,
            timed_out=timed_out,
            duration=time.monotonic() - started,
        )

    async def _stop(self) -> None:
        proc, self._proc = self._proc, None
        tasks, self._tasks = self._tasks, []
        if proc is not None and proc.returncode is None:
            if proc.stdin is not None:
                proc.stdin.close()  # the runner kills its commands and exits when its input closes
            try:
                await asyncio.wait_for(proc.wait(), 2.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def aclose(self) -> None:
        async with self._lock:
            self._closed = True
            await self._stop()
