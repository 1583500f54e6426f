"""The command runner that lives inside a sandbox: stdlib only, started once as `python -I -S -c <this source>`.

It reads requests on stdin, runs each command in a session of its own (so several can run at once), streams their
output back, and on timeout kills only that command's process tree. Protocol, integers big-endian:
  host -> runner: u32 length + JSON, {"op": "exec", "id", "cmd", "cwd", "env", "timeout", "max_processes"} or
    {"op": "kill", "id"} or {"op": "base", "env"}: the environment of commands sent without one (null)
  runner -> host: u8 kind + u32 id + u32 length + payload:
    READY, OUT (raw output bytes), EXIT (JSON {"code", "timed_out"})
Each command's environment carries MARKER=<token>, so a timeout also finds the processes that left the command's
session (setsid, double fork). When stdin closes (or on SIGTERM) it kills every process it started and exits.
"""

import contextlib
import fcntl
import json
import os
import re
import selectors
import signal
import struct
import sys
import time

READY, OUT, EXIT = 0, 1, 2
HEADER = struct.Struct(">BII")
REQUEST = struct.Struct(">I")
CHUNK = 1 << 16
PIPE_SIZE = 1 << 20
GRACE = 0.2
"""Seconds to keep reading once the command exited, for output still held by a background child."""
TIMEOUT_CODE = 124
CAPPED_CODE = 137
GROWING = 4
"""A returned command whose session holds more processes than this, and more than at the last look, is watched on."""
GROWTH_WAITS = 10
WATCH = 0.5
"""Seconds between looks at a running command's processes (from this long after its start): one that keeps the
sandbox at its process limit for two looks in a row is killed whole."""
AT_LIMIT_MARGIN = 4
"""The sandbox counts as at its limit within this many tasks of it (bubblewrap's own processes, forks in flight)."""
"""At most this many more GRACE periods (2 s) of watching a growing session before the command's result is sent."""
CAPPED_NOTICE = "\n[the command's processes reached the sandbox's process limit ({}); all of them were killed]\n"
LIMIT_NOTICE = "[the sandbox was at its process limit: processes earlier commands left running were killed]\n"
SHELL = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
SIMPLE = re.compile(r"[\w./:=+,@%^-]+(?: [\w./:=+,@%^-]+)*", re.ASCII)
SHELL_WORDS = """
. : [ [[ ]] { } ! alias bg bind break builtin caller case cd command compgen complete compopt continue
coproc declare dirs disown do done echo elif else enable esac eval exec exit export fc fg fi for function
getopts hash help history if in jobs kill let local logout mapfile popd printf pushd pwd read readarray
readonly return select set shift shopt source suspend test then time times trap type typeset ulimit umask
unalias unset until wait while
"""
"""Bash keywords and builtins: a command that starts with one needs the shell."""
SHELL_ONLY = frozenset(SHELL_WORDS.split())
MARKER = "OPEN_SWE_COMMAND"
KILL_SWEEPS = 50
NONCE = os.urandom(4).hex()
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
"""Python ignores these; commands must get them back at their default."""
F_SETPIPE_SZ = 1031


class Job:
    __slots__ = (
        "capped",
        "code",
        "deadline",
        "fd",
        "hot",
        "id",
        "max_processes",
        "pid",
        "seen",
        "timed_out",
        "waits",
        "watch_at",
    )

    def __init__(self, job_id, pid, fd, deadline, max_processes=0):
        self.id, self.pid, self.fd, self.deadline = job_id, pid, fd, deadline
        self.max_processes = max_processes
        self.code = None
        self.timed_out = False
        self.capped = False
        self.seen = 0
        self.waits = 0
        self.hot = 0
        """Consecutive looks that found the sandbox at its process limit, this command holding most of it."""
        self.watch_at = time.monotonic() + WATCH if max_processes else float("inf")


def send(kind, job_id, payload=b""):
    view = memoryview(HEADER.pack(kind, job_id, len(payload)) + payload)
    while view:
        view = view[os.write(1, view) :]


