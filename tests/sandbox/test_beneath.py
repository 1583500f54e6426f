"""`open_beneath` by openat2 and by the descriptor walk (the fallback for kernels and seccomp profiles without
openat2): every test runs over both, and the two must give the same result for every path and flag tried.

Trees live outside /tmp (under /var/tmp, as users deploy). The race test runs a real process swapping a directory
for a symlink to outside with renameat2(RENAME_EXCHANGE) while thousands of opens run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox import beneath
from sandbox.base import PathOutsideWorkspace
from sandbox.beneath import openat2_beneath
from sandbox.fdwalk import open_walk
from tests.sandbox.service_user import ROOT, SHARED

Opener = Callable[..., int]
IMPLEMENTATIONS: dict[str, Opener] = {"openat2": openat2_beneath, "fdwalk": open_walk}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def open_beneath(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Opener:
    """`beneath.open_beneath` forced to one implementation."""
    monkeypatch.setattr(beneath, "FORCE", IMPLEMENTATIONS[request.param])
    return beneath.open_beneath


def build(base: Path) -> Path:
    """A workspace `base/ws` next to `base/outside`, with links that stay inside and links that escape."""
    ws, outside = base / "ws", base / "outside"
    (ws / "d" / "e").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("OUTSIDE\n")
    (ws / "d" / "f").write_text("inside\n")
    links = {
        "ld": "d",  # a symlinked directory inside
        "d/lf": "f",
        "d/e/back": "../f",
        "chain": "ld/e/back",
        "dot": "d/e/..",
        "self": ".",
        "dang": "made",  # dangling, inside
        "up": "../outside/secret",
        "d/up2": "../../outside",
        "abs": str(outside),
        "absin": str(ws / "d"),  # absolute, even into the workspace: RESOLVE_BENEATH refuses it
        "magic": "/proc/self/root",
        "dangout": "../outside/new",
        "loop": "loop",
        "ping": "pong",
        "pong": "ping",
    }
    for link, target in links.items():
        (ws / link).symlink_to(target)
    return ws


@pytest.fixture
def base() -> Iterator[Path]:
    SHARED.mkdir(parents=True, exist_ok=True)
    path = SHARED / f"beneath-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def root(base: Path) -> Iterator[int]:
    fd = os.open(build(base), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    yield fd
    os.close(fd)


def read(open_beneath: Opener, root: int, rel: str) -> str:
    fd = open_beneath(root, rel, os.O_RDONLY)
    with os.fdopen(fd) as handle:
        return handle.read()


@pytest.mark.parametrize("rel", ["d/f", "ld/f", "ld/lf", "d/e/back", "chain", "dot/f", "self/self/d/f", "d//./f"])
def test_links_that_stay_inside_work(open_beneath: Opener, root: int, rel: str) -> None:
    assert read(open_beneath, root, rel) == "inside\n"


@pytest.mark.parametrize(
    "rel", ["..", "d/../..", "d/e/../../../outside/secret", "/etc/passwd", "up", "d/up2/secret", "abs/secret"]
)
def test_escapes_are_refused(open_beneath: Opener, root: int, rel: str) -> None:
    with pytest.raises(PathOutsideWorkspace):
        open_beneath(root, rel, os.O_RDONLY)


@pytest.mark.parametrize("rel", ["absin/f", "magic/etc/passwd", "magic"])
def test_absolute_links_are_refused_even_into_the_workspace_and_magic_links(
    open_beneath: Opener, root: int, rel: str
) -> None:
    for flags in (os.O_RDONLY, os.O_PATH):
        with pytest.raises(PathOutsideWorkspace):
            open_beneath(root, rel, flags)


def test_creating_through_a_link_to_outside_is_refused_and_creates_nothing(
    open_beneath: Opener, root: int, base: Path
) -> None:
    for rel in ("dangout", "d/up2/new", "abs/new"):
        with pytest.raises(PathOutsideWorkspace):
            open_beneath(root, rel, os.O_WRONLY | os.O_CREAT)
    assert sorted(p.name for p in (base / "outside").iterdir()) == ["secret"]


@pytest.mark.parametrize("rel", ["loop", "ping", "d/../loop/x"])
def test_symlink_loops_fail_with_eloop(open_beneath: Opener, root: int, rel: str) -> None:
    with pytest.raises(OSError) as caught:
        open_beneath(root, rel, os.O_RDONLY)
    assert caught.value.errno == errno.ELOOP and caught.value.filename == rel


def test_the_kernels_link_limit(open_beneath: Opener, root: int, base: Path) -> None:
    ws = base / "ws"
    (ws / "t0").write_text("end\n")
    for n in range(1, 42):
        (ws / f"t{n}").symlink_to(f"t{n - 1}")
    assert read(open_beneath, root, "t40") == "end\n"  # 40 links followed: fine
    with pytest.raises(OSError) as caught:
        open_beneath(root, "t41", os.O_RDONLY)
    assert caught.value.errno == errno.ELOOP


@pytest.mark.parametrize(
    ("rel", "flags", "error"),
    [
        ("missing", os.O_RDONLY, FileNotFoundError),
        ("d/missing/x", os.O_WRONLY | os.O_CREAT, FileNotFoundError),
        ("dang", os.O_RDONLY, FileNotFoundError),
        ("", os.O_RDONLY, FileNotFoundError),
        ("d/f/x", os.O_RDONLY, NotADirectoryError),
        ("ld/lf/", os.O_RDONLY, NotADirectoryError),
        ("d/f", os.O_RDONLY | os.O_DIRECTORY, NotADirectoryError),
        ("ld", os.O_WRONLY, IsADirectoryError),
        ("ld", os.O_WRONLY | os.O_CREAT, IsADirectoryError),
        ("d/f", os.O_WRONLY | os.O_CREAT | os.O_EXCL, FileExistsError),
        ("ld", os.O_WRONLY | os.O_CREAT | os.O_EXCL, FileExistsError),  # O_EXCL: a link is not followed
        ("ld", os.O_RDONLY | os.O_NOFOLLOW, OSError),  # ELOOP: the final link is not followed
    ],
)
def test_errors_are_the_opens_with_the_path_named(
    open_beneath: Opener, root: int, rel: str, flags: int, error: type[OSError]
) -> None:
    with pytest.raises(error) as caught:
        open_beneath(root, rel, flags, 0o644)
    assert caught.value.filename == rel
    if error is OSError:
        assert caught.value.errno == errno.ELOOP


def test_a_nul_byte_is_refused(open_beneath: Opener, root: int) -> None:
    with pytest.raises(ValueError, match="null"):
        open_beneath(root, "d/f\x00/../../../etc/passwd", os.O_RDONLY)


def test_creating_through_a_symlinked_directory_inside(open_beneath: Opener, root: int, base: Path) -> None:
    ws = base / "ws"
    os.close(open_beneath(root, "ld/new", os.O_WRONLY | os.O_CREAT, 0o640))
    assert (ws / "d" / "new").is_file() and not (ws / "d" / "new").is_symlink()
    assert (ws / "d" / "new").stat().st_mode & 0o777 == 0o640 & ~_umask()
    os.close(open_beneath(root, "dang", os.O_WRONLY | os.O_CREAT))  # a dangling link inside: its target is made
    assert (ws / "made").is_file()
    fd = open_beneath(root, "dot/e/../e", os.O_TMPFILE | os.O_WRONLY, 0o600)  # an unnamed file in d/e
    try:
        assert os.fstat(fd).st_nlink == 0
    finally:
        os.close(fd)
    fd = open_beneath(root, "ld", os.O_PATH | os.O_NOFOLLOW)  # O_NOFOLLOW | O_PATH: the link itself
    try:
        assert os.readlink("", dir_fd=fd) == "d"
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


MAGIC = """
import json, os, sys
from sandbox.base import PathOutsideWorkspace
from tests.sandbox.test_beneath import IMPLEMENTATIONS
ws, secret = sys.argv[1], sys.argv[2]
os.mkdir(os.path.join(ws, "proc"))
os.system(f"mount -t proc proc {ws}/proc")  # (a private mount namespace: gone with this process)
held = os.open(secret, os.O_RDONLY)  # a descriptor on a file outside: /proc/self/fd/N would reach it
out = {}
for name, opener in IMPLEMENTATIONS.items():
    root = os.open(ws, os.O_PATH | os.O_DIRECTORY)
    pid = os.getpid()
    for rel in (f"proc/self/fd/{held}", "proc/self/root/etc/hostname", "proc/self/cwd/x", f"proc/{pid}/fd/{held}"):
        try:
            fd = opener(root, rel, os.O_RDONLY)
            out[f"{name} {rel}"] = os.read(fd, 100).decode()
        except PathOutsideWorkspace:
            out[f"{name} {rel}"] = "refused"
        except OSError as exc:
            out[f"{name} {rel}"] = "refused" if exc.errno == 40 else exc.strerror  # ELOOP: RESOLVE_NO_MAGICLINKS
    out[f"{name} proc/self/status"] = "read" if b"Pid:" in os.read(opener(root, "proc/self/status", 0), 4096) else "?"
