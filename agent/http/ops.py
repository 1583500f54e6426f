"""Operations endpoints: `/healthz` (alive), `/readyz` (model, sandbox backend, Redis). Prometheus metrics are
served by the LangGraph server's own `/metrics`, which exposes the default registry our metrics live in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from agent.http.readiness import ReadinessProbe

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


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: the failing checks say why"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Ready to run tasks: a model is configured, the sandbox backend is usable, Redis answers when configured."""
    probe: ReadinessProbe | None = getattr(request.app.state, "readiness", None)
    if probe is None:
        starting = CheckResult(ok=False, detail="the service is starting")
        body = Readiness(ready=False, checks={"service": starting})
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "1"})
    checks = {name: CheckResult(ok=c.ok, detail=c.detail) for name, c in (await probe.run()).items()}
    body = Readiness(ready=all(c.ok for c in checks.values()), checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)