def fast_argv(cmd, env):
    """argv when `cmd` is one plain external command bash would just exec (found on the command's PATH by
    `posix_spawnp`, as bash would); None when it needs the shell."""
    if "BASH_ENV" in env or "PATH" not in env or not SIMPLE.fullmatch(cmd):
        return None
    argv = cmd.split(" ")
    first = argv[0]
    if "=" in first or first in SHELL_ONLY:
        return None
    return argv


def spawnp(argv, env, actions):
    """posix_spawnp `argv` on the command's own PATH (glibc searches the caller's PATH: set it first)."""
    path = env["PATH"]
    if os.environ.get("PATH") != path:
        os.environ["PATH"] = path
    return os.posix_spawnp(argv[0], argv, env, file_actions=actions, setsid=True, setsigdef=DEFAULT_SIGNALS)


def token(job_id):
    return f"{NONCE}-{job_id}"


def processes():
    try:
        names = os.listdir("/proc")
    except OSError:  # no procfs: only the session kill applies
        return
    for name in names:
        if name.isdigit():
            yield int(name)


def descendants(root_pid):
    children: dict[int, list[int]] = {}
    for pid in processes():
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root_pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def marked(job_id):
    """Processes whose environment carries this command's marker, wherever they moved to."""
    needle = f"{MARKER}={token(job_id)}\0".encode()
    found = []
    for pid in processes():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read():
                    found.append(pid)
        except OSError:
            continue
    return found


def session_size(sid):
    """How many processes are in session `sid` (a command's session: it is the command's own process id)."""
    count = 0
    for pid in processes():
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if int(f.read().rsplit(b")", 1)[1].split()[3]) == sid:
                    count += 1
        except (OSError, ValueError, IndexError):
            continue
    return count


