"""The local sandbox against a hostile command, as root and as an unprivileged service user, outside /tmp.

Each test drives `LocalProvider` the way the agent does (see `service_user.drive`), parametrized over the service user
(`root`, and an unprivileged user the fixture creates) and, where it applies, isolation and workspace mode.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.service_user import ROOT, SHARED, drive, drive_as_user, ensure_user


@dataclass
class Service:
    user: str
    uid: int
    gid: int
    base: Path

    async def run(
        self, ops: list[list[Any]], *, isolation: str = "bwrap", mode: str = "in_place", **extra: Any
    ) -> list[dict[str, Any]]:
        threads = extra.pop("threads", None) or [["t1", ops]]
        spec = {
            "isolation": isolation,
            "mode": mode,
            "state_dir": str(self.base / "state"),
            "project": str(extra.get("project") or self.base / "project"),
            "threads": threads,
            "settings": extra.get("settings", {}),
            "home": extra.get("home"),
            "beneath": extra.get("beneath"),
        }
        return await (drive(spec) if self.user == "root" else drive_as_user(spec))


def make_project(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "README.md").write_text("hello\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(path)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)


@pytest.fixture(params=["root", "user"])
def service(request: pytest.FixtureRequest) -> Iterator[Service]:
    SHARED.mkdir(parents=True, exist_ok=True)
    SHARED.chmod(0o755)
    base = SHARED / uuid.uuid4().hex[:12]
    base.mkdir()
    make_project(base / "project")
    (base / "state").mkdir()
    if request.param == "root":
        yield Service("root", 0, 0, base)
    else:
        user = ensure_user()
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(base)], check=True)
        yield Service(user.pw_name, user.pw_uid, user.pw_gid, base)
    shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- no privilege inside


async def test_no_capability_no_new_privs_seccomp_and_an_unprivileged_uid(service: Service) -> None:
    (status, ids) = await service.run([["exec", "cat /proc/self/status"], ["exec", "id -u; id -g"]])
    fields = dict(line.split(":\t", 1) for line in status["out"].splitlines() if ":\t" in line)
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[cap], 16) == 0, f"{cap} = {fields[cap]}"
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2", "a seccomp filter must be loaded"
    uid, gid = (int(v) for v in ids["out"].split())
    assert uid != 0 and gid != 0


SYSCALLS = {  # x86_64 numbers: name -> (nr, args)
    "mount": (165, (0, 0, 0, 0, 0)),
    "umount2": (166, (0, 0)),
    "unshare(CLONE_NEWUSER)": (272, (0x10000000,)),
    "unshare(CLONE_NEWNS)": (272, (0x00020000,)),
    "setns": (308, (0, 0)),
    "ptrace(PTRACE_ATTACH, 1)": (101, (16, 1, 0, 0)),
    "keyctl": (250, (0, 0)),
    "bpf": (321, (0, 0, 0)),
    "perf_event_open": (298, (0, 0, 0, 0, 0)),
    "userfaultfd": (323, (0,)),
    "init_module": (175, (0, 0, 0)),
    "kexec_load": (246, (0, 0, 0, 0)),
    "clone(CLONE_NEWUSER)": (56, (0x10000000 | 17, 0, 0, 0, 0)),
    "clone(CLONE_NEWNET)": (56, (0x40000000 | 17, 0, 0, 0, 0)),
    "io_uring_setup": (425, (1, 0)),
    "open_by_handle_at": (304, (0, 0, 0)),
    "pivot_root": (155, (0, 0)),
}
PROBE = """
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
out = {}
for name, (nr, args) in json.loads(sys.argv[1]).items():
    rc = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    if rc == 0 and name.startswith("clone"):
        os._exit(0) if os.getpid() != int(sys.argv[2]) else None
    out[name] = "ok" if rc >= 0 else os.strerror(ctypes.get_errno())
