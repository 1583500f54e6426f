"""Every lifecycle path of the Daytona provider, with the real SDK against the local test server."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from sandbox.base import BackendError, SandboxGone
from sandbox.daytona import FILL_LABEL, DaytonaProvider, DaytonaSandbox
from sandbox.daytona_settings import POOL_LABEL, SERVICE_LABEL, THREAD_LABEL, ReleaseAction
from tests.daytona_server.fixtures import provider_for
from tests.daytona_server.server import DaytonaTestServer, running_server

MakeProvider = Callable[..., DaytonaProvider]


async def test_create_from_snapshot_with_labels_user_and_lifetimes(
    provider: DaytonaProvider, daytona_server: DaytonaTestServer
) -> None:
    lease = await provider.acquire("thread-1")
    assert lease.fresh and lease.backend == "daytona" and isinstance(lease.sandbox, DaytonaSandbox)
    record = daytona_server.sandbox(lease.sandbox.id)
    assert record is not None
    assert record.snapshot == "test-snapshot" and record.user == "daytona"
    assert record.labels[SERVICE_LABEL] == "open-swe" and record.labels[THREAD_LABEL] == "thread-1"
    assert record.auto_stop_interval == 15 and record.auto_delete_interval == 0
    assert record.network_block_all is False and record.env == {}
    assert lease.sandbox.root == "/home/daytona/workspace"


async def test_every_create_value_is_configurable(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    provider = make_provider(
        snapshot="custom-snap",
        os_user="dev",
        auto_stop_minutes=30,
        auto_delete_minutes=5,
        network_block_all=True,
        service_label="svc-b",
        workspace_dir="/home/daytona/work",
    )
    lease = await provider.acquire("t")
    record = daytona_server.sandbox(lease.sandbox.id)
    assert record is not None
    assert (record.snapshot, record.user, record.auto_stop_interval, record.auto_delete_interval) == (
        "custom-snap",
        "dev",
        30,
        5,
    )
    assert record.network_block_all and record.labels[SERVICE_LABEL] == "svc-b"
    assert (await lease.sandbox.exec("pwd")).output.strip() == "/home/daytona/work"


async def test_started_sandbox_is_reused(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    first = await provider.acquire("t")
    await first.sandbox.write("kept.txt", "still here")
    again = await provider.acquire("t", sandbox_id=first.sandbox.id)
    assert again.sandbox.id == first.sandbox.id and not again.fresh
    assert (await again.sandbox.read("kept.txt")).text == "still here"
    assert daytona_server.state.counts["create"] == 1


async def test_sandbox_is_found_by_labels_after_a_restart(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    before = make_provider()
    sandbox_id = (await before.acquire("thread-x")).sandbox.id
    await before.mark_filled(sandbox_id)  # the task cloned its repository into it
    await before.aclose()
    after = make_provider()  # a new process: nothing in memory, no id from graph state
    lease = await after.acquire("thread-x")
    assert lease.sandbox.id == sandbox_id and not lease.fresh
    assert daytona_server.state.counts["create"] == 1


async def test_stopped_sandbox_is_started_with_its_files(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    provider = make_provider(auto_delete_minutes=-1)
    lease = await provider.acquire("t")
    await lease.sandbox.write("notes.txt", "kept")
    await provider.release(lease.sandbox.id)  # release action: stop
    record = daytona_server.sandbox(lease.sandbox.id)
    assert record is not None and record.state == "stopped"
    again = await provider.acquire("t", sandbox_id=lease.sandbox.id)
    assert again.sandbox.id == lease.sandbox.id and not again.fresh and record.state == "started"
    assert (await again.sandbox.read("notes.txt")).text == "kept"


async def test_archived_sandbox_is_started(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    lease = await provider.acquire("t")
    await provider.mark_filled(lease.sandbox.id)
    daytona_server.set_state(lease.sandbox.id, "archived")
    again = await provider.acquire("t", sandbox_id=lease.sandbox.id)
    assert again.sandbox.id == lease.sandbox.id and not again.fresh
    assert daytona_server.state.counts["start"] == 1


async def test_gone_sandbox_is_replaced_and_the_caller_told_it_is_fresh(
    provider: DaytonaProvider, daytona_server: DaytonaTestServer
) -> None:
    lease = await provider.acquire("t")
    daytona_server.vanish(lease.sandbox.id)
    again = await provider.acquire("t", sandbox_id=lease.sandbox.id)
    assert again.fresh and again.sandbox.id != lease.sandbox.id


async def test_broken_sandbox_is_deleted_and_replaced(
    provider: DaytonaProvider, daytona_server: DaytonaTestServer
) -> None:
    lease = await provider.acquire("t")
    daytona_server.set_state(lease.sandbox.id, "error")
    again = await provider.acquire("t", sandbox_id=lease.sandbox.id)
    assert again.fresh and again.sandbox.id != lease.sandbox.id
    assert daytona_server.sandbox(lease.sandbox.id) is None


async def test_a_sandbox_of_another_thread_is_never_taken(provider: DaytonaProvider) -> None:
    mine = await provider.acquire("thread-a")
    other = await provider.acquire("thread-b", sandbox_id=mine.sandbox.id)
    assert other.fresh and other.sandbox.id != mine.sandbox.id


async def test_release_stops_and_the_stop_deletes_by_default(
    provider: DaytonaProvider, daytona_server: DaytonaTestServer
) -> None:
    lease = await provider.acquire("t")
    await provider.release(lease.sandbox.id)
    assert daytona_server.state.counts["stop"] == 1 and daytona_server.sandbox(lease.sandbox.id) is None


async def test_release_can_delete(make_provider: MakeProvider, daytona_server: DaytonaTestServer) -> None:
    provider = make_provider(release_action=ReleaseAction.DELETE, auto_delete_minutes=-1)
    lease = await provider.acquire("t")
    await provider.release(lease.sandbox.id)
    assert daytona_server.state.counts["delete"] == 1 and daytona_server.sandbox(lease.sandbox.id) is None
    other = await provider.acquire("u")
    await provider.release(other.sandbox.id, delete=False)  # explicit beats the configuration
    record = daytona_server.sandbox(other.sandbox.id)
    assert record is not None and record.state == "stopped"
    await provider.release("no-such-sandbox")  # releasing what is already gone is not an error


async def test_sandbox_is_gone_fifteen_minutes_after_its_last_use(tmp_path: Path) -> None:
    """The server's minute is shrunk to 100 ms: auto-stop after 15 idle 'minutes', deletion as soon as it stops."""
    with running_server(tmp_path, minute_seconds=0.1) as server:
        provider = provider_for(server)
        try:
            lease = await provider.acquire("t")
            for _ in range(4):  # keep using it for longer than the idle limit: it must stay
                await asyncio.sleep(0.6)
                assert (await lease.sandbox.exec("true")).ok
            last_use = time.monotonic()
            while server.sandbox(lease.sandbox.id) is not None:
                assert time.monotonic() - last_use < 30, "the sandbox was never deleted"
                await asyncio.sleep(0.05)
            assert time.monotonic() - last_use >= 15 * 0.1
            with pytest.raises(SandboxGone, match=lease.sandbox.id):
                await lease.sandbox.exec("true")
        finally:
            await provider.aclose()


