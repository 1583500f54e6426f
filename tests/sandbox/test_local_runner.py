"""Local-backend specifics the protocol cannot see: the resident runner, process cleanup, what bwrap hides."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sandbox.isolation import Bwrap, find_bwrap
from sandbox.local import LocalSandbox
from sandbox.settings import SandboxSettings
from tests.support.processes import processes_with, wait_until_gone

BWRAP = find_bwrap(None)
VARIANTS = ["plain", "bwrap"]


def bwrap_or_fail() -> str:
    if BWRAP is None:
        pytest.fail("bubblewrap is missing: apt-get install bubblewrap", pytrace=False)
    return BWRAP


@pytest.fixture(params=VARIANTS)
async def local(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    (tmp_path / "ws").mkdir()
    isolation = Bwrap(bwrap_or_fail()) if request.param == "bwrap" else None
    settings = SandboxSettings(state_dir=tmp_path / "state")
    async with LocalSandbox(tmp_path / "ws", settings=settings, isolation=isolation) as sandbox:
        yield sandbox


async def test_background_processes_outlive_the_command_but_not_the_sandbox(tmp_path: Path) -> None:
    for variant in VARIANTS:
        ws = tmp_path / variant
        ws.mkdir()
        marker = f"PROBE={uuid.uuid4().hex}"
        isolation = Bwrap(bwrap_or_fail()) if variant == "bwrap" else None
        async with LocalSandbox(ws, isolation=isolation) as sandbox:
            started = await sandbox.exec(
                "for i in $(seq 20); do (while true; do sleep 0.05; done) & done; (setsid sleep 300 &); echo spawned",
                env={"PROBE": marker.split("=", 1)[1]},
            )
            assert started.ok and started.output == "spawned\n" and started.duration < 5
            assert len(processes_with(marker)) >= 21, "background jobs keep running between commands"
        assert await wait_until_gone(marker) == [], f"{variant}: aclose must kill every process the sandbox started"


async def test_timeout_also_kills_processes_that_left_the_session(local: LocalSandbox) -> None:
    marker = uuid.uuid4().hex
    result = await local.exec(
        "(setsid sleep 303 &); (setsid bash -c 'sleep 304 & wait' &); echo started; sleep 300",
        timeout=1,
        env={"PROBE": marker},
    )
    assert result.timed_out and result.output == "started\n"
    assert await wait_until_gone(f"PROBE={marker}") == []


async def test_many_children_are_killed_on_timeout(local: LocalSandbox) -> None:
    marker = uuid.uuid4().hex
    result = await local.exec("while true; do sleep 300 & sleep 0.002; done", timeout=1, env={"PROBE": marker})
    assert result.timed_out and result.exit_code == 124
    assert await wait_until_gone(f"PROBE={marker}") == []


async def test_runner_is_restarted_when_it_dies(local: LocalSandbox) -> None:
    assert (await local.exec("echo one")).ok
    first = local.runner_pid
    died = await local.exec("kill -9 $PPID; sleep 5")
    assert died.exit_code == -1 and not died.ok and "exited unexpectedly" in died.output
    again = await local.exec("echo two")
    assert again.output == "two\n" and local.runner_pid != first


async def test_commands_run_in_parallel(local: LocalSandbox) -> None:
    started = time.monotonic()
    results = await asyncio.gather(*(local.exec(f"sleep 0.5; echo {i}") for i in range(8)))
    assert [r.output for r in results] == [f"{i}\n" for i in range(8)]
    assert time.monotonic() - started < 2.0


async def test_cancelled_exec_kills_its_command(local: LocalSandbox) -> None:
    marker = uuid.uuid4().hex
    task = asyncio.create_task(local.exec("sleep 300", env={"PROBE": marker}))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until_gone(f"PROBE={marker}") == []
    assert (await local.exec("echo alive")).ok


async def test_runner_environment_holds_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-runner-environ-0123456789")
    async with LocalSandbox(tmp_path) as sandbox:
        await sandbox.exec("true")
        assert sandbox.runner_pid is not None
        environ = Path(f"/proc/{sandbox.runner_pid}/environ").read_bytes()
    assert b"sk-runner-environ" not in environ and b"OPENAI_API_KEY" not in environ


@pytest.mark.parametrize(
    ("command", "code", "output"),
    [
        ("true", 0, ""),
        ("false", 1, ""),
        ("echo  two  spaces", 0, "two spaces\n"),
        ("./tool.sh arg", 0, "tool arg\n"),
        ("exit 7", 7, ""),
        ("FOO=1 env", 0, "FOO=1"),
        ("cd sub && pwd", 0, "/sub\n"),
        ("ls -d sub", 0, "sub\n"),
        ("./bare.sh x", 0, "bare x\n"),
    ],
)
async def test_plain_commands_and_shell_commands_agree(
    local: LocalSandbox, command: str, code: int, output: str
) -> None:
    await local.write("tool.sh", '#!/bin/sh\necho tool "$@"\n')
    await local.write("bare.sh", 'echo bare "$@"\n')  # no shebang: bash runs it as a script
    await local.exec("chmod +x tool.sh bare.sh && mkdir -p sub")
    result = await local.exec(command)
    assert result.exit_code == code and output in result.output


async def test_a_plain_command_is_found_on_its_own_path(local: LocalSandbox) -> None:
    """The fast path (no shell) looks the program up on the command's PATH, as bash would, and only for that
    command: the next one without an environment gets the sandbox's base PATH again."""
    await local.exec("mkdir -p bin1 bin2 && printf '#!/bin/sh\\necho one\\n' > bin1/tool && chmod +x bin1/tool")
    await local.exec("printf 'not executable\\n' > bin2/tool && printf '#!/bin/sh\\necho two\\n' > bin2/other")
    await local.exec("chmod +x bin2/other")
    base_path = (await local.exec("printenv PATH")).output.strip()
    path = f"{local.root}/bin2:{local.root}/bin1:{base_path}"
    found = await local.exec("tool", env={"PATH": path})  # bin2/tool is not executable: skipped, like bash does
    assert found.ok and found.output == "one\n"
    assert (await local.exec("other x", env={"PATH": path})).output == "two\n"
    missing = await local.exec("tool")
    assert missing.exit_code == 127 and "not found" in missing.output
    assert (await local.exec("printenv PATH")).output.strip() == base_path


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_runner_works_under_uvloop(tmp_path: Path, variant: str) -> None:
    """The servers run on uvloop, whose transports are not asyncio's classes and which leaves descriptors open in the
    processes it spawns: commands, streamed output, a timeout and a runner restart work there too, and a command
    inherits nothing but its stdio."""
    import uvloop

    async def scenario() -> list[object]:
        chunks: list[str] = []

        async def collect(text: str) -> None:
            chunks.append(text)

        isolation = Bwrap(bwrap_or_fail()) if variant == "bwrap" else None
        async with LocalSandbox(
            tmp_path, settings=SandboxSettings(state_dir=tmp_path / "state"), isolation=isolation
        ) as sb:
            plain = await sb.exec("echo one; echo two >&2", on_output=collect)
            fds = await sb.exec("ls /proc/self/fd")  # 3 is ls's own listing
            slow = await sb.exec("sleep 5", timeout=0.5)
            died = await sb.exec("kill -9 $PPID; sleep 5")  # reported at once: nothing else holds the runner's output
            again = await sb.exec("echo back")
        return [
            plain.output,
            "".join(chunks),
            fds.output.split(),
            slow.timed_out,
            died.ok,
            died.duration < 3,
            again.output,
        ]

    assert asyncio.run(scenario(), loop_factory=uvloop.new_event_loop) == [
        "one\ntwo\n",
        "one\ntwo\n",
        ["0", "1", "2", "3"],
        True,
        False,
        True,
        "back\n",
    ]


