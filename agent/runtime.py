"""Process-wide runtime: one sandbox provider per backend, the sandboxes acquired by threads, repository resolution.

The service releases a cancelled task's sandbox through the same provider: `release_sandbox(backend, sandbox_id)`.
Tests and the CLI may hand a ready provider to a run with the configurable `sandbox_provider`.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.base import Sandbox, SandboxError, SandboxProvider
from sandbox.registry import create_provider, local_mode_override
from sandbox.settings import BackendName, SandboxSettings

_PROVIDERS: dict[str, SandboxProvider] = {}
_CREATING = threading.Lock()
_SANDBOXES: weakref.WeakKeyDictionary[Any, dict[str, Sandbox]] = weakref.WeakKeyDictionary()
"""provider -> {sandbox id: the sandbox acquired through it by this process}; dropped on release."""
_URL = re.compile(r"^(https?://|git@|ssh://|git://|file://)")


def configurable_of(config: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict((config or {}).get("configurable") or {})


def thread_id_of(config: Mapping[str, Any] | None) -> str:
    return str(configurable_of(config).get("thread_id") or "default")


def backend_for(configurable: Mapping[str, Any]) -> str:
    """`sandbox_backend` of the run, else `SANDBOX_BACKEND` / `x-local-mode` / `OPEN_SWE_LOCAL_MODE`."""
    provider = configurable.get("sandbox_provider")
    if provider is not None:
        return str(provider.name)
    explicit = configurable.get("sandbox_backend")
    if explicit:
        return BackendName(str(explicit)).value
    return SandboxSettings().resolved_backend(local_mode_override=local_mode_override(configurable)).value


def get_provider(backend: str, configurable: Mapping[str, Any] | None = None) -> SandboxProvider:
    """The provider of `backend`, created once per process (or the run's injected `sandbox_provider`)."""
    injected = (configurable or {}).get("sandbox_provider")
    if injected is not None:
        return injected
    provider = _PROVIDERS.get(backend)
    if provider is None:
        with _CREATING:  # concurrent first runs (each in its own thread) must share one provider
            provider = _PROVIDERS.get(backend)
            if provider is None:
                provider = _PROVIDERS[backend] = create_provider(backend)
    return provider


async def provider_for(backend: str, configurable: Mapping[str, Any] | None = None) -> SandboxProvider:
    """`get_provider` from async code: a first creation (it reads settings and `.env`) runs in a thread."""
    if (configurable or {}).get("sandbox_provider") is None and backend not in _PROVIDERS:
        await asyncio.to_thread(get_provider, backend)
    return get_provider(backend, configurable)


async def release_sandbox(backend: str, sandbox_id: str, *, delete: bool | None = None) -> None:
    """Give a thread's sandbox back (cancel, cleanup). Unknown ids are ignored by providers."""
    provider = await provider_for(backend)
    _SANDBOXES.get(provider, {}).pop(sandbox_id, None)
    await provider.release(sandbox_id, delete=delete)


async def release_after_task(state: Mapping[str, Any], config: Mapping[str, Any] | None) -> None:
    """A finished task gives a local workspace back (its in-place lock would block other threads); a follow-up
    re-acquires it. Remote sandboxes stay until the service releases them."""
    backend, sandbox_id = state.get("sandbox_backend"), state.get("sandbox_id")
    if backend != BackendName.LOCAL.value or not sandbox_id:
        return
    provider = await provider_for(backend, configurable_of(config))
    _SANDBOXES.get(provider, {}).pop(sandbox_id, None)
    await provider.release(sandbox_id, delete=False)


async def close_providers() -> None:
    providers = list(_PROVIDERS.values())
    _PROVIDERS.clear()
    _SANDBOXES.clear()
    for provider in providers:
        await provider.aclose()


@dataclass(frozen=True, slots=True)
class RepoSource:
    local_path: str | None = None
    clone_url: str | None = None


def resolve_repo(repo: str | None) -> RepoSource:
    if not repo:
        return RepoSource()
    if _URL.match(repo):
        return RepoSource(clone_url=repo)
    return RepoSource(local_path=str(Path(repo).expanduser().resolve()))


def _clone_target(thread_id: str) -> tuple[Path, bool]:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", thread_id)
    target = SandboxSettings().state_dir / "clones" / safe
    if (target / ".git").exists():
        return target, True
    target.parent.mkdir(parents=True, exist_ok=True)
    return target, False


async def clone_on_host(url: str, thread_id: str) -> str:
    """Clone `url` under the state dir for the local backend; reuse an existing clone of the thread."""
    target, exists = await asyncio.to_thread(_clone_target, thread_id)
    if exists:
        return str(target)
    proc = await asyncio.create_subprocess_exec(
        "git",
        "clone",
        "--quiet",
        "--",  # the URL is never read as an option (--upload-pack=...)
        url,
        str(target),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    if proc.returncode:
        raise SandboxError(f"git clone {url} failed: {out.decode(errors='replace').strip()[-300:]}")
    return str(target)


async def acquire_sandbox(
    state: Mapping[str, Any], config: Mapping[str, Any] | None, *, refresh: bool = False
) -> tuple[Sandbox, str, str | None]:
    """The thread's sandbox (acquired on first use, cached after), its backend, and the project path used.

    `refresh=True` asks the provider again instead of trusting the cached sandbox (after a `SandboxGone`: a remote
    sandbox deleted or stopped since its last use is started again or replaced, and a replacement is cloned)."""
    cfg = configurable_of(config)
    backend = str(state.get("sandbox_backend") or await asyncio.to_thread(backend_for, cfg))
    sandbox_id = state.get("sandbox_id")
    if sandbox_id and (backend in _PROVIDERS or cfg.get("sandbox_provider") is not None):
        held = _SANDBOXES.setdefault(get_provider(backend, cfg), {})
        if refresh:
            held.pop(sandbox_id, None)
        elif sandbox_id in held:  # the common case: every step after the first
            return held[sandbox_id], backend, state.get("project_path")
    source = await asyncio.to_thread(resolve_repo, state.get("repo"))
    if source.local_path and backend != BackendName.LOCAL.value:
        raise SandboxError(
            f"repo {state.get('repo')!r} is a local path, which only the local backend can use; "
            f"give a git URL for the {backend} backend"
        )
    provider = await provider_for(backend, cfg)
    held = _SANDBOXES.setdefault(provider, {})
    project_path = state.get("project_path") or source.local_path
    thread_id = thread_id_of(config)
    if source.clone_url and backend == BackendName.LOCAL.value and not project_path:
        project_path = await clone_on_host(source.clone_url, thread_id)
    lease = await provider.acquire(thread_id, sandbox_id=sandbox_id, project_path=project_path)
    sandbox = lease.sandbox
    if source.clone_url and backend != BackendName.LOCAL.value and lease.fresh:
        result = await sandbox.exec(f"git clone --quiet -- {shlex.quote(source.clone_url)} .", timeout=600)
        if not result.ok:
            raise SandboxError(f"git clone {source.clone_url} failed: {result.output.strip()[-300:]}")
    if lease.fresh and (mark_filled := getattr(provider, "mark_filled", None)) is not None:
        await mark_filled(sandbox.id)  # a remote sandbox is reused only once filled (a failed clone fills it again)
    held[sandbox.id] = sandbox
    return sandbox, backend, project_path