async def test_sandbox_deleted_behind_our_back_is_a_one_line_sandbox_gone(
    provider: DaytonaProvider, daytona_server: DaytonaTestServer
) -> None:
    lease = await provider.acquire("t")
    daytona_server.vanish(lease.sandbox.id)
    with pytest.raises(SandboxGone) as caught:
        await lease.sandbox.read("x.txt")
    assert lease.sandbox.id in str(caught.value) and "\n" not in str(caught.value)


async def test_missing_api_key_is_a_clear_error(daytona_server: DaytonaTestServer) -> None:
    provider = provider_for(daytona_server, api_key=None)
    try:
        with pytest.raises(BackendError, match="DAYTONA_API_KEY is not set"):
            await provider.acquire("t")
    finally:
        await provider.aclose()


async def test_wrong_api_url_fails_within_the_deadline(daytona_server: DaytonaTestServer) -> None:
    from tests.support.net import free_port

    provider = provider_for(daytona_server, api_url=f"http://127.0.0.1:{free_port()}/api", retry_deadline=0.5)
    try:
        with pytest.raises(BackendError, match="connection") as caught:
            await provider.acquire("t")
        assert "\n" not in str(caught.value)
    finally:
        await provider.aclose()


async def test_empty_thread_id_is_refused(provider: DaytonaProvider) -> None:
    with pytest.raises(ValueError, match="thread_id"):
        await provider.acquire("")


