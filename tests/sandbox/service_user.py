"""The local provider driven as a given service user: root (this process) or an unprivileged user (a child process).

`drive(spec)` acquires a sandbox through `LocalProvider` exactly as the agent does, runs a list of operations, and
returns one result per operation (never raises for a sandbox error: the error is the result). As root it runs in
this process; as the unprivileged user it runs `python -m tests.sandbox.service_user` under `setpriv` (no capability
left), with a copy of this interpreter the user can read (the default one lives under /root, mode 0700) and this
virtualenv's packages.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

from sandbox import beneath
from sandbox.base import SandboxError
from sandbox.fdwalk import open_walk
from sandbox.local import LocalProvider
from sandbox.settings import Isolation, SandboxSettings, WorkspaceMode

USER = "openswe-test"
SHARED = Path("/var/tmp/open-swe-tests")
"""Outside /tmp, as users deploy: workspaces, state dirs, the interpreter copy."""
ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "sandbox", "coordination", "graphs", "service", "tests")


async def drive(spec: dict[str, Any]) -> list[dict[str, Any]]:
    forced = beneath.FORCE
    if spec.get("beneath"):  # the file operations' resolver: "openat2" or the "fdwalk" fallback (default: probed)
        beneath.FORCE = {"openat2": beneath.openat2_beneath, "fdwalk": open_walk}[spec["beneath"]]
    try:
        return await _drive(spec)
    finally:
        beneath.FORCE = forced


async def _drive(spec: dict[str, Any]) -> list[dict[str, Any]]:
    settings = SandboxSettings(
        isolation=Isolation(spec["isolation"]),
        workspace_mode=WorkspaceMode(spec["mode"]),
        state_dir=Path(spec["state_dir"]),
        exec_timeout=30,
        **spec.get("settings", {}),
    )
    provider = LocalProvider(settings)
    results: list[dict[str, Any]] = []
    try:
        for thread, ops in spec["threads"]:
            lease = await provider.acquire(thread, project_path=spec["project"])
            sb = lease.sandbox
            for op, *args in ops:
                try:
                    if op == "exec":
                        r = await sb.exec(args[0], timeout=args[1] if len(args) > 1 else None)
                        results.append({"ok": r.ok, "code": r.exit_code, "out": r.output, "timed_out": r.timed_out})
                    elif op == "read":
                        results.append({"out": (await sb.read(args[0])).text})
                    elif op == "write":
                        await sb.write(args[0], args[1])
                        results.append({"out": "written"})
                    elif op == "search":
                        found = await asyncio.wait_for(sb.search(args[0], path=args[1]), 60)
                        results.append({"out": [[m.path, m.line, m.text] for m in found.matches]})
                    elif op == "root":
                        results.append({"out": sb.root})
                    elif op == "limits":  # the limit mechanism in force (after a first command), or None
                        applied = getattr(sb, "resource_limits", None)  # a LocalSandbox property
                        results.append({"out": None if applied is None else [applied.mechanism, applied.max_processes]})
                except SandboxError as exc:
                    results.append({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        await provider.aclose()
    return results


def service_venv() -> Path:
    """A virtualenv any user can run, like the service's own: a readable copy of this interpreter, this
    virtualenv's packages (a .pth file) and ripgrep in its bin/. Returns its python. The project's own code is not
    in it: `code_copy` gives the current one."""
    venv = SHARED / f"venv-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]}"  # one per checkout (its .pth)
    if (venv / "bin" / "rg").exists():
        return venv / "bin" / "python"
    python = readable_python()
    shutil.rmtree(venv, ignore_errors=True)
    env = {**os.environ, "LD_LIBRARY_PATH": str(python.parents[1] / "lib")}
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
    (site,) = (venv / "lib").glob("python3*/site-packages")
    # The checkout may sit in a directory other users cannot enter (CI clones into `mktemp -d`, mode 0700): the user
    # runs a copy of the project's packages and of this virtualenv's site-packages (hard links where possible).
    packages = venv / "packages"
    linked = subprocess.run(["cp", "-al", sysconfig.get_path("purelib"), str(packages)], check=False)
    if linked.returncode != 0:  # another filesystem: a real copy
        shutil.rmtree(packages, ignore_errors=True)
        shutil.copytree(sysconfig.get_path("purelib"), packages, symlinks=True)
    (site / "service.pth").write_text(f"{packages}\n")
    shutil.copy2(Path(sys.executable).with_name("rg").resolve(), venv / "bin" / "rg")
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
    return venv / "bin" / "python"


def code_copy() -> Path:
    """A readable copy of the project's packages as they are now, one per content (a session never runs code older
    than its checkout's, and concurrent sessions do not disturb each other's copy). Copies unused for a day go."""
    files = []
    for name in PACKAGES:
        for dirpath, dirnames, filenames in os.walk(ROOT / name):
            dirnames[:] = [d for d in dirnames if d not in ("__pycache__", "node_modules")]
            for file in filenames:
                st = os.stat(os.path.join(dirpath, file))
                files.append(f"{dirpath}/{file}:{st.st_size}:{st.st_mtime_ns}")
    key = hashlib.sha256("\n".join(sorted(files)).encode()).hexdigest()[:12]
    code = SHARED / "code" / key
    if code.exists():
        os.utime(code)
        return code
    (SHARED / "code").mkdir(parents=True, exist_ok=True)
    (SHARED / "code").chmod(0o755)
    for old in (SHARED / "code").iterdir():
        if time.time() - old.stat().st_mtime > 86400:  # (a copy in progress is younger)
            shutil.rmtree(old, ignore_errors=True)
    tmp = SHARED / "code" / f".{key}.{os.getpid()}"
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp / name, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    subprocess.run(["chmod", "-R", "a+rX", str(tmp)], check=True)
    try:
        tmp.rename(code)
    except OSError:  # another session made it meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return code


def readable_python() -> Path:
    """A copy of this interpreter (its prefix, without the stdlib tests) any user can run."""
    dest = SHARED / "python"
    exe = dest / "bin" / Path(sys.executable).resolve().name
    if exe.exists():
        return exe
    SHARED.mkdir(parents=True, exist_ok=True)
    SHARED.chmod(0o755)
    tmp = SHARED / f"python.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(
        Path(sys.base_prefix).resolve(),
        tmp,
        symlinks=True,
        ignore=shutil.ignore_patterns("test", "tests", "site-packages", "idlelib", "tkinter", "ensurepip", "*.a"),
    )
    subprocess.run(["chmod", "-R", "a+rX", str(tmp)], check=True)
    os.replace(tmp, dest)
    return exe


def ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True)
        return pwd.getpwnam(USER)


async def drive_as_user(spec: dict[str, Any]) -> list[dict[str, Any]]:
    python = await asyncio.to_thread(service_venv)
    env = {
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": spec.get("home") or spec["state_dir"],
        "LANG": "C.UTF-8",
        "LD_LIBRARY_PATH": str(SHARED / "python" / "lib"),  # the copied interpreter's libpython
        "PYTHONPATH": str(await asyncio.to_thread(code_copy)),
    }
    user = pwd.getpwnam(USER)
    # spec["nproc"]: an RLIMIT_NPROC on the driver, a safety net counting all of the user's processes
    cap = ["/usr/bin/prlimit", f"--nproc={spec['nproc']}"] if spec.get("nproc") else []
    proc = await asyncio.create_subprocess_exec(
        *cap,
        "/usr/bin/setpriv",
        f"--reuid={user.pw_uid}",
        f"--regid={user.pw_gid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        str(python),
        "-m",
        "tests.sandbox.service_user",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=spec["state_dir"],
    )
    out, err = await proc.communicate(json.dumps(spec).encode())
    if proc.returncode != 0:
        raise AssertionError(f"the driver failed as {USER}: {err.decode(errors='replace')[-2000:]}")
    return json.loads(out.decode().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(asyncio.run(drive(json.loads(sys.stdin.read())))))
