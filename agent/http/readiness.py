"""Readiness checks shared by `/readyz` and the startup banner: model, sandbox backend, Redis."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from coordination.store import CoordinationStore
from sandbox.daytona_settings import DaytonaSettings
from sandbox.isolation import find_bwrap, probe
from sandbox.settings import BackendName, Isolation, SandboxSettings


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def model_check() -> Check:
    """Whether every role has a usable model (agent.models' own rule). Blocking: reads `.env`."""
    from agent.config import AgentSettings
    from agent.models import ModelNotConfigured, check_all_roles

    settings = AgentSettings()
    try:
        check_all_roles(settings, None)
    except ModelNotConfigured as exc:
        return Check(False, str(exc))
    endpoint = settings.openai_base_url or "OpenAI"
    return Check(True, f"model {settings.model or 'per role'} via {endpoint}")


async def sandbox_check(settings: SandboxSettings, daytona: DaytonaSettings | None = None) -> Check:
    """`daytona`: the Daytona settings read at startup; read now (the environment and .env) when not given."""
    backend = settings.resolved_backend()
    if backend == BackendName.LOCAL:
        return await local_isolation_check(settings)
    if daytona is None:
        daytona = await asyncio.to_thread(DaytonaSettings)  # the environment and .env, as the backend reads them
    if daytona.api_key is None:
        return Check(False, "daytona backend selected but DAYTONA_API_KEY is not set (or set OPEN_SWE_LOCAL_MODE=true)")
    url = daytona.api_url or "https://app.daytona.io/api"
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            await client.get(url)
    except httpx.HTTPError as exc:
        return Check(False, f"daytona API at {url} is unreachable ({type(exc).__name__})")
    return Check(True, f"daytona API reachable at {url}")


async def local_isolation_check(settings: SandboxSettings) -> Check:
    """What the local backend's isolation really is: bubblewrap is started once (`isolation.probe`), since an
    installed bwrap can still be unable to build a sandbox (a container without user namespaces, for one)."""
    if settings.isolation == Isolation.NONE:
        return Check(True, "local sandbox (isolation: none, SANDBOX_ISOLATION=none)")
    binary = await asyncio.to_thread(find_bwrap, settings.bwrap_path)
    problem = "bubblewrap (bwrap) is not installed" if binary is None else None
    if binary is not None and (why := await probe(binary)) is not None:
        problem = f"bubblewrap cannot create a sandbox here: {why.splitlines()[0][:200]}"
    if problem is None:
        return Check(True, "local sandbox (isolation: bwrap)")
    if settings.isolation == Isolation.BWRAP:
        return Check(False, f"SANDBOX_ISOLATION=bwrap but {problem}")
    return Check(True, f"local sandbox (isolation: none: {problem}; commands run unconfined)")


async def redis_check(store: CoordinationStore, configured: bool) -> Check:
    if not configured:
        return Check(True, "not configured (coordination in process)")
    try:
        ok = await store.ping()
    except Exception as exc:  # any client error means not reachable
        return Check(False, f"unreachable ({type(exc).__name__})")
    return Check(ok, "reachable" if ok else "ping failed")


@dataclass(frozen=True)
class ReadinessProbe:
    """What /readyz checks, with the settings read once at startup (`read`): a probe then only looks at what can
    change while the server runs (bubblewrap on PATH, the Daytona API, Redis), never re-parsing the environment."""

    model: Check
    sandbox: SandboxSettings
    daytona: DaytonaSettings | None
    store: CoordinationStore
    redis_configured: bool

    @classmethod
    def read(cls, store: CoordinationStore, redis_configured: bool) -> ReadinessProbe:
        """Blocking: reads the environment and `.env`."""
        sandbox = SandboxSettings()
        daytona = DaytonaSettings() if sandbox.resolved_backend() != BackendName.LOCAL else None
        return cls(model_check(), sandbox, daytona, store, redis_configured)

    async def run(self) -> dict[str, Check]:
        sandbox, redis = await asyncio.gather(
            sandbox_check(self.sandbox, self.daytona), redis_check(self.store, self.redis_configured)
        )
        return {"model": self.model, "sandbox": sandbox, "redis": redis}
