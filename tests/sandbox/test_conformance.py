"""Backend-agnostic conformance: every operation of the `Sandbox` protocol, through the `sandbox` fixture only.

Hostile inputs (escapes, runaway commands, huge or binary output, leaks) live in `test_hostile.py`.
"""

from __future__ import annotations

import asyncio

import pytest

from sandbox.base import (
    FileKind,
    NotAFile,
    PathOutsideWorkspace,
    Sandbox,
    SandboxError,
    SandboxFileNotFound,
)

# ---------------------------------------------------------------- exec


async def test_exec_output_and_exit_code(sandbox: Sandbox) -> None:
    result = await sandbox.exec("echo out; echo err >&2; exit 3")
    assert result.exit_code == 3 and not result.ok and not result.timed_out
    assert "out\n" in result.output and "err\n" in result.output
    assert result.duration > 0


async def test_exec_success(sandbox: Sandbox) -> None:
    result = await sandbox.exec("true")
    assert result.ok and result.exit_code == 0 and result.output == ""


async def test_exec_signal_exit_code(sandbox: Sandbox) -> None:
    result = await sandbox.exec("kill -TERM $$")
    assert result.exit_code == 128 + 15 and not result.ok


async def test_exec_missing_command_is_127(sandbox: Sandbox) -> None:
    result = await sandbox.exec("no-such-command-xyz")
    assert result.exit_code == 127 and "not found" in result.output


async def test_exec_runs_in_workspace_root(sandbox: Sandbox) -> None:
    result = await sandbox.exec("pwd")
    assert result.output.strip() == sandbox.root


async def test_exec_cwd_relative_and_absolute(sandbox: Sandbox) -> None:
    await sandbox.write("sub/dir/f.txt", "x")
    assert (await sandbox.exec("pwd", cwd="sub/dir")).output.strip() == f"{sandbox.root}/sub/dir"
    assert (await sandbox.exec("ls", cwd=f"{sandbox.root}/sub/dir")).output.strip() == "f.txt"


async def test_exec_cwd_must_be_an_existing_workspace_dir(sandbox: Sandbox) -> None:
    with pytest.raises(PathOutsideWorkspace):
        await sandbox.exec("pwd", cwd="..")
    with pytest.raises(PathOutsideWorkspace):
        await sandbox.exec("pwd", cwd="/")
    with pytest.raises(SandboxFileNotFound):
        await sandbox.exec("pwd", cwd="missing")
    await sandbox.write("file.txt", "x")
    with pytest.raises(NotAFile):
        await sandbox.exec("pwd", cwd="file.txt")


async def test_exec_env_is_passed(sandbox: Sandbox) -> None:
    result = await sandbox.exec('echo "$GREETING"', env={"GREETING": "hi there"})
    assert result.output == "hi there\n"


async def test_exec_streams_output(sandbox: Sandbox) -> None:
    chunks: list[str] = []

    async def collect(chunk: str) -> None:
        chunks.append(chunk)

    result = await sandbox.exec("for i in 1 2 3; do echo line$i; sleep 0.05; done", on_output=collect)
    assert result.ok and "".join(chunks) == result.output == "line1\nline2\nline3\n"


async def test_exec_shell_features(sandbox: Sandbox) -> None:
    result = await sandbox.exec("set -o pipefail; x=$(printf 'a b' | wc -w); [[ $x == 2 ]] && echo yes | tr y Y")
    assert result.output == "Yes\n"


async def test_exec_stdin_is_empty(sandbox: Sandbox) -> None:
    result = await sandbox.exec("cat; echo done", timeout=10)
    assert result.ok and result.output == "done\n"


async def test_exec_sees_files_written_through_the_api(sandbox: Sandbox) -> None:
    await sandbox.write("a.txt", "from api\n")
    assert (await sandbox.exec("cat a.txt")).output == "from api\n"
    await sandbox.exec("printf 'from shell' > b.txt")
    assert (await sandbox.read("b.txt")).text == "from shell"


async def test_concurrent_commands(sandbox: Sandbox) -> None:
    results = await asyncio.gather(*(sandbox.exec(f"sleep 0.3; echo job{i}") for i in range(6)))
    assert [r.output for r in results] == [f"job{i}\n" for i in range(6)]
    assert all(r.ok for r in results)


# ---------------------------------------------------------------- read / write


async def test_write_creates_parents_and_returns_info(sandbox: Sandbox) -> None:
    info = await sandbox.write("deep/er/file.txt", "héllo\n")
    assert info.path == "deep/er/file.txt" and info.kind is FileKind.FILE and info.size == len("héllo\n".encode())
    content = await sandbox.read("deep/er/file.txt")
    assert content.text == "héllo\n" and content.path == "deep/er/file.txt"
    assert not content.binary and not content.truncated and content.size == info.size


async def test_write_replaces_and_accepts_bytes(sandbox: Sandbox) -> None:
    await sandbox.write("f.txt", "a much longer first version\n")
    await sandbox.write("f.txt", b"short\n")
    assert (await sandbox.read("f.txt")).text == "short\n"


async def test_write_to_a_directory_is_refused(sandbox: Sandbox) -> None:
    await sandbox.write("d/x.txt", "x")
    with pytest.raises(NotAFile):
        await sandbox.write("d", "x")


async def test_read_absolute_path_inside_workspace(sandbox: Sandbox) -> None:
    await sandbox.write("abs.txt", "abs")
    content = await sandbox.read(f"{sandbox.root}/abs.txt")
    assert content.text == "abs" and content.path == "abs.txt"