def census(runner_pid, sid):
    """(tasks of the sandbox, tasks of session `sid`): threads count, as for the cgroup's pids limit. The sandbox's
    processes are the runner and its descendants (it is their subreaper: orphans come back to it)."""
    children: dict[int, list[int]] = {}
    threads: dict[int, int] = {}
    sessions: dict[int, int] = {}
    for pid in processes():
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(pid)
            threads[pid], sessions[pid] = int(fields[17]), int(fields[3])
        except (OSError, ValueError, IndexError):
            continue
    total, todo = threads.get(runner_pid, 1), [runner_pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            total += threads.get(child, 1)
            todo.append(child)
    return total, sum(n for pid, n in threads.items() if sessions.get(pid) == sid)


def kill_tree(job):
    """SIGKILL the command's session, its descendants, and whatever carries its marker (setsid, double fork).

    Repeated until a sweep finds nothing, then confirmed once more after a pause: a process that was forking while
    we looked (slow on a loaded machine) is caught by a later sweep. Bounded, so a pathological case cannot hang us.
    """
    quiet = 0
    for _ in range(KILL_SWEEPS):
        victims = {*descendants(job.pid), *marked(job.id)}
        # Stop everything first, then kill: a process that sees its child die before its own turn (a shell's
        # `wait`) would otherwise print "Killed" into the command's output.
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            with contextlib.suppress(OSError):
                os.killpg(job.pid, sig)
            for victim in victims:
                with contextlib.suppress(OSError):
                    os.kill(victim, sig)
        quiet = 0 if victims else quiet + 1
        if quiet >= 2:
            return
        if quiet:
            time.sleep(0.02)


class Runner:
    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.jobs = {}
        self.by_pid = {}
        self.lingering = {}
        """Sessions of finished commands still running (background jobs), by session id: the command's job id."""
        self.groups = set()
        """Every command's session (= process group) id: background processes may outlive the command."""
        self.inbuf = bytearray()
        self.base_env = {}
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self.terminate)
        self.wake = wake_r
        self.sel.register(0, selectors.EVENT_READ, None)
        self.sel.register(wake_r, selectors.EVENT_READ, None)

    def terminate(self, *_):
        raise SystemExit(0)

    def spawn(self, req):
        job_id, cmd, cwd = req["id"], req["cmd"], req["cwd"]
        env = req.get("env")
        env = dict(self.base_env) if env is None else env
        env[MARKER] = token(job_id)
        try:
            os.chdir(cwd)
        except OSError as exc:
            send(OUT, job_id, f"cannot enter {cwd}: {exc.strerror}\n".encode())
            send(EXIT, job_id, b'{"code": 126, "timed_out": false}')
            return
        r, w = os.pipe()
        with contextlib.suppress(OSError):
            fcntl.fcntl(r, F_SETPIPE_SZ, PIPE_SIZE)  # fewer, larger reads for chatty commands
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, w, 1),
            (os.POSIX_SPAWN_DUP2, w, 2),
        ]
        pid = None
        argv = fast_argv(cmd, env)
        if argv is not None:
            # not found, or e.g. a script without a shebang (ENOEXEC): bash knows what to do (and what to say)
            with contextlib.suppress(OSError):
                pid = spawnp(argv, env, actions)
        try:
            if pid is None:
                pid = self.spawn_shell(cmd, env, actions, job_id)
        except OSError as exc:
            os.close(r)
            os.close(w)
            send(OUT, job_id, f"{SHELL}: {exc.strerror}\n".encode())
            send(EXIT, job_id, b'{"code": 127, "timed_out": false}')
            return
        os.close(w)
        os.set_blocking(r, False)
        job = Job(job_id, pid, r, time.monotonic() + float(req["timeout"]), int(req.get("max_processes") or 0))
        self.jobs[job_id] = job
        self.by_pid[pid] = job
        self.lingering.pop(pid, None)
        self.groups.add(pid)
        self.sel.register(r, selectors.EVENT_READ, job)

    def spawn_shell(self, cmd, env, actions, job_id):
        """posix_spawn the shell; at the process limit (EAGAIN), stop what finished commands left running and retry."""
        try:
            return os.posix_spawn(
                SHELL, [SHELL, "-c", cmd], env, file_actions=actions, setsid=True, setsigdef=DEFAULT_SIGNALS
            )
        except BlockingIOError:
            left = [(pgid, owner) for pgid, owner in self.lingering.items() if pgid not in self.by_pid]
            if not left:
                raise
            for pgid, owner in left:
                kill_tree(Job(owner, pgid, None, 0))
                self.lingering.pop(pgid, None)
            self.reap()
            send(OUT, job_id, LIMIT_NOTICE.encode())
            return os.posix_spawn(
                SHELL, [SHELL, "-c", cmd], env, file_actions=actions, setsid=True, setsigdef=DEFAULT_SIGNALS
            )

    def handle_requests(self):
        data = os.read(0, CHUNK)
        if not data:
            raise SystemExit(0)
        self.inbuf += data
        while len(self.inbuf) >= 4:
            (size,) = REQUEST.unpack_from(self.inbuf)
            if len(self.inbuf) < 4 + size:
                break
            req = json.loads(bytes(self.inbuf[4 : 4 + size]))
            del self.inbuf[: 4 + size]
            if req["op"] == "exec":
                self.spawn(req)
            elif req["op"] == "base":
                self.base_env = req["env"]
            elif req["op"] == "kill" and req["id"] in self.jobs:
                self.expire(self.jobs[req["id"]], timed_out=False)

    def read_output(self, job):
        while True:
            try:
                data = os.read(job.fd, CHUNK)
            except BlockingIOError:
                return
            if not data:
                self.close_pipe(job)
                if job.code is None:  # it usually exits right after closing its output: one wake-up, not two
                    self.reap()
                return
            send(OUT, job.id, data)

    def close_pipe(self, job):
        self.sel.unregister(job.fd)
        os.close(job.fd)
        job.fd = None

    def reap(self):
        while True:
            try:
                os.read(self.wake, 4096)
            except BlockingIOError:
                break
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = self.by_pid.pop(pid, None)
            if job is not None:
                code = os.waitstatus_to_exitcode(status)
                job.code = 128 - code if code < 0 else code
                job.deadline = time.monotonic() + GRACE
                job.watch_at = float("inf")

    def expire(self, job, *, timed_out):
        if job.code is None:
            job.timed_out = job.timed_out or timed_out
            kill_tree(job)
            job.deadline = time.monotonic() + GRACE  # then wait for the exit and the last output
        elif job.fd is not None:
            # the command returned but processes it started still hold its output: a fork bomb that returned at once
            # fills the sandbox's process limit; if its session is near the limit, it goes, whole tree
            size = session_size(job.pid) if job.max_processes else 0
            if size >= job.max_processes * 3 // 4 > 0:
                job.capped = True
                kill_tree(job)
            elif size > max(job.seen, GROWING) and job.waits < GROWTH_WAITS:  # still growing: look again a bit later
                job.seen, job.waits = size, job.waits + 1
                job.deadline = time.monotonic() + GRACE
                return
            self.read_output(job)
            if job.fd is not None:
                self.close_pipe(job)  # a background child still holds the pipe: stop listening to it

    def watch(self, job):
        """A running command that keeps the sandbox at its process limit (a fork bomb that does not return) is killed
        whole and its result says so, instead of holding the sandbox full until its timeout."""
        total, own = census(os.getpid(), job.pid)
        at_limit = total >= job.max_processes - AT_LIMIT_MARGIN and own * 2 >= job.max_processes
        job.hot = job.hot + 1 if at_limit else 0
        if job.hot >= 2:
            job.capped = True
            job.watch_at = float("inf")
            kill_tree(job)
            job.deadline = time.monotonic() + GRACE  # then wait for the exit and the last output
        else:
            job.watch_at = time.monotonic() + WATCH

    def finish_ready(self):
        for job in [j for j in self.jobs.values() if j.code is not None and j.fd is None]:
            del self.jobs[job.id]
            try:
                os.killpg(job.pid, 0)  # anything left in its session (background jobs) is killed at shutdown
            except OSError:
                self.groups.discard(job.pid)
            else:
                self.lingering[job.pid] = job.id
            if job.capped:
                send(OUT, job.id, CAPPED_NOTICE.format(job.max_processes).encode())
            code = TIMEOUT_CODE if job.timed_out else CAPPED_CODE if job.capped else job.code
            send(EXIT, job.id, json.dumps({"code": code, "timed_out": job.timed_out}).encode())

    def run(self):
        send(READY, 0)
        while True:
            now = time.monotonic()
            for job in [j for j in self.jobs.values() if j.deadline <= now]:
                self.expire(job, timed_out=job.code is None and not job.capped)
            for job in [j for j in self.jobs.values() if j.watch_at <= now and j.code is None]:
                self.watch(job)
            self.finish_ready()
            wait = min((min(j.deadline, j.watch_at) for j in self.jobs.values()), default=now + 3600) - now
            for key, _ in self.sel.select(max(wait, 0)):
                if key.data is not None:
                    if key.data.fd is not None:
                        self.read_output(key.data)
                elif key.fd == 0:
                    self.handle_requests()
                else:
                    self.reap()
            self.finish_ready()

    def shutdown(self):
        """Kill everything we started, background jobs included, until nothing is left (a fork bomb included)."""
        for _ in range(200):
            for pgid in list(self.groups):
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except OSError:
                    self.groups.discard(pgid)
            orphans = descendants(os.getpid())  # they re-parent to us: we are their subreaper
            for pid in orphans:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            self.reap()
            if not self.groups and not orphans:
                return
            time.sleep(0.005)


def become_subreaper():
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphaned grandchildren come back to us
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the service
    except (OSError, AttributeError):
        pass


def main():
    # Only stdin, stdout and stderr are ours: a host event loop that does not close the rest when it spawns (uvloop)
    # would hand its descriptors, and duplicates of our own stdio, to every command (which could then write frames).
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    become_subreaper()
    runner = Runner()
    try:
        runner.run()
    except (SystemExit, BrokenPipeError):
        pass
    finally:
        runner.shutdown()


if __name__ == "__main__":
    sys.exit(main())