async def test_git_clone_through_the_toolbox(provider: DaytonaProvider, tmp_path: Path) -> None:
    repo = tmp_path / "origin"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "README.md").write_text("cloned\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    lease = await provider.acquire("t")
    assert isinstance(lease.sandbox, DaytonaSandbox)
    await lease.sandbox.git_clone(f"file://{repo}", "repo", branch="main")
    assert (await lease.sandbox.read("repo/README.md")).text == "cloned\n"


async def test_concurrent_acquires_of_one_thread_make_one_sandbox(
    provider: DaytonaProvider, daytona_server: DaytonaTestServer
) -> None:
    leases = await asyncio.gather(*(provider.acquire("same") for _ in range(4)))
    assert len({lease.sandbox.id for lease in leases}) == 1
    assert daytona_server.state.counts["create"] == 1


async def test_no_pool_label_on_thread_sandboxes(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    lease = await provider.acquire("t")
    record = daytona_server.sandbox(lease.sandbox.id)
    assert record is not None and POOL_LABEL not in record.labels


def test_api_key_is_a_secret_in_settings(daytona_server: DaytonaTestServer) -> None:
    from tests.daytona_server.fixtures import settings_for

    settings = settings_for(daytona_server, api_key=SecretStr("dtn-very-secret-key"))
    assert "dtn-very-secret-key" not in repr(settings) and "dtn-very-secret-key" not in str(settings.model_dump())


async def test_a_starting_sandbox_is_waited_for(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    lease = await provider.acquire("t")
    await provider.mark_filled(lease.sandbox.id)
    daytona_server.set_state(lease.sandbox.id, "starting")
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, daytona_server.set_state, lease.sandbox.id, "started")
    again = await provider.acquire("t", sandbox_id=lease.sandbox.id)
    assert again.sandbox.id == lease.sandbox.id and not again.fresh
    assert daytona_server.state.counts["create"] == 1


async def test_a_stopped_sandbox_under_a_thread_is_sandbox_gone_then_restarted(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    provider = make_provider(auto_delete_minutes=-1)
    lease = await provider.acquire("t")
    await lease.sandbox.write("work.txt", "saved")
    daytona_server.set_state(lease.sandbox.id, "stopped")  # e.g. auto-stopped while the model was thinking
    with pytest.raises(SandboxGone, match="is stopped"):
        await lease.sandbox.read("work.txt")
    again = await provider.acquire("t", sandbox_id=lease.sandbox.id)
    assert again.sandbox.id == lease.sandbox.id and not again.fresh
    assert (await again.sandbox.read("work.txt")).text == "saved"


async def test_a_sandbox_created_but_never_filled_is_filled_again(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    """The create answer came too late (or the clone failed): the next task finds the sandbox by its labels with an
    empty workspace and must be told to fill it, not handed an empty repository as ready."""
    before = make_provider()
    lease = await before.acquire("late")  # the caller never filled it: its clone failed, or it never got the answer
    assert lease.fresh
    await before.aclose()
    after = make_provider()
    again = await after.acquire("late")
    assert again.sandbox.id == lease.sandbox.id and again.fresh
    assert daytona_server.state.counts["create"] == 1  # the same sandbox, filled again
    await again.sandbox.write("cloned.txt", "the repository")
    await after.mark_filled(again.sandbox.id)
    record = daytona_server.sandbox(again.sandbox.id)
    assert record is not None and FILL_LABEL not in record.labels
    third = await after.acquire("late")
    assert not third.fresh and (await third.sandbox.read("cloned.txt")).text == "the repository"


async def test_an_unconfirmed_sandbox_with_files_is_kept_not_refilled(provider: DaytonaProvider) -> None:
    lease = await provider.acquire("kept")
    await lease.sandbox.write("work.txt", "precious")
    again = await provider.acquire("kept", sandbox_id=lease.sandbox.id)
    assert not again.fresh and (await again.sandbox.read("work.txt")).text == "precious"
