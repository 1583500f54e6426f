"""The test server speaks the wire the unmodified SDK expects, for routes the backend itself does not use
(bulk download with per-file errors, list files, file info, folders, deletes, start/stop/archive)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from daytona import (
    AsyncDaytona,
    AsyncSandbox,
    CreateSandboxFromSnapshotParams,
    DaytonaConfig,
    DaytonaNotFoundError,
    FileDownloadRequest,
    FileUpload,
)

from tests.daytona_server.server import API_KEY, DaytonaTestServer


@pytest.fixture
async def remote(daytona_server: DaytonaTestServer) -> AsyncIterator[AsyncSandbox]:
    async with AsyncDaytona(DaytonaConfig(api_key=API_KEY, api_url=daytona_server.api_url)) as client:
        sandbox = await client.create(CreateSandboxFromSnapshotParams(snapshot="s", auto_delete_interval=-1))
        yield sandbox


async def test_files_round_trip_through_the_sdk(remote: AsyncSandbox) -> None:
    await remote.fs.upload_files(
        [
            FileUpload(source=b"one", destination="work/a.txt"),
            FileUpload(source=bytes(range(256)), destination="/home/daytona/work/sub/b.bin"),
        ]
    )
    results = await remote.fs.download_files(
        [
            FileDownloadRequest(source="work/a.txt"),
            FileDownloadRequest(source="/home/daytona/work/sub/b.bin"),
            FileDownloadRequest(source="work/missing.txt"),
        ]
    )
    assert [r.result for r in results[:2]] == [b"one", bytes(range(256))]
    assert results[2].result is None and results[2].error
    await remote.fs.create_folder("work/empty", "755")
    names = {f.name: f.is_dir for f in await remote.fs.list_files("work")}
    assert names == {"a.txt": False, "sub": True, "empty": True}
    deep = {f.path for f in await remote.fs.list_files("work", depth=2)}
    assert "/home/daytona/work/sub/b.bin" in deep
    info = await remote.fs.get_file_info("work/a.txt")
    assert info.size == 3 and not info.is_dir
    await remote.fs.delete_file("work/a.txt")
    with pytest.raises(DaytonaNotFoundError):
        await remote.fs.get_file_info("work/a.txt")


async def test_state_changes_through_the_sdk(remote: AsyncSandbox, daytona_server: DaytonaTestServer) -> None:
    await remote.stop()
    assert str(remote.state.value if remote.state else "") == "stopped"
    await remote.start()
    assert (await remote.process.exec("echo back", timeout=5)).result == "back\n"
    await remote.archive()
    record = daytona_server.sandbox(remote.id)
    assert record is not None and record.state == "archived"
    await remote.delete()
    assert daytona_server.sandbox(remote.id) is None


async def test_toolbox_refuses_paths_outside_the_sandbox(remote: AsyncSandbox) -> None:
    results = await remote.fs.download_files([FileDownloadRequest(source="/etc/passwd")])
    assert results[0].result is None and results[0].error


async def test_registry_passes_the_command_limits(daytona_server: DaytonaTestServer) -> None:
    from sandbox.registry import create_provider
    from sandbox.settings import SandboxSettings
    from tests.daytona_server.fixtures import settings_for

    provider = create_provider(
        "daytona", SandboxSettings(output_limit=100), daytona_settings=settings_for(daytona_server)
    )
    try:
        lease = await provider.acquire("t")
        result = await lease.sandbox.exec("head -c 1000 /dev/zero | tr '\\0' x")
        assert result.truncated and "bytes omitted" in result.output and len(result.output) < 200
    finally:
        await provider.aclose()
