"""The MCP backend: `Sandbox` and `SandboxProvider` over a remote MCP sandbox server (service/mcp).

Every operation is one tool call (one HTTP request); a command's output arrives as progress notifications and is
passed to `on_output` as it comes. The remote sandbox's id is the lease's id; a thread's sandbox is found again by
that id, and a sandbox the server no longer has is created anew (a fresh lease).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping
from typing import Any

from sandbox.backend_metrics import metered_provider, metered_sandbox
from sandbox.base import (
    ExecResult,
    FileContent,
    FileInfo,
    Lease,
    OutputCallback,
    SandboxError,
    SandboxGone,
    SearchResult,
)
from sandbox.mcp import protocol as p
from sandbox.mcp.client import McpClient
from sandbox.mcp.settings import McpBackendSettings

log = logging.getLogger(__name__)


@metered_sandbox("mcp")
class McpSandbox:
    """One sandbox of the remote server."""

    def __init__(self, client: McpClient, info: p.SandboxInfo) -> None:
        self._client = client
        self._info = info

    @property
    def id(self) -> str:
        return self._info.id

    @property
    def root(self) -> str:
        return self._info.root

    def _args(self, **args: Any) -> dict[str, Any]:
        return {"sandbox_id": self.id, **{k: v for k, v in args.items() if v is not None}}

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        on_output: OutputCallback | None = None,
    ) -> ExecResult:
        async def progress(progress: float, total: float | None, message: str | None) -> None:
            if on_output is not None and message:
                await on_output(message)

        args = self._args(command=command, cwd=cwd, timeout=timeout, env=dict(env) if env else None)
        out = await self._client.call("exec", args, p.ExecOutput, timeout=timeout or 0, progress=progress)
        return ExecResult(
            exit_code=out.exit_code,
            output=out.output,
            truncated=out.truncated,
            timed_out=out.timed_out,
            duration=out.duration,
        )

    async def read(self, path: str, *, max_bytes: int | None = None) -> FileContent:
        return (await self._client.call("read_file", self._args(path=path, max_bytes=max_bytes), p.FileText)).content()

    async def write(self, path: str, content: str | bytes) -> FileInfo:
        data = {"content": content} if isinstance(content, str) else {"content_base64": _b64(content)}
        return (await self._client.call("write_file", self._args(path=path, **data), p.Entry)).info()

    async def list(self, path: str = ".", *, depth: int = 1) -> list[FileInfo]:
        listing = await self._client.call("list_files", self._args(path=path, depth=max(1, depth)), p.Listing)
        return [entry.info() for entry in listing.entries]

    async def stat(self, path: str) -> FileInfo:
        return (await self._client.call("stat", self._args(path=path), p.Entry)).info()

    async def search(
        self,
        pattern: str,
        *,
        path: str = ".",
        glob: str | None = None,
        max_results: int = 100,
        fixed_strings: bool = False,
        ignore_case: bool = False,
    ) -> SearchResult:
        args = self._args(
            pattern=pattern,
            path=path,
            glob=glob,
            max_results=max_results,
            fixed_strings=fixed_strings,
            ignore_case=ignore_case,
        )
        return (await self._client.call("search_files", args, p.Matches)).result()

    async def upload(self, files: Mapping[str, bytes]) -> None:
        encoded = {path: _b64(data) for path, data in files.items()}
        await self._client.call("upload_files", self._args(files=encoded), p.Uploaded)

    async def download(self, path: str) -> bytes:
        out = await self._client.call("download_file", self._args(path=path), p.Download)
        return base64.b64decode(out.content_base64)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@metered_provider("mcp")
class McpProvider:
    """Sandboxes from a remote MCP sandbox server (SANDBOX_MCP_URL, SANDBOX_MCP_API_KEY)."""

    def __init__(self, settings: McpBackendSettings | None = None, *, client: McpClient | None = None) -> None:
        self._settings = settings or McpBackendSettings()
        if client is None:
            if not self._settings.url:
                raise SandboxError("SANDBOX_BACKEND=mcp needs SANDBOX_MCP_URL (the MCP sandbox server's /mcp URL)")
            key = self._settings.api_key.get_secret_value() if self._settings.api_key else None
            client = McpClient(self._settings.url, key, timeout=self._settings.timeout)
        self._client = client
        self._held: dict[str, McpSandbox] = {}
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return "mcp"

    async def acquire(self, thread_id: str, *, sandbox_id: str | None = None, project_path: str | None = None) -> Lease:
        if project_path:
            raise SandboxError(
                f"the mcp backend runs on a remote server and cannot use the local path {project_path!r}; "
                "give the task a git URL"
            )
        async with self._lock:
            if sandbox_id and sandbox_id in self._held:
                return Lease(self._held[sandbox_id], fresh=False, backend=self.name)
            if sandbox_id:
                listed = await self._client.call("sandbox_list", {}, p.SandboxList)
                found = next((info for info in listed.sandboxes if info.id == sandbox_id), None)
                if found is not None:
                    sandbox = self._held[found.id] = McpSandbox(self._client, found)
                    return Lease(sandbox, fresh=False, backend=self.name)
                log.info("mcp sandbox %s of thread %s is gone: creating another", sandbox_id, thread_id)
            args = {"backend": self._settings.remote_backend} if self._settings.remote_backend else {}
            info = await self._client.call("sandbox_create", args, p.SandboxInfo)
            sandbox = self._held[info.id] = McpSandbox(self._client, info)
            log.info("mcp sandbox %s created for thread %s (%s)", info.id, thread_id, info.backend)
            return Lease(sandbox, fresh=True, backend=self.name)

    async def release(self, sandbox_id: str, *, delete: bool | None = None) -> None:
        """Forget the sandbox; delete it on the server unless `delete=False`."""
        self._held.pop(sandbox_id, None)
        if delete is False:
            return
        try:
            await self._client.call("sandbox_delete", {"sandbox_id": sandbox_id}, p.Deleted)
        except SandboxGone:
            log.debug("release of %s: already gone", sandbox_id)

    async def aclose(self) -> None:
        """Close the connection; the remote sandboxes stay for their threads to resume."""
        self._held.clear()
        await self._client.aclose()