print(json.dumps(out))
"""


def test_magic_links_are_never_followed(base: Path) -> None:
    """A procfs mounted inside the workspace (in a private mount namespace, as root): /proc/self/fd/N, root, cwd never
    lead outside; the ordinary files and links of procfs still work."""
    ws = build(base)
    run = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            sys.executable,
            "-c",
            MAGIC,
            str(ws),
            str(base / "outside" / "secret"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert len(result) == 10 and set(result.values()) == {"refused", "read"}, result


# ---------------------------------------------------------------- the two implementations agree

PATHS = [
    "d/f", "ld/f", "ld/lf", "ld/lf/", "d/e/back", "chain", "dot", "dot/f", "self", ".", "d/", "d/.", "d/..", "..",
    "d/../..", "up", "d/up2", "abs", "absin", "magic", "dang", "dangout", "loop", "ping", "missing", "d/f/x", "/etc",
    "ld/../d/f", "self/../x", "d//f", "d/./", "d//", "d/../", "ld/", "new/", "self/", "./" * 2046 + "d/f",
    "./" * 2046 + "d//f", "self/" * 40 + "d/f", "self/" * 41 + "d/f",
]  # (the last four: 4095 and 4096 bytes long, 40 and 41 links)  # fmt: skip
FLAGS = [
    os.O_RDONLY, os.O_WRONLY, os.O_PATH, os.O_PATH | os.O_DIRECTORY, os.O_RDONLY | os.O_DIRECTORY,
    os.O_RDONLY | os.O_NOFOLLOW, os.O_PATH | os.O_NOFOLLOW, os.O_RDONLY | os.O_NONBLOCK,
    os.O_WRONLY | os.O_CREAT, os.O_WRONLY | os.O_CREAT | os.O_EXCL, os.O_TMPFILE | os.O_WRONLY,
]  # fmt: skip


def outcome(opener: Opener, root: int, rel: str, flags: int) -> tuple[object, ...]:
    try:
        fd = opener(root, rel, flags, 0o600)
    except PathOutsideWorkspace:
        return ("outside",)
    except OSError as exc:
        return (type(exc).__name__, exc.errno, exc.filename)
    result = os.fstat(fd)
    os.close(fd)
    return ("opened", result.st_mode, result.st_size, result.st_nlink)


def tree(ws: Path) -> list[tuple[str, bool]]:
    return sorted((str(p.relative_to(ws.parent)), p.is_symlink()) for p in ws.parent.rglob("*"))


def test_both_implementations_give_the_same_result_for_every_path_and_flag(base: Path) -> None:
    """Creating flags change the tree: each implementation works on its own copy, and the copies must end equal."""
    roots = {}
    for i, name in enumerate(IMPLEMENTATIONS):
        ws = build(base / f"copy{i}")  # (paths of the same length: absolute links have the same size)
        roots[name] = (ws, os.open(ws, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
    try:
        differences = []
        for rel in PATHS:
            for flags in FLAGS:
                got = {name: outcome(IMPLEMENTATIONS[name], fd, rel, flags) for name, (_, fd) in roots.items()}
                if len(set(got.values())) != 1:
                    differences.append((rel, oct(flags), got))
        assert differences == []
        trees = [tree(ws) for ws, _ in roots.values()]
        assert trees[0] == trees[1]
    finally:
        for _, fd in roots.values():
            os.close(fd)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_no_descriptor_is_leaked_by_opens_that_succeed_or_fail(open_beneath: Opener, root: int) -> None:
    before = open_fds()
    for _ in range(40):
        for rel in PATHS:
            for flags in (os.O_RDONLY, os.O_PATH, os.O_RDONLY | os.O_DIRECTORY, os.O_WRONLY | os.O_CREAT):
                with contextlib.suppress(OSError, PathOutsideWorkspace):
                    os.close(open_beneath(root, rel, flags))
    assert open_fds() == before


# ---------------------------------------------------------------- against a racing command

SWAPPER = """
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
print("ready", flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    libc.renameat2(AT_FDCWD, b"d", AT_FDCWD, b"l", RENAME_EXCHANGE)  # a directory <-> a link to outside
    libc.renameat2(AT_FDCWD, b"k/f", AT_FDCWD, b"k/lf", RENAME_EXCHANGE)  # a file <-> an absolute link to outside
"""


def test_a_command_swapping_directories_for_links_to_outside_never_gets_an_open_outside(
    open_beneath: Opener, base: Path
) -> None:
    ws, outside = base / "race", base / "outside"
    (ws / "d").mkdir(parents=True)
    (ws / "k").mkdir()
    outside.mkdir()
    (ws / "d" / "f").write_text("inside\n")
    (ws / "k" / "f").write_text("inside\n")
    (outside / "f").write_text("OUTSIDE\n")
    (ws / "l").symlink_to("../outside")
    (ws / "k" / "lf").symlink_to(outside / "f")
    root = os.open(ws, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, "60"], cwd=ws, stdout=subprocess.PIPE, text=True)
    reads: list[str] = []
    try:
        assert swapper.stdout is not None and swapper.stdout.readline() == "ready\n"
        for i in range(1500):
            for rel, flags in (("d/f", os.O_RDONLY), ("k/f", os.O_RDONLY), (f"d/w{i}", os.O_WRONLY | os.O_CREAT)):
                try:
                    fd = open_beneath(root, rel, flags)
                except (OSError, PathOutsideWorkspace):
                    continue  # refused or not there at that instant: never outside
                with os.fdopen(fd, "rb" if flags == os.O_RDONLY else "wb") as handle:
                    if flags == os.O_RDONLY:
                        reads.append(handle.read().decode())
                    else:
                        handle.write(b"x")
        assert swapper.poll() is None, "the swapper stopped before the opens ended"
    finally:
        swapper.kill()
        swapper.wait()
        os.close(root)
    assert "OUTSIDE\n" not in reads
    assert sorted(p.name for p in outside.iterdir()) == ["f"], "a create landed outside"
    assert reads.count("inside\n") > 100, "reads went through while racing"


# ---------------------------------------------------------------- which implementation a system gets

CHOOSER = """
import ctypes, ctypes.util, errno, json, os, sys
refuse = sys.argv[2]
if refuse != "none":  # a seccomp filter answering openat2 with ENOSYS (an old kernel) or EPERM (a container profile)
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(0x7FFF0000)
    nr = lib.seccomp_syscall_resolve_name(b"openat2")
    assert lib.seccomp_rule_add(ctx, 0x00050000 | getattr(errno, refuse), nr, 0) == 0
    assert lib.seccomp_load(ctx) == 0
from sandbox import beneath
from sandbox.base import PathOutsideWorkspace
root = os.open(sys.argv[1], os.O_PATH | os.O_DIRECTORY)
raw = beneath._openat2(root, ".", os.O_PATH, 0)
out = {"raw": "ok" if raw >= 0 else errno.errorcode[ctypes.get_errno()]}
fd = beneath.open_beneath(root, "ld/f", os.O_RDONLY)
out["read"] = os.read(fd, 100).decode()
out["chosen"] = beneath.implementation().__name__
try:
    beneath.open_beneath(root, "up", os.O_RDONLY)
except PathOutsideWorkspace:
    out["escape"] = "refused"
print(json.dumps(out))
"""


@pytest.mark.parametrize(
    ("refuse", "chosen"), [("ENOSYS", "open_walk"), ("EPERM", "open_walk"), ("none", "openat2_beneath")]
)
def test_the_walk_is_chosen_when_the_system_refuses_openat2(base: Path, refuse: str, chosen: str) -> None:
    ws = build(base)
    run = subprocess.run(
        [sys.executable, "-c", CHOOSER, str(ws), refuse], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result == {
        "raw": "ok" if refuse == "none" else refuse,
        "read": "inside\n",
        "chosen": chosen,
        "escape": "refused",
    }
    assert ("openat2 is unavailable" in run.stderr) == (refuse != "none"), run.stderr
