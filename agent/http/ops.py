"""Operations endpoints: `/healthz` (alive), `/readyz` (model, sandbox backend, Redis). Prometheus metrics are
served by the LangGraph server's own `/metrics`, which exposes the default registry our metrics live in."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from agent.http.readiness import model_check, redis_check, sandbox_check
from sandbox.settings import SandboxSettings

router = APIRouter(tags=["ops"])


class Health(BaseModel):
    status: str


class CheckResult(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, CheckResult]


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up (no authentication)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request) -> JSONResponse:
    """Ready to run tasks: a model is configured, the sandbox backend is usable, Redis answers when configured."""
    state = request.app.state
    model = await asyncio.to_thread(model_check)
    sandbox_settings = await asyncio.to_thread(SandboxSettings)
    sandbox, redis = await asyncio.gather(
        sandbox_check(sandbox_settings),
        redis_check(state.coordination_store, state.redis_configured),
    )
    checks = {
        "model": CheckResult(ok=model.ok, detail=model.detail),
        "sandbox": CheckResult(ok=sandbox.ok, detail=sandbox.detail),
        "redis": CheckResult(ok=redis.ok, detail=redis.detail),
    }
    body = Readiness(ready=all(c.ok for c in checks.values()), checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)
