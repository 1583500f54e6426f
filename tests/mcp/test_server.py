"""The MCP sandbox server with the official `mcp` Python client over real HTTP, in both protocol generations."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from tests.mcp.support import PROTOCOLS, connect, running_server, structured, text

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("mode", PROTOCOLS)
async def test_bearer_key_creates_runs_echo_hi_and_deletes(tmp_path: Path, mode: str) -> None:
    async with running_server(tmp_path) as server, connect(server.url, server.keys["alice"], mode=mode) as client:
        expected_version = "2026-07-28" if mode == "2026-07-28" else "2025-11-25"
        assert client.protocol_version == expected_version
        info = structured(await client.call_tool("sandbox_create", {}))
        assert info["backend"] == "local" and Path(info["root"]).is_dir()
        result = structured(await client.call_tool("exec", {"sandbox_id": info["id"], "command": "echo hi"}))
        assert result["output"] == "hi\n" and result["exit_code"] == 0
        listed = structured(await client.call_tool("sandbox_list", {}))
        assert [s["id"] for s in listed["sandboxes"]] == [info["id"]]
        assert structured(await client.call_tool("sandbox_delete", {"sandbox_id": info["id"]}))["deleted"]
        assert structured(await client.call_tool("sandbox_list", {}))["sandboxes"] == []
        assert not Path(info["root"]).exists()


async def test_a_wrong_key_is_refused_without_oauth_metadata(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server:
        for mode in PROTOCOLS:
            with pytest.raises(Exception) as refused:
                async with connect(server.url, "osk_not-a-key", mode=mode) as client:
                    await client.call_tool("sandbox_list", {})
            assert any(isinstance(e, MCPError) for e in _leaves(refused.value)), refused.value
        async with httpx2.AsyncClient() as http:
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
            for headers in ({"Authorization": "Bearer wrong"}, {}):
                response = await http.post(server.url, json=body, headers=headers)
                assert response.status_code == 401
                assert response.headers["www-authenticate"] == 'Bearer realm="open-swe"'
                assert "resource_metadata" not in response.text
            base = server.url.removesuffix("/mcp")
            for well_known in ("oauth-protected-resource", "oauth-authorization-server"):
                assert (await http.get(f"{base}/.well-known/{well_known}")).status_code == 404


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


@pytest.mark.parametrize("mode", PROTOCOLS)
async def test_another_keys_sandbox_is_not_found(tmp_path: Path, mode: str) -> None:
    async with (
        running_server(tmp_path) as server,
        connect(server.url, server.keys["alice"], mode=mode) as alice,
        connect(server.url, server.keys["bob"], mode=mode) as bob,
    ):
        sandbox_id = structured(await alice.call_tool("sandbox_create", {}))["id"]
        for tool, args in (
            ("exec", {"command": "echo hi"}),
            ("read_file", {"path": "x"}),
            ("git_status", {}),
            ("sandbox_delete", {}),
        ):
            result = await bob.call_tool(tool, {"sandbox_id": sandbox_id, **args})
            assert result.is_error and f"not_found: sandbox {sandbox_id!r} not found" in text(result)
        assert structured(await bob.call_tool("sandbox_list", {}))["sandboxes"] == []
        still = structured(await alice.call_tool("exec", {"sandbox_id": sandbox_id, "command": "echo still"}))
        assert still["output"] == "still\n"


@pytest.mark.parametrize("mode", PROTOCOLS)
async def test_exec_streams_output_as_progress_and_honours_its_timeout(tmp_path: Path, mode: str) -> None:
    async with running_server(tmp_path) as server, connect(server.url, server.keys["alice"], mode=mode) as client:
        sandbox_id = structured(await client.call_tool("sandbox_create", {}))["id"]
        chunks: list[str] = []

        async def progress(progress: float, total: float | None, message: str | None) -> None:
            chunks.append(message or "")

        command = "for i in 1 2 3; do echo line$i; sleep 0.2; done"
        args = {"sandbox_id": sandbox_id, "command": command}
        result = structured(await client.call_tool("exec", args, progress_callback=progress))
        assert result["output"] == "line1\nline2\nline3\n"
        assert len(chunks) >= 2 and "".join(chunks) == result["output"]  # streamed, not one block at the end
        slow = structured(
            await client.call_tool("exec", {"sandbox_id": sandbox_id, "command": "sleep 30", "timeout": 1})
        )
        assert slow["timed_out"] and slow["exit_code"] != 0 and slow["duration"] < 20


def _repository(root: Path) -> Path:
    repo = root / "project"
    repo.mkdir()
    (repo / "README.md").write_text("hello\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "first"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True
        )
    return repo


async def test_files_upload_download_search_and_git_on_a_cloned_repository(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server, connect(server.url, server.keys["alice"]) as client:
        repo = _repository(server.repo_root)
        info = structured(await client.call_tool("sandbox_create", {"repository": str(repo)}))
        sid = info["id"]

        async def call(tool: str, **args: object) -> dict:
            return structured(await client.call_tool(tool, {"sandbox_id": sid, **args}))

        assert (await call("read_file", path="README.md"))["text"] == "hello\n"
        assert (await call("write_file", path="src/app.py", content="print('hi')\n"))["kind"] == "file"
        names = {e["path"] for e in (await call("list_files", path=".", depth=2))["entries"]}
        assert {"README.md", "src", "src/app.py"} <= names
        matches = (await call("search_files", pattern="print"))["matches"]
        assert [(m["path"], m["line"]) for m in matches] == [("src/app.py", 1)]
        blob = bytes(range(256))
        await call("upload_files", files={"data/blob.bin": base64.b64encode(blob).decode()})
        download = await call("download_file", path="data/blob.bin")
        assert base64.b64decode(download["content_base64"]) == blob and download["size"] == 256
        assert (await call("stat", path="data/blob.bin"))["size"] == 256

        status = await call("git_status")
        assert status["branch"] == "main" and not status["clean"]
        assert {line[3:] for line in status["changes"]} == {"src/", "data/"}
        await call("write_file", path="README.md", content="hello again\n")
        diff = (await call("git_diff"))["diff"]
        assert "-hello\n+hello again" in diff
        commit = await call("git_commit", message="work")
        assert commit["committed"] and len(commit["commit"]) == 40
        assert (await call("git_status"))["clean"]
        assert "hello again" in (await call("git_diff", base="HEAD~1"))["diff"]
        assert not (await call("git_commit", message="nothing"))["committed"]
        assert not (repo / "src").exists()  # a clone: the original repository is untouched


async def test_bad_input_gets_a_clear_tool_error(tmp_path: Path) -> None:
    async with (
        running_server(tmp_path, max_sandboxes_per_key=2) as server,
        connect(server.url, server.keys["alice"]) as client,
    ):

        async def error(tool: str, args: dict) -> str:
            result = await client.call_tool(tool, args)
            assert result.is_error, result
            return text(result)

        assert "invalid: backend 'daytona' is not offered here; choose one of: local" in await error(
            "sandbox_create", {"backend": "daytona"}
        )
        outside = tmp_path / "elsewhere"
        outside.mkdir()
        assert "is a local path outside MCP_REPO_ROOTS" in await error("sandbox_create", {"repository": str(outside)})
        assert "use an https, ssh or git URL" in await error("sandbox_create", {"repository": "ftp://x/y"})
        assert "invalid: repository '--upload-pack=x'" in await error(
            "sandbox_create", {"repository": "--upload-pack=x"}
        )
        sid = structured(await client.call_tool("sandbox_create", {}))["id"]
        assert "file_not_found:" in await error("read_file", {"sandbox_id": sid, "path": "missing.txt"})
        assert "outside_workspace:" in await error("read_file", {"sandbox_id": sid, "path": "../../etc/passwd"})
        assert "is not valid base64" in await error("upload_files", {"sandbox_id": sid, "files": {"a": "%%%"}})
        assert "timeout" in await error("exec", {"sandbox_id": sid, "command": "true", "timeout": 0})
        assert "command" in await error("exec", {"sandbox_id": sid})
        assert "invalid: '--output=/x' is not a commit or ref" in await error(
            "git_diff", {"sandbox_id": sid, "base": "--output=/x"}
        )
        assert "invalid: git status failed" in await error("git_status", {"sandbox_id": sid})
        assert "not_found" in await error("exec", {"sandbox_id": "sbx_nope", "command": "true"})
        structured(await client.call_tool("sandbox_create", {}))
        assert "already has 2 sandboxes" in await error("sandbox_create", {})
        assert "no_such_tool" in await error("no_such_tool", {})


async def test_a_server_with_no_backends_offers_no_sandboxes(tmp_path: Path) -> None:
    async with running_server(tmp_path, backends="none") as server, connect(server.url, server.keys["alice"]) as client:
        result = await client.call_tool("sandbox_create", {})
        assert result.is_error and "invalid: this server offers no sandboxes (MCP_BACKENDS=none)" in text(result)


async def test_every_tool_has_a_structured_output_schema(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server, connect(server.url, server.keys["alice"]) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == {
            "sandbox_create", "sandbox_list", "sandbox_delete", "exec", "read_file", "write_file", "list_files",
            "stat", "search_files", "upload_files", "download_file", "git_status", "git_diff", "git_commit",
        }  # fmt: skip
        for tool in tools.values():
            assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
            assert tool.description, tool.name
