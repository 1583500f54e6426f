"""The process cap as root and as an unprivileged service user (no writable cgroup): a fork bomb is killed whole and
its result says so, whichever mechanism is in force (see sandbox/limits.py).

Bounded by construction: the bomb forks at most 400 processes; as the user, the driver also runs under an
RLIMIT_NPROC of NPROC_NET counting all of the user's processes, so a failure cannot exhaust the machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import limits
from sandbox.runner_main import CAPPED_CODE
from tests.sandbox.service_user import SHARED, drive, drive_as_user, ensure_user
from tests.sandbox.test_local_limits import BOMB
from tests.support.processes import processes_with, wait_until_gone

MAX_PROCESSES = 40
NPROC_NET = 400


@pytest.fixture(params=["root", "user"])
def service(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    SHARED.mkdir(parents=True, exist_ok=True)
    SHARED.chmod(0o755)
    base = SHARED / uuid.uuid4().hex[:12]
    (base / "project").mkdir(parents=True)
    (base / "state").mkdir()
    if request.param == "user":
        user = ensure_user()
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(base)], check=True)
    yield request.param, base
    shutil.rmtree(base, ignore_errors=True)


async def run(service: tuple[str, Path], ops: list[list[Any]], isolation: str = "bwrap") -> list[dict[str, Any]]:
    user, base = service
    spec = {
        "isolation": isolation,
        "mode": "in_place",
        "state_dir": str(base / "state"),
        "project": str(base / "project"),
        "threads": [["t1", ops]],
        "settings": {"max_processes": MAX_PROCESSES},
        "nproc": NPROC_NET,
    }
    return await (drive(spec) if user == "root" else drive_as_user(spec))


def expected_mechanism(user: str) -> str:
    if user == "root":
        mechanism = limits.detect(limits.DEFAULT_ROOT).mechanism
        assert mechanism is not None, "as root this machine should offer a writable cgroup"
        return mechanism
    return limits.Mechanism.RLIMIT_NPROC


@pytest.mark.parametrize("returns", [False, True], ids=["keeps-running", "returns-at-once"])
async def test_a_fork_bomb_is_killed_whole_and_says_so(service: tuple[str, Path], returns: bool) -> None:
    marker = uuid.uuid4().hex
    bomb = f"export PROBE={marker}; {BOMB}" + (" & exit 0" if returns else "")
    first, capped, after, applied = await run(
        service, [["exec", "true"], ["exec", bomb, 25], ["exec", "echo ok"], ["limits"]]
    )
    assert first["code"] == 0
    assert capped["code"] == CAPPED_CODE and not capped["timed_out"], capped
    assert f"reached the sandbox's process limit ({MAX_PROCESSES})" in capped["out"], capped["out"][-300:]
    assert after["out"] == "ok\n"
    assert applied["out"] == [expected_mechanism(service[0]), MAX_PROCESSES]
    assert await wait_until_gone(f"PROBE={marker}") == []


COUNT = (
    "/usr/bin/python3 -c 'import os,time\n"
    "n=0\n"
    f"for _ in range({MAX_PROCESSES * 2}):\n"
    "    try:\n"
    "        if os.fork() == 0: time.sleep(5); os._exit(0)\n"
    "        n+=1\n"
    "    except OSError: break\n"
    "print(n)'"
)
"""Forks until refused (at most twice the cap), prints how many forks succeeded."""


async def test_the_cap_counts_the_sandbox_not_the_service_user(service: tuple[str, Path]) -> None:
    """The service user's processes elsewhere (as many as the cap) do not eat into the sandbox's allowance, and the
    sandbox gets no more than its cap."""
    marker = uuid.uuid4().hex
    elsewhere = subprocess.Popen(
        [
            "setpriv",
            "--reuid=openswe-test",
            "--regid=openswe-test",
            "--clear-groups",
            "sh",
            "-c",
            f"for i in $(seq {MAX_PROCESSES}); do sleep 20 & done; wait",
        ],
        env={"PROBE": f"{marker}-elsewhere", "PATH": "/usr/bin:/bin"},
        start_new_session=True,
    )
    try:
        for _ in range(200):
            if len(processes_with(f"PROBE={marker}-elsewhere")) > MAX_PROCESSES:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the user's other processes did not start")
        (counted,) = await run(service, [["exec", f"export PROBE={marker}; {COUNT}", 25]])
    finally:
        os.killpg(elsewhere.pid, signal.SIGKILL)
        elsewhere.wait()
    forked = int(counted["out"].split()[0])  # (then killed at the cap: its children hold it full)
    assert MAX_PROCESSES // 2 < forked < MAX_PROCESSES, counted
    assert await wait_until_gone(f"PROBE={marker}", timeout=10) == []


async def test_isolation_none_as_the_user_has_no_cap_and_says_so(service: tuple[str, Path]) -> None:
    """Without a namespace of its own, RLIMIT_NPROC would count all of the user's processes: not applied."""
    results = await run(service, [["exec", "true"], ["limits"]], isolation="none")
    expected = None if service[0] == "user" else [expected_mechanism("root"), MAX_PROCESSES]
    assert results[1]["out"] == expected


@pytest.mark.parametrize("service", ["user"], indirect=True)
async def test_a_restarted_runner_gets_the_cap_again_and_commands_cannot_raise_it(service: tuple[str, Path]) -> None:
    show = "grep 'Max processes' /proc/self/limits"
    before, raised, died, after = await run(
        service, [["exec", show], ["exec", "ulimit -u 1000"], ["exec", "kill -9 $PPID"], ["exec", show]]
    )
    assert before["out"].split()[2:4] == [str(MAX_PROCESSES)] * 2, before
    assert raised["code"] != 0 and "Operation not permitted" in raised["out"], raised
    assert died["code"] != 0, died
    assert after["out"].split()[2:4] == [str(MAX_PROCESSES)] * 2, after
