"""The sandboxes the MCP server hands out, each owned by the API key that created it.

A sandbox is looked up by (owner, id): another key's sandbox is "not found", exactly like one that never existed.
Local sandboxes get a workspace of their own under `<state_dir>/mcp/<id>` (empty, or a clone of the repository);
remote backends (Daytona) get a sandbox from their provider and clone inside it. Everything is deleted on close.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from sandbox.base import Sandbox, SandboxError, SandboxGone, SandboxProvider
from sandbox.registry import create_provider
from sandbox.settings import BackendName, SandboxSettings, WorkspaceMode
from service.mcp.settings import McpSettings

log = logging.getLogger("open_swe.mcp")

_NETWORK_SCHEMES = ("https", "http", "ssh", "git")


class InvalidRequest(SandboxError):
    """The caller asked for something this server does not allow (bad backend, repository, limit)."""


@dataclass(frozen=True, slots=True)
class Held:
    id: str
    owner: str
    backend: str
    sandbox: Sandbox
    repository: str | None
    created: float
    workspace: Path | None
    """The local workspace directory this server made (removed on delete); None for remote backends."""


def _is_local_source(repository: str) -> bool:
    if repository.startswith("git@"):
        return False
    scheme = urlparse(repository).scheme
    return scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter is a path too


class OwnedSandboxes:
    """Create, find, list and delete sandboxes per owner. Use `aclose()` to delete them all."""

    def __init__(self, settings: McpSettings | None = None, *, sandbox_settings: SandboxSettings | None = None) -> None:
        self._settings = settings or McpSettings()
        self._sandbox_settings = sandbox_settings
        self._providers: dict[str, SandboxProvider] = {}
        self._held: dict[str, Held] = {}
        self._creating: dict[str, int] = {}
        """owner -> sandboxes being created (they count toward the owner's limit)."""
        self._lock = asyncio.Lock()

    @property
    def backends(self) -> tuple[str, ...]:
        return self._settings.backend_names

    def _backend(self, requested: str | None) -> str:
        allowed = self.backends
        if not allowed:
            raise InvalidRequest("this server offers no sandboxes (MCP_BACKENDS=none)")
        name = (requested or allowed[0]).strip().lower()
        if name not in allowed:
            raise InvalidRequest(f"backend {name!r} is not offered here; choose one of: {', '.join(allowed)}")
        if name == "mcp":
            raise InvalidRequest("the mcp backend cannot be served over MCP (it would call itself)")
        return name

    async def _provider(self, backend: str) -> SandboxProvider:
        provider = self._providers.get(backend)
        if provider is None:
            settings = self._sandbox_settings or await asyncio.to_thread(SandboxSettings)
            kwargs = {"workspace_mode": WorkspaceMode.IN_PLACE} if backend == BackendName.LOCAL else {}
            provider = await asyncio.to_thread(create_provider, backend, settings, **kwargs)
            self._providers[backend] = provider
        return provider

    def _check_source(self, repository: str, backend: str) -> str:
        if repository.startswith("-"):
            raise InvalidRequest(f"repository {repository!r} is not a URL or a path")
        if not _is_local_source(repository):
            if urlparse(repository).scheme not in _NETWORK_SCHEMES and not repository.startswith("git@"):
                raise InvalidRequest(f"repository {repository!r}: use an https, ssh or git URL")
            return repository
        if backend != BackendName.LOCAL:
            raise InvalidRequest(f"repository {repository!r} is a local path; the {backend} backend needs a git URL")
        path = Path(urlparse(repository).path if repository.startswith("file:") else repository).expanduser().resolve()
        roots = self._settings.repo_root_paths
        if not any(path == root or path.is_relative_to(root) for root in roots):
            raise InvalidRequest(
                f"repository {repository!r} is a local path outside MCP_REPO_ROOTS"
                + ("" if roots else " (unset: local repositories are refused)")
            )
        if not path.is_dir():
            raise InvalidRequest(f"repository {repository!r} does not exist")
        return str(path)

    async def create(self, owner: str, *, backend: str | None = None, repository: str | None = None) -> Held:
        name = self._backend(backend)
        source = await asyncio.to_thread(self._check_source, repository, name) if repository else None
        async with self._lock:
            count = len(self.list(owner)) + self._creating.get(owner, 0)
            if count >= self._settings.max_sandboxes_per_key:
                raise InvalidRequest(
                    f"this key already has {count} sandboxes (MCP_MAX_SANDBOXES_PER_KEY); delete one first"
                )
            self._creating[owner] = self._creating.get(owner, 0) + 1
        sandbox_id = f"sbx_{secrets.token_hex(8)}"
        try:
            held = await self._make(sandbox_id, owner, name, repository, source)
        finally:
            self._creating[owner] -= 1
        self._held[sandbox_id] = held
        log.info("mcp sandbox %s created for %s on %s", sandbox_id, owner, name)
        return held

    async def _make(
        self, sandbox_id: str, owner: str, backend: str, repository: str | None, source: str | None
    ) -> Held:
        provider = await self._provider(backend)
        workspace = None
        if backend == BackendName.LOCAL:
            workspace = self._settings.workspace_dir / sandbox_id
            await asyncio.to_thread(workspace.mkdir, parents=True)
            try:
                if source:
                    await self._clone_on_host(source, workspace)
                lease = await provider.acquire(sandbox_id, project_path=str(workspace))
            except BaseException:
                await asyncio.to_thread(shutil.rmtree, workspace, True)
                raise
        else:
            lease = await provider.acquire(sandbox_id)
            if source:
                result = await lease.sandbox.exec(
                    f"git clone --quiet -- {shlex.quote(source)} .", timeout=self._settings.clone_timeout
                )
                if not result.ok:
                    await provider.release(lease.sandbox.id, delete=True)
                    raise SandboxError(f"git clone {source} failed: {result.output.strip()[-300:]}")
        return Held(sandbox_id, owner, backend, lease.sandbox, repository, time.time(), workspace)

    async def _clone_on_host(self, source: str, workspace: Path) -> None:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        proc = await asyncio.create_subprocess_exec(
            "git", "clone", "--quiet", "--", source, str(workspace),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self._settings.clone_timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SandboxError(f"git clone {source} timed out after {self._settings.clone_timeout:g}s") from None
        if proc.returncode:
            raise SandboxError(f"git clone {source} failed: {out.decode(errors='replace').strip()[-300:]}")

    def get(self, owner: str, sandbox_id: str) -> Held:
        held = self._held.get(sandbox_id)
        if held is None or held.owner != owner:
            raise SandboxGone(f"sandbox {sandbox_id!r} not found")
        return held

    def list(self, owner: str) -> list[Held]:
        return [held for held in self._held.values() if held.owner == owner]

    async def delete(self, owner: str, sandbox_id: str) -> None:
        held = self.get(owner, sandbox_id)
        self._held.pop(sandbox_id, None)
        await self._drop(held)
        log.info("mcp sandbox %s deleted", sandbox_id)

    async def _drop(self, held: Held) -> None:
        try:
            await self._providers[held.backend].release(held.sandbox.id, delete=True)
        finally:
            if held.workspace is not None:
                await asyncio.to_thread(shutil.rmtree, held.workspace, True)

    async def aclose(self) -> None:
        """Delete every sandbox (nothing is left running or on disk) and close the providers."""
        held, self._held = list(self._held.values()), {}
        for entry in held:
            try:
                await self._drop(entry)
            except Exception:
                log.exception("deleting mcp sandbox %s on shutdown failed", entry.id)
        providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            await provider.aclose()
