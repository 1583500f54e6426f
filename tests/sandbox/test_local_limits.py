"""Resource limits of the local backend (sandbox/limits.py), on this machine's real cgroups, plain and inside bwrap.

Safe by construction: no unbounded fork bomb, only bounded loops (200 sleeps) against a 40-process cap, and a
512 MiB allocation against a 64 MiB cap. These tests fail (never skip) when the machine has no writable cgroup.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox import limits
from sandbox.base import IsolationUnavailable
from sandbox.isolation import Bwrap, find_bwrap
from sandbox.local import LocalProvider, LocalSandbox
from sandbox.settings import ResourceLimits, SandboxSettings
from tests.support.processes import processes_with, wait_until_gone

VARIANTS = ["plain", "bwrap"]
MAX_PROCESSES = 40


def cgroups_or_fail() -> limits.Support:
    support = limits.detect(limits.DEFAULT_ROOT)
    if support.mechanism is None:
        pytest.fail(
            f"resource limits need a writable cgroup with the pids and memory controllers (run as root, cgroup v2 at "
            f"/sys/fs/cgroup with them delegated, or cgroup v1 pids/ and memory/): {support.problem}",
            pytrace=False,
        )
    return support


def isolation_for(variant: str) -> Bwrap | None:
    if variant == "plain":
        return None
    binary = find_bwrap(None)
    if binary is None:
        pytest.fail("bubblewrap is missing: apt-get install bubblewrap", pytrace=False)
    return Bwrap(binary)


@pytest.fixture(params=VARIANTS)
async def limited(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    cgroups_or_fail()
    settings = SandboxSettings(
        state_dir=tmp_path / "state",
        resource_limits=ResourceLimits.REQUIRED,
        max_processes=MAX_PROCESSES,
        max_memory_mb=64,
    )
    async with LocalSandbox(tmp_path, settings=settings, isolation=isolation_for(request.param)) as sandbox:
        yield sandbox


def runner_cgroups(pid: int) -> str:
    return Path(f"/proc/{pid}/cgroup").read_text()


async def test_process_cap_holds_and_the_sandbox_recovers(limited: LocalSandbox) -> None:
    marker = uuid.uuid4().hex
    task = asyncio.create_task(
        limited.exec(
            "for i in $(seq 200); do sleep 30 & done; wait",
            timeout=1.5,
            env={"PROBE": marker},
        )
    )
    peak = 0
    while not task.done():
        peak = max(peak, len(processes_with(f"PROBE={marker}")))
        await asyncio.sleep(0.02)
    result = task.result()
    assert not result.ok  # killed at the limit (see the next tests), or by its timeout on a slow machine
    assert result.timed_out or f"process limit ({MAX_PROCESSES})" in result.output, result.output[-500:]
    assert "Resource temporarily unavailable" in result.output, result.output[-500:]
    assert 0 < peak <= MAX_PROCESSES
    applied = limited.resource_limits
    assert applied is not None and applied.max_processes == MAX_PROCESSES
    pids_dir = next(p for p in applied.paths if (p / "pids.max").exists())
    assert (pids_dir / "pids.max").read_text().strip() == str(MAX_PROCESSES)
    if (pids_dir / "pids.peak").exists():
        assert int((pids_dir / "pids.peak").read_text()) <= MAX_PROCESSES
    assert await wait_until_gone(f"PROBE={marker}") == []
    after = await limited.exec("echo still here")
    assert after.ok and after.output == "still here\n"


BOMB = (
    "/usr/bin/python3 -c 'import os,time\n"
    "for _ in range(400):\n"
    "    try:\n"
    "        if os.fork() == 0: time.sleep(30); os._exit(0)\n"
    "    except OSError: break\n"
    "time.sleep(30)'"
)
"""Forks until the process limit refuses (at most 400: bounded by construction), every process then sleeps."""


async def test_a_fork_bomb_that_returns_at_once_is_killed_whole_and_says_so(limited: LocalSandbox) -> None:
    marker = uuid.uuid4().hex
    result = await limited.exec(f"{BOMB} & exit 0", env={"PROBE": marker}, timeout=20)
    assert not result.ok and result.exit_code == 137
    assert f"reached the sandbox's process limit ({MAX_PROCESSES})" in result.output, result.output[-300:]
    assert await wait_until_gone(f"PROBE={marker}") == []
    after = await limited.exec("echo still here")
    assert after.ok and after.output == "still here\n"


async def test_a_fork_bomb_that_keeps_running_is_killed_whole_at_the_limit_and_says_so(limited: LocalSandbox) -> None:
    """Not left holding the sandbox full until its timeout: two looks half a second apart find it at the limit."""
    marker = uuid.uuid4().hex
    result = await limited.exec(BOMB, env={"PROBE": marker}, timeout=25)
    assert not result.ok and not result.timed_out and result.exit_code == 137, result
    assert f"reached the sandbox's process limit ({MAX_PROCESSES})" in result.output, result.output[-300:]
    assert result.duration < 15, result.duration
    assert await wait_until_gone(f"PROBE={marker}") == []
    after = await limited.exec("echo still here")
    assert after.ok and after.output == "still here\n"


async def test_a_busy_command_below_the_limit_is_left_alone(limited: LocalSandbox) -> None:
    """Half the limit for two seconds is not a fork bomb: the command ends on its own, successfully."""
    result = await limited.exec(f"for i in $(seq {MAX_PROCESSES // 2 - 4}); do sleep 2 & done; wait; echo done")
    assert result.ok and result.output == "done\n", result


async def test_processes_left_at_the_limit_by_a_finished_command_make_way(limited: LocalSandbox) -> None:
    marker = uuid.uuid4().hex
    detached = await limited.exec(f"{BOMB} >/dev/null 2>&1 & exit 0", env={"PROBE": marker})
    assert detached.ok
    for _ in range(200):  # until the bomb has filled the sandbox (10 s at most)
        if len(processes_with(f"PROBE={marker}")) >= MAX_PROCESSES - 4:
            break
        await asyncio.sleep(0.05)
    after = await limited.exec("echo still here")
    assert after.ok and after.output.endswith("still here\n"), after.output
    assert "process limit" in after.output
    assert await wait_until_gone(f"PROBE={marker}") == []


async def test_memory_hog_is_killed_not_reported_as_success(limited: LocalSandbox) -> None:
    result = await limited.exec("python3 -c \"b = bytearray(512*1024*1024); print('allocated')\"", timeout=30)
    assert not result.ok and result.exit_code != 0 and "allocated" not in result.output
    assert result.exit_code == 137 or "MemoryError" in result.output, result
    assert (await limited.exec("echo fine")).output == "fine\n"


async def test_every_command_runs_in_the_sandbox_cgroup_which_goes_away_at_close(tmp_path: Path) -> None:
    support = cgroups_or_fail()
    for variant in VARIANTS:
        ws = tmp_path / variant
        ws.mkdir()
        settings = SandboxSettings(state_dir=tmp_path / "state", resource_limits=ResourceLimits.REQUIRED)
        async with LocalSandbox(ws, settings=settings, isolation=isolation_for(variant)) as sandbox:
            assert sandbox.resource_limits is None  # nothing before the runner starts
            marker = uuid.uuid4().hex
            assert (await sandbox.exec("sleep 300 &", env={"PROBE": marker})).ok
            applied = sandbox.resource_limits
            assert applied is not None and applied.mechanism is support.mechanism
            assert applied.max_processes == 512 and applied.max_memory_bytes == 4096 * 1024 * 1024
            (background,) = processes_with(f"PROBE={marker}")
            for path in applied.paths:
                assert background in limits.members(applied)
                assert f"{limits.GROUP}/{path.name}" in runner_cgroups(background)
        assert not any(path.exists() for path in applied.paths), "the cgroup is removed at close"
        assert await wait_until_gone(f"PROBE={marker}") == []


@pytest.mark.parametrize("variant", VARIANTS)
async def test_off_applies_nothing(tmp_path: Path, variant: str) -> None:
    settings = SandboxSettings(
        state_dir=tmp_path / "state", resource_limits=ResourceLimits.OFF, cgroup_root=tmp_path / "never-looked-at"
    )
    async with LocalSandbox(tmp_path, settings=settings, isolation=isolation_for(variant)) as sandbox:
        assert (await sandbox.exec("true")).ok
        assert sandbox.resource_limits is None and sandbox.runner_pid is not None
        assert f"/{limits.GROUP}/" not in runner_cgroups(sandbox.runner_pid)


@pytest.mark.parametrize("root", ["missing", "plain-dir"])
async def test_required_fails_clearly_without_a_writable_cgroup(tmp_path: Path, root: str) -> None:
    cgroup_root = tmp_path / root
    if root == "plain-dir":
        cgroup_root.mkdir()
    settings = SandboxSettings(
        state_dir=tmp_path / "state", resource_limits=ResourceLimits.REQUIRED, cgroup_root=cgroup_root
    )
    async with LocalSandbox(tmp_path, settings=settings) as sandbox:
        with pytest.raises(limits.LimitsUnavailable, match="SANDBOX_RESOURCE_LIMITS=required but no cgroup") as info:
            await sandbox.exec("true")
        assert isinstance(info.value, IsolationUnavailable) and str(cgroup_root) in str(info.value)
        assert sandbox.runner_pid is None, "the runner is not left running unconfined"


async def test_provider_with_required_limits_fails_at_acquire(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    settings = SandboxSettings(
        project_path=tmp_path / "project",
        state_dir=tmp_path / "state",
        resource_limits=ResourceLimits.REQUIRED,
        cgroup_root=tmp_path / "absent",
    )
    provider = LocalProvider(settings)
    try:
        with pytest.raises(limits.LimitsUnavailable, match="SANDBOX_RESOURCE_LIMITS=required"):
            await provider.acquire("t1")
    finally:
        await provider.aclose()


async def test_auto_without_cgroups_runs_unlimited_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = SandboxSettings(state_dir=tmp_path / "state", cgroup_root=tmp_path / "absent")
    with caplog.at_level("WARNING", logger="sandbox.limits"):
        async with LocalSandbox(tmp_path, settings=settings) as sandbox:
            assert (await sandbox.exec("echo ok")).output == "ok\n"
            assert sandbox.resource_limits is None
    assert "sandbox resource limits: none (SANDBOX_RESOURCE_LIMITS=auto" in caplog.text


async def test_v2_layout_is_written_as_the_kernel_expects(tmp_path: Path) -> None:
    """cgroup v2 cannot be mounted here beside v1's controllers: check the files written into a v2-shaped tree."""
    root = tmp_path / "v2"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    support = limits.detect(root)
    assert support.mechanism is limits.Mechanism.CGROUP_V2
    (root / limits.GROUP).mkdir()
    (root / limits.GROUP / "cgroup.subtree_control").write_text("")
    applied = limits.create(support, "local:thread/1", max_processes=64, max_memory_mb=128)
    (path,) = applied.paths
    assert path.parent == root / limits.GROUP and path.name.startswith("local_thread_1-")
    assert (path / "pids.max").read_text() == "64" and (path / "memory.max").read_text() == str(128 << 20)
    assert (root / limits.GROUP / "cgroup.subtree_control").read_text().startswith("+")  # controllers enabled


