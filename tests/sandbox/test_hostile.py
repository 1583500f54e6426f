"""Backend-agnostic conformance under hostile input: escapes, runaway commands, huge or garbled output, leaks.

Only the `Sandbox` protocol is used. Tests marked `capability(...)` run only on backends declaring it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sandbox.base import FileKind, PathOutsideWorkspace, Sandbox, SandboxError

# ---------------------------------------------------------------- escapes

ESCAPES = ["..", "../x.txt", "../../etc/passwd", "sub/../../x.txt", "/etc/passwd", "/tmp/escape-probe.txt", "/"]

Op = Callable[[Sandbox, str], Awaitable[object]]
OPERATIONS: dict[str, Op] = {
    "read": lambda sb, p: sb.read(p),
    "write": lambda sb, p: sb.write(p, "pwned"),
    "list": lambda sb, p: sb.list(p),
    "stat": lambda sb, p: sb.stat(p),
    "download": lambda sb, p: sb.download(p),
    "upload": lambda sb, p: sb.upload({"fine.txt": b"ok", p: b"pwned"}),
    "search": lambda sb, p: sb.search("root", path=p),
    "exec-cwd": lambda sb, p: sb.exec("pwd", cwd=p),
}


@pytest.mark.parametrize("op", list(OPERATIONS))
async def test_path_traversal_is_refused(sandbox: Sandbox, op: str) -> None:
    for path in ESCAPES:
        with pytest.raises(PathOutsideWorkspace):
            await OPERATIONS[op](sandbox, path)
    assert (await sandbox.exec("test -e fine.txt || echo absent")).output == "absent\n", "upload is all or nothing"


SYMLINKS = "ln -s /etc etc-link && ln -s /etc/passwd passwd-link && ln -s /nonexistent-dir/f dangling-link"


@pytest.mark.parametrize(
    ("op", "path"),
    [
        ("read", "passwd-link"),
        ("read", "etc-link/passwd"),
        ("download", "passwd-link"),
        ("stat", "passwd-link"),
        ("list", "etc-link"),
        ("search", "etc-link"),
        ("exec-cwd", "etc-link"),
        ("write", "passwd-link"),
        ("write", "etc-link/evil"),
        ("write", "etc-link/new/dir/evil"),
        ("write", "dangling-link"),
        ("upload", "etc-link/evil"),
    ],
)
async def test_symlink_escape_is_refused(sandbox: Sandbox, op: str, path: str) -> None:
    assert (await sandbox.exec(SYMLINKS)).ok
    with pytest.raises(PathOutsideWorkspace):
        await OPERATIONS[op](sandbox, path)
    leaked = await sandbox.exec("test -e /etc/evil -o -e /nonexistent-dir && echo LEAK || echo clean")
    assert leaked.output == "clean\n"


async def test_symlinks_inside_the_workspace_work(sandbox: Sandbox) -> None:
    await sandbox.write("real/target.txt", "inside")
    assert (await sandbox.exec("ln -s real/target.txt good-link && ln -s real good-dir && ln -s /etc etc-link")).ok
    assert (await sandbox.read("good-link")).text == "inside"
    assert (await sandbox.read("good-dir/target.txt")).text == "inside"
    await sandbox.write("good-link", "rewritten")
    assert (await sandbox.read("real/target.txt")).text == "rewritten"
    listed = {info.path: info for info in await sandbox.list(".", depth=3)}
    assert not any(p.startswith("etc-link/") for p in listed), "a listing must not descend into a link to outside"
    assert listed["etc-link"].kind in (FileKind.SYMLINK, FileKind.DIRECTORY)
    assert not [m for m in (await sandbox.search("root:")).matches], "search must not follow a link to outside"


# ---------------------------------------------------------------- runaway commands


async def test_timeout_kills_the_command_and_its_children(sandbox: Sandbox) -> None:
    started = time.monotonic()
    result = await sandbox.exec(
        "sleep 300 & echo $! > pids; (sleep 301; echo never) & echo $! >> pids; sleep 302 | cat & echo started; wait",
        timeout=1,
    )
    assert result.timed_out and result.exit_code != 0 and not result.ok
    assert "started" in result.output, "output produced before the timeout is kept"
    assert time.monotonic() - started < 10
    survivors = await sandbox.exec(
        "for p in $(cat pids); do kill -0 $p 2>/dev/null && echo alive $p; done; "
        "ps -eo args 2>/dev/null | grep -E '^sleep 30[0-2]' || true"
    )
    assert survivors.output == "", survivors.output


async def test_timeout_kills_only_that_command(sandbox: Sandbox) -> None:
    slow = asyncio.create_task(sandbox.exec("sleep 1.5; echo survived", timeout=30))
    hung = await sandbox.exec("sleep 300", timeout=0.5)
    assert hung.timed_out
    assert (await slow).output == "survived\n"
    assert (await sandbox.exec("echo still works")).output == "still works\n"


async def test_command_that_ignores_sigterm(sandbox: Sandbox) -> None:
    result = await sandbox.exec("trap '' TERM INT HUP; echo armored; sleep 300", timeout=1)
    assert result.timed_out and "armored" in result.output


async def test_fifty_megabytes_of_output_are_capped(sandbox: Sandbox) -> None:
    started = time.monotonic()
    result = await sandbox.exec("echo FIRST; head -c 50000000 /dev/zero | tr '\\0' a; echo; echo LAST")
    assert result.ok and result.truncated
    assert result.output.startswith("FIRST\n") and result.output.endswith("LAST\n")
    assert "bytes omitted" in result.output and len(result.output) < 1024 * 1024
    assert time.monotonic() - started < 30


async def test_binary_and_invalid_utf8_output(sandbox: Sandbox) -> None:
    result = await sandbox.exec(r"printf 'ok \xff\xfe \x00 end\n'")
    assert result.ok and result.output == "ok \ufffd\ufffd \ufffd end\n"
    noise = await sandbox.exec("head -c 100000 /dev/urandom")
    assert noise.ok and isinstance(noise.output, str) and "\x00" not in noise.output


async def test_huge_file_read_is_bounded(sandbox: Sandbox) -> None:
    assert (await sandbox.exec("head -c 60000000 /dev/zero | tr '\\0' b > huge.txt")).ok
    content = await sandbox.read("huge.txt", max_bytes=1000)
    assert content.truncated and content.size == 60_000_000 and content.text == "b" * 1000
    default = await sandbox.read("huge.txt")
    assert default.truncated and default.text is not None and len(default.text) < 60_000_000


async def test_missing_file_is_a_clear_error(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match=r"missing/file\.txt"):
        await sandbox.read("missing/file.txt")


# ---------------------------------------------------------------- secrets

SECRETS = {
    "OPENAI_API_KEY": "sk-conformance-openai-0123456789",
    "DAYTONA_API_KEY": "dtn-conformance-0123456789",
    "GITHUB_TOKEN": "ghp_conformance0123456789",
    "GITHUB_APP_PRIVATE_KEY": "-----BEGIN conformance-----",
    "LANGSMITH_API_KEY": "lsv2-conformance-0123456789",
}


async def test_service_secrets_never_reach_a_command(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    result = await sandbox.exec("env | grep -iE 'KEY|TOKEN|SECRET' ; env; cat /proc/self/environ | tr '\\0' '\\n'")
    for value in SECRETS.values():
        assert value not in result.output
    with pytest.raises(SandboxError, match="GITHUB_TOKEN"):
        await sandbox.exec("env", env={"GITHUB_TOKEN": "ghp_passed_explicitly"})


# ---------------------------------------------------------------- isolation (declared capabilities)


@pytest.mark.capability("network_isolation")
async def test_isolated_command_has_no_network(sandbox: Sandbox) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        probe = f"timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' 2>/dev/null && echo CONNECTED || echo BLOCKED"
        result = await sandbox.exec(probe)
    assert result.output.strip() == "BLOCKED"


@pytest.mark.capability("readonly_host")
async def test_isolated_command_cannot_write_outside_the_workspace(sandbox: Sandbox) -> None:
    result = await sandbox.exec(
        "for f in /usr/probe /etc/probe /probe /var/probe; do echo x > $f && echo WROTE $f; done"
    )
    assert "WROTE" not in result.output
    name = f"sandbox-probe-{uuid.uuid4().hex}"
    await sandbox.exec(f"echo x > /var/tmp/{name}")
    assert not Path("/var/tmp", name).exists(), "the host's /var/tmp must not be the command's"
    assert (await sandbox.exec("echo x > inside.txt && cat inside.txt")).output == "x\n"


@pytest.mark.capability("pid_isolation")
async def test_isolated_command_sees_only_its_own_processes(sandbox: Sandbox) -> None:
    result = await sandbox.exec("ls /proc | grep -cE '^[0-9]+$'")
    assert int(result.output) < 10, result.output


@pytest.mark.capability("private_tmp")
async def test_isolated_command_has_its_own_tmp(sandbox: Sandbox) -> None:
    name = f"sandbox-private-tmp-{uuid.uuid4().hex}"
    assert (await sandbox.exec(f"echo x > /tmp/{name} && cat /tmp/{name}")).output == "x\n"
    assert not Path("/tmp", name).exists(), "the service's /tmp must not be the command's"