async def test_read_missing_file(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxFileNotFound):
        await sandbox.read("nope.txt")
    with pytest.raises(SandboxFileNotFound):
        await sandbox.download("nope.txt")
    with pytest.raises(SandboxFileNotFound):
        await sandbox.stat("nope.txt")


async def test_read_directory_is_not_a_file(sandbox: Sandbox) -> None:
    await sandbox.write("d/x.txt", "x")
    with pytest.raises(NotAFile):
        await sandbox.read("d")
    with pytest.raises(NotAFile):
        await sandbox.download("d")


async def test_read_binary_file(sandbox: Sandbox) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    await sandbox.write("img.png", data)
    content = await sandbox.read("img.png")
    assert content.binary and content.text is None and content.size == len(data)
    assert await sandbox.download("img.png") == data


async def test_read_invalid_utf8_is_replaced(sandbox: Sandbox) -> None:
    await sandbox.write("latin1.txt", "café\n".encode("latin-1"))
    content = await sandbox.read("latin1.txt")
    assert not content.binary and content.text == "caf\ufffd\n"


async def test_read_max_bytes_truncates(sandbox: Sandbox) -> None:
    await sandbox.write("long.txt", "0123456789" * 100)
    content = await sandbox.read("long.txt", max_bytes=25)
    assert content.truncated and content.text == "0123456789012345678901234" and content.size == 1000


async def test_read_cut_inside_a_character(sandbox: Sandbox) -> None:
    await sandbox.write("u.txt", "ééé")  # 6 bytes
    content = await sandbox.read("u.txt", max_bytes=3)
    assert content.truncated and content.text == "é"


# ---------------------------------------------------------------- list / stat


async def test_list_and_depth(sandbox: Sandbox) -> None:
    await sandbox.write("a.txt", "aa")
    await sandbox.write("src/b.py", "b")
    await sandbox.write("src/pkg/c.py", "c")
    top = await sandbox.list()
    by_path = {i.path: i for i in top}
    assert {"a.txt", "src"} <= set(by_path)
    assert by_path["a.txt"].kind is FileKind.FILE and by_path["a.txt"].size == 2
    assert by_path["src"].kind is FileKind.DIRECTORY
    assert "src/b.py" not in by_path
    deep = {i.path for i in await sandbox.list(".", depth=3)}
    assert {"a.txt", "src", "src/b.py", "src/pkg", "src/pkg/c.py"} <= deep
    assert {i.path for i in await sandbox.list("src")} == {"src/b.py", "src/pkg"}


async def test_list_missing_and_file(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxFileNotFound):
        await sandbox.list("missing")
    await sandbox.write("f.txt", "x")
    with pytest.raises(NotAFile):
        await sandbox.list("f.txt")


async def test_stat(sandbox: Sandbox) -> None:
    await sandbox.write("s/f.txt", "12345")
    info = await sandbox.stat("s/f.txt")
    assert info.path == "s/f.txt" and info.kind is FileKind.FILE and info.size == 5 and info.modified > 0
    assert (await sandbox.stat("s")).kind is FileKind.DIRECTORY
    assert (await sandbox.stat(".")).path == "."


# ---------------------------------------------------------------- search


async def test_search(sandbox: Sandbox) -> None:
    await sandbox.write("src/a.py", "def alpha():\n    return 1\n")
    await sandbox.write("src/b.txt", "alpha beta\nALPHA\n")
    result = await sandbox.search("alpha")
    found = {(m.path, m.line, m.text) for m in result.matches}
    assert found == {("src/a.py", 1, "def alpha():"), ("src/b.txt", 1, "alpha beta")} and not result.truncated
    assert {m.path for m in (await sandbox.search("alpha", glob="*.py")).matches} == {"src/a.py"}
    assert len((await sandbox.search("alpha", ignore_case=True)).matches) == 3
    assert [m.text for m in (await sandbox.search("a.p", fixed_strings=True)).matches] == []
    assert (await sandbox.search("nothing-matches-this")).matches == []


async def test_search_max_results_and_path(sandbox: Sandbox) -> None:
    await sandbox.write("many.txt", "hit\n" * 50)
    await sandbox.write("other/x.txt", "hit\n")
    result = await sandbox.search("hit", max_results=10)
    assert len(result.matches) == 10 and result.truncated
    scoped = await sandbox.search("hit", path="other")
    assert [(m.path, m.line) for m in scoped.matches] == [("other/x.txt", 1)]


async def test_search_bad_regex_is_an_error(sandbox: Sandbox) -> None:
    await sandbox.write("a.txt", "x")
    with pytest.raises(SandboxError):
        await sandbox.search("(unclosed")


# ---------------------------------------------------------------- upload / download


async def test_upload_of_two_spellings_of_one_path_keeps_the_last(sandbox: Sandbox) -> None:
    await sandbox.upload({"same.txt": b"first\n", "./same.txt": b"second\n"})
    assert await sandbox.download("same.txt") == b"second\n"


async def test_upload_and_download(sandbox: Sandbox) -> None:
    files = {"up/one.txt": b"one\n", "up/two/three.bin": bytes(range(256)), "top.txt": "tøp".encode()}
    await sandbox.upload(files)
    for path, data in files.items():
        assert await sandbox.download(path) == data
    assert (await sandbox.exec("cat up/one.txt")).output == "one\n"