async def test_a_cgroup_removed_while_the_runner_was_down_comes_back(tmp_path: Path) -> None:
    cgroups_or_fail()
    settings = SandboxSettings(state_dir=tmp_path / "state", resource_limits=ResourceLimits.REQUIRED, max_processes=64)
    async with LocalSandbox(tmp_path, settings=settings) as sandbox:
        assert (await sandbox.exec("true")).ok
        applied = sandbox.resource_limits
        assert applied is not None
        died = await sandbox.exec("kill -9 $PPID")
        assert died.exit_code == -1
        for _ in range(200):
            if not limits.members(applied):
                break
            await asyncio.sleep(0.01)
        for path in applied.paths:  # what `prune` does to an empty cgroup a minute old
            path.rmdir()
        again = await sandbox.exec("cat /proc/self/cgroup")
        assert again.ok and again.output.count(applied.paths[0].name) == len(applied.paths)
        assert all((path / "cgroup.procs").exists() for path in applied.paths)
        pids_dir = next(p for p in applied.paths if (p / "pids.max").exists())
        assert (pids_dir / "pids.max").read_text().strip() == "64"
    assert not any(path.exists() for path in applied.paths)


def test_prune_removes_only_old_empty_directories(tmp_path: Path) -> None:
    old, new, busy = tmp_path / "old", tmp_path / "new", tmp_path / "busy"
    for path in (old, new, busy):
        path.mkdir()
    (busy / "cgroup.procs").write_text("1\n")  # a plain directory with a file stands in for a busy cgroup
    for path in (old, busy):
        os.utime(path, (0, 0))
    limits.prune(tmp_path)
    assert not old.exists() and new.exists() and busy.exists()