# ---------------------------------------------------------------- what bubblewrap hides


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """A directory outside /tmp (which the sandbox replaces with its own), removed afterwards."""
    path = Path("/var/tmp") / f"sandbox-test-{uuid.uuid4().hex}"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_bwrap_hides_credentials_and_the_service_env_file(
    tmp_path: Path, host_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = host_dir / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY")
    (home / ".git-credentials").write_text("https://user:ghp_secret@github.com")
    (home / ".gitconfig").write_text("[user]\n\tname = Sandbox Tester\n")
    service_env = host_dir / ".env"
    service_env.write_text("OPENAI_API_KEY=sk-from-dotenv\n")
    monkeypatch.setenv("HOME", str(home))
    async with LocalSandbox(tmp_path, isolation=Bwrap(bwrap_or_fail(), hidden=(service_env,))) as sandbox:
        result = await sandbox.exec(
            f"cat {home}/.ssh/id_ed25519 {home}/.git-credentials {service_env}; ls -A {home}/.ssh; "
            "echo HOME=$HOME; git config user.name; touch $HOME/cache-ok && echo home-writable"
        )
    assert "PRIVATE KEY" not in result.output and "ghp_secret" not in result.output
    assert "sk-from-dotenv" not in result.output
    assert "HOME=/tmp/home" in result.output and "Sandbox Tester" in result.output and "home-writable" in result.output


async def test_bwrap_has_a_private_tmp(tmp_path: Path) -> None:
    name = f"sandbox-private-{uuid.uuid4().hex}"
    async with LocalSandbox(tmp_path, isolation=Bwrap(bwrap_or_fail())) as sandbox:
        assert (await sandbox.exec(f"echo x > /tmp/{name} && cat /tmp/{name}")).output == "x\n"
    assert not Path(f"/tmp/{name}").exists()


async def test_bwrap_writes_in_the_workspace_are_visible_on_the_host(tmp_path: Path) -> None:
    async with LocalSandbox(tmp_path, isolation=Bwrap(bwrap_or_fail())) as sandbox:
        assert (await sandbox.exec("echo made inside > made.txt")).ok
    assert (tmp_path / "made.txt").read_text() == "made inside\n"
