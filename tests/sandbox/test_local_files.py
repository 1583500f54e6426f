"""Local file operations beyond the protocol's common ground: what search covers, special files, callbacks."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from sandbox.base import NotAFile
from sandbox.local import LocalSandbox
from tests.support.processes import wait_until_gone


async def test_search_covers_hidden_files_but_not_git_or_ignored(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("needle in git\n")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "ci.yml").write_text("needle in ci\n")
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.txt").write_text("needle in build\n")
    async with LocalSandbox(tmp_path) as sandbox:
        found = {m.path for m in (await sandbox.search("needle")).matches}
    assert found == {".github/ci.yml"}


async def test_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    async with LocalSandbox(tmp_path) as sandbox:
        with pytest.raises(NotAFile):
            await asyncio.wait_for(sandbox.read("pipe"), 5)
        with pytest.raises(NotAFile):
            await asyncio.wait_for(sandbox.write("pipe", "x"), 5)


async def test_failing_output_callback_stops_the_command(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex

    async def broken(chunk: str) -> None:
        raise RuntimeError("websocket closed")

    async with LocalSandbox(tmp_path) as sandbox:
        with pytest.raises(RuntimeError, match="websocket closed"):
            await sandbox.exec("echo hi; sleep 300", on_output=broken, env={"PROBE": marker})
        assert await wait_until_gone(f"PROBE={marker}") == []
        assert (await sandbox.exec("echo next")).output == "next\n"