print(json.dumps(out))
"""


async def test_confinement_breaking_syscalls_are_refused(service: Service) -> None:
    assert platform.machine() == "x86_64", "the syscall numbers below are x86_64's"
    import json
    import shlex

    script = f"/usr/bin/python3 -c {shlex.quote(PROBE)} {shlex.quote(json.dumps(SYSCALLS))} $$"
    (result, unshare, mount) = await service.run(
        [["exec", script], ["exec", "unshare -Ur id -u"], ["exec", "mount -t tmpfs none /mnt"]]
    )
    refused = json.loads(result["out"].strip().splitlines()[-1])
    assert refused == {name: "Operation not permitted" for name in SYSCALLS}, refused
    assert not unshare["ok"] and not mount["ok"]


async def test_files_made_inside_belong_to_the_service_user(service: Service) -> None:
    await service.run([["exec", "mkdir -p made/deep && touch made/deep/file made/top"]])
    for path in ("made", "made/deep/file", "made/top"):
        st = (service.base / "project" / path).stat()
        assert (st.st_uid, st.st_gid) == (service.uid, service.gid), path


# ---------------------------------------------------------------- deny by default


async def test_only_the_system_the_workspace_and_private_dirs_are_visible(service: Service) -> None:
    state = service.base / "state"
    (extra := service.base / "toolchain").mkdir()
    (extra / "tool").write_text("tool\n")
    os.chown(extra, service.uid, service.gid)
    secret_paths = [
        "/root",
        "/home",
        "/run",
        "/srv",
        "/mnt",
        "/var/lib",
        "/etc/shadow",
        "/etc/gshadow",
        str(ROOT),
        str(state),
    ]
    secret_paths += [str(p) for p in Path("/etc/ssh").glob("ssh_host_*key")]
    probe = "; ".join(
        f"if [ -d {p} ]; then ls -A {p} | head -3; else head -c 64 {p}; fi 2>/dev/null" for p in secret_paths
    )
    results = await service.run(
        [
            ["exec", probe],
            ["exec", f"cat {extra}/tool && (echo x > {extra}/tool) 2>/dev/null || echo readonly"],
            ["exec", "cat /etc/passwd >/dev/null && ls /usr/bin/env && echo ok"],
        ],
        settings={"extra_ro_paths": str(extra)},
    )
    assert results[0]["out"] == "", results[0]["out"]
    assert results[1]["out"] == "tool\nreadonly\n"
    assert results[2]["out"].endswith("ok\n")


async def test_home_credentials_are_masked_through_symlinks_when_home_is_visible(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a workspace that contains the service user's HOME (e.g. the project is the home directory)
    home = service.base / "project"
    (home / "dotfiles" / "aws").mkdir(parents=True)
    (home / "dotfiles" / "aws" / "credentials").write_text("aws_secret_access_key=AKIA-SECRET\n")
    (home / ".aws").symlink_to("dotfiles/aws")
    subprocess.run(["chown", "-R", f"{service.uid}:{service.gid}", str(home)], check=True)
    monkeypatch.setenv("HOME", str(home))
    (result,) = await service.run(
        [["exec", "cat .aws/credentials dotfiles/aws/credentials 2>&1; true"]], home=str(home)
    )
    assert "AKIA-SECRET" not in result["out"]


# ---------------------------------------------------------------- the project's toolchain


@pytest.mark.parametrize("isolation", ["bwrap", "none"])
async def test_path_holds_nothing_of_the_service_and_ripgrep_is_there(service: Service, isolation: str) -> None:
    (path, rg, python) = await service.run(
        [["exec", "echo $PATH"], ["exec", "rg --version | head -1"], ["exec", "command -v python3"]],
        isolation=isolation,
    )
    assert ".venv" not in path["out"] and "open-swe-tests/venv" not in path["out"] and str(ROOT) not in path["out"]
    assert rg["ok"] and rg["out"].startswith("ripgrep "), rg
    found = python["out"].strip()
    assert not Path(found).is_relative_to(ROOT) and "open-swe-tests" not in found, found
    if isolation == "bwrap":
        assert found in ("/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"), found


# ---------------------------------------------------------------- search


@pytest.mark.parametrize("isolation", ["bwrap", "none"])
async def test_search_survives_fifos_devices_dash_and_huge_lines(service: Service, isolation: str) -> None:
    project = service.base / "project"
    os.mkfifo(project / "fifo")
    (project / "-").write_text("needle in dash\n")
    (project / "big.min.js").write_text("needle" + "a" * 20_000_000 + "\n")
    subprocess.run(["chown", "-R", f"{service.uid}:{service.gid}", str(project)], check=True)
    results = await service.run(
        [["search", "needle", "."], ["search", "needle", "fifo"], ["search", "needle", "-"]], isolation=isolation
    )
    found = {m[0]: m for m in results[0]["out"]}
    assert set(found) == {"-", "big.min.js"}, found
    assert found["big.min.js"][2].startswith("needleaaa") and len(found["big.min.js"][2]) <= 1100
    assert "NotAFile" in results[1]["error"]
    assert results[2]["out"] == [["-", 1, "needle in dash"]]


async def test_search_cannot_be_raced_outside_the_workspace(service: Service) -> None:
    """A command swaps a directory for a symlink to outside over and over while searches run: none finds outside."""
    outside = service.base / "outside"
    outside.mkdir()
    (outside / "f").write_text("marker OUTSIDE\n")
    swap = (
        f"mkdir -p d && echo 'marker inside' > d/f && ln -sfn {outside} l && "
        'python3 -c "import ctypes,os,time\n'
        "libc=ctypes.CDLL(None,use_errno=True)\n"
        "end=time.time()+6\n"
        "while time.time()<end: libc.renameat2(-100,b'd',-100,b'l',2)\" >/dev/null 2>&1 &"
    )
    ops: list[list[Any]] = [["exec", swap], *(["search", "marker", "d"] for _ in range(100))]
    results = await service.run(ops)
    found = [m for r in results[1:] for m in r.get("out", [])]
    assert not [m for m in found if "OUTSIDE" in m[2]], found[:3]


# ---------------------------------------------------------------- git: nothing planted runs on the host


def planted(pwned: Path) -> str:
    """Planted code: it records whether it ran inside a sandboxed command (whose environment has the runner's mark)."""
    return f"echo x$OPEN_SWE_COMMAND >> {pwned}"


def ran_outside(pwned: Path) -> bool:
    return pwned.exists() and "x" in pwned.read_text().split()


def host_git_status(project: Path) -> None:
    """What the user does next, with their own git and configuration."""
    subprocess.run(["git", "status", "--short"], cwd=project, capture_output=True, check=False)
    subprocess.run(["git", "diff", "HEAD"], cwd=project, capture_output=True, check=False)


async def test_a_command_cannot_plant_code_in_the_repository_git_runs(service: Service) -> None:
    pwned = service.base / "pwned"
    plant = (
        f"git config core.fsmonitor 'touch {pwned}'; echo '[core]\n\tfsmonitor = touch {pwned}' >> .git/config; "
        f"printf '#!/bin/sh\\ntouch {pwned}\\n' > .git/hooks/post-checkout; chmod +x .git/hooks/post-checkout; "
        f"echo '* filter=x' > .git/info/attributes; mv .git .git-moved; "
        f"mkdir -p evil .git/modules/sub && printf '[core]\\n\\tfsmonitor = touch {pwned}\\n' > evil/config; "
        "cp evil/config .git/modules/sub/config; cp -r .git/objects .git/refs evil/; echo ../evil > .git/commondir; "
        "ls -A .git | sort | tr '\\n' ' '"
    )
    (result,) = await service.run([["exec", plant]])
    assert "HEAD" in result["out"], result
    project = service.base / "project"
    assert (
        not (project / ".git" / "commondir").exists() and not (project / ".git" / "modules" / "sub" / "config").exists()
    )
    assert "fsmonitor" not in (project / ".git" / "config").read_text()
    assert not (project / ".git" / "hooks" / "post-checkout").exists()
    assert not (project / ".git-moved").exists() and (project / ".git" / "HEAD").is_file()
    host_git_status(project)
    assert not pwned.exists(), "the user's next git status ran planted code"


async def test_a_directory_without_git_gets_a_protected_repository(service: Service) -> None:
    plain = service.base / "plain"
    plain.mkdir()
    (plain / "a.txt").write_text("a\n")
    os.chown(plain, service.uid, service.gid)
    pwned = service.base / "pwned"
    (result,) = await service.run(
        [["exec", f"git init -q; git config core.fsmonitor 'touch {pwned}' 2>&1; ls -A"]], project=str(plain)
    )
    assert ".git" in result["out"].split() and "fsmonitor" not in (plain / ".git" / "config").read_text()
    host_git_status(plain)
    assert not pwned.exists()


@pytest.mark.parametrize("isolation", ["bwrap", "none"])
async def test_threads_in_worktree_mode_cannot_reach_each_other_or_the_host(service: Service, isolation: str) -> None:
    pwned = service.base / "pwned"
    project = service.base / "project"
    plant_a = (
        f"git config filter.x.smudge '{planted(pwned)}'; git config core.fsmonitor '{planted(pwned)}'; "
        "echo '* filter=x' > .gitattributes; git add .gitattributes; "
        "git -c user.name=a -c user.email=a@a commit -qm attrs; "
        "git update-ref refs/heads/agent/t2 HEAD; git update-ref refs/heads/main HEAD; echo done"
    )
    if isolation == "bwrap":  # without isolation a command can write anywhere the service can: not a git matter
        plant_a = f"(git -C {project} config core.fsmonitor '{planted(pwned)}') 2>/dev/null; {plant_a}"
    results = await service.run(
        [],
        isolation=isolation,
        mode="worktree",
        threads=[
            ["t2", [["exec", "echo mine > secret-b.txt"], ["root"]]],
            ["t1", [["exec", plant_a], ["root"]]],
            ["t2", [["exec", "cat README.md"]]],
        ],
    )
    root_b, root_a = Path(results[1]["out"]), Path(results[3]["out"])
    assert root_a != root_b and "done" in results[2]["out"]
    host_git_status(project)
    assert not ran_outside(pwned), "planted code ran on the host"
    assert "fsmonitor" not in (project / ".git" / "config").read_text()
    main = subprocess.run(["git", "rev-parse", "main"], cwd=project, capture_output=True, text=True).stdout
    first = subprocess.run(["git", "rev-list", "--max-parents=0", "main"], cwd=project, capture_output=True, text=True)
    assert main == first.stdout, "thread t1 moved the repository's main branch"
    if isolation == "bwrap":
        (peek,) = await service.run(
            [["exec", f"cat {root_b}/secret-b.txt; ls {root_b.parent}"]], isolation=isolation, mode="worktree"
        )
        lines = peek["out"].splitlines()
        assert "mine" not in lines and "t2" not in lines and "No such file" in peek["out"], lines


# ---------------------------------------------------------------- file operations against a racing command


@pytest.mark.parametrize("resolver", ["openat2", "fdwalk"])
@pytest.mark.parametrize("isolation", ["bwrap", "none"])
async def test_file_operations_cannot_be_raced_outside_the_workspace(
    service: Service, isolation: str, resolver: str
) -> None:
    """While a command swaps a directory for a symlink to outside as fast as it can, 300 reads and 300 writes through
    that directory never read outside content nor land outside; by openat2 and by the descriptor walk that replaces
    it on kernels without openat2 (`sandbox/fdwalk.py`)."""
    outside = service.base / "outside"
    outside.mkdir()
    (outside / "f").write_text("OUTSIDE\n")
    os.chown(outside, service.uid, service.gid)
    swap = (
        f"mkdir -p d && echo inside > d/f && ln -sfn {outside} l && "
        'python3 -c "import ctypes,time\n'
        "libc=ctypes.CDLL(None,use_errno=True)\n"
        "end=time.time()+20\n"
        "while time.time()<end: libc.renameat2(-100,b'd',-100,b'l',2)\" >/dev/null 2>&1 &"
    )
    ops: list[list[Any]] = [["exec", swap]]
    for i in range(300):
        ops += [["read", "d/f"], ["write", f"d/w{i}", "x"]]
    results = await service.run(ops, isolation=isolation, beneath=resolver)
    reads = [r.get("out") for r in results[1::2]]
    assert "OUTSIDE\n" not in reads
    assert sorted(p.name for p in outside.iterdir()) == ["f"], "a write landed outside"
    assert reads.count("inside\n") > 0, "some reads went through (the test raced something)"
