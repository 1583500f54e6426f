"""Backend-agnostic conformance tests: only the `Sandbox` protocol, through the `sandbox` fixture."""

from __future__ import annotations

from sandbox.base import Sandbox


async def test_exec_echo(sandbox: Sandbox) -> None:
    result = await sandbox.exec("echo hello")
    assert result.ok and result.output == "hello\n"


async def test_write_read_roundtrip(sandbox: Sandbox) -> None:
    await sandbox.write("dir/a.txt", "héllo\n")
    content = await sandbox.read("dir/a.txt")
    assert content.text == "héllo\n" and content.path == "dir/a.txt" and not content.binary
