"""The FastAPI app served beside the LangGraph API (langgraph.json `http.app`): task REST routes, the task
event websocket and health checks, behind the server's custom auth (`enable_custom_route_auth`)."""

from __future__ import annotations

import asyncio
import importlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from agent.http import events, ops, tasks, web
from agent.http.auth import load_auth_config
from agent.http.eventlog import EventLog, FileEventLog
from agent.http.guards import install_guards
from agent.http.idempotency import IdempotencyRecords
from agent.http.logs import setup_service_logging
from agent.http.ratelimit import TaskRateLimiter
from agent.http.readiness import Check, ReadinessProbe
from agent.http.recovery import recover_tasks
from agent.http.relay import RunRelay
from agent.http.service import TaskService
from agent.http.service_metrics import TaskStates
from agent.http.settings import ServiceSettings
from agent.http.tickets import tickets
from coordination.store import MemoryStore, store_from_url
from service.aegra.client import service_client
from service.aegra.context import self_client_settings
from service.aegra.recovery import recover_on_runtime
from service.mcp.app import McpEndpoint
from service.postgres import PostgresState, open_postgres

logger = logging.getLogger("open_swe.service")
MCP = McpEndpoint()
"""The MCP sandbox server at /mcp (langgraph.json `http.disable_mcp` frees the path from langgraph-api's own)."""


def _log_startup(settings: ServiceSettings, keys: int, disabled: bool, model: Check) -> None:
    if disabled:
        logger.warning(
            "AUTH_DISABLED=true: AUTHENTICATION IS OFF, every caller is the user 'local'. "
            "Never expose this server beyond this machine."
        )
    elif keys == 0:
        logger.warning(
            "no API keys configured: every request is refused with 401. Set API_KEYS "
            "(entries from `python -m agent.http.apikeys new NAME`) or AUTH_DISABLED=true for local use"
        )
    else:
        logger.info("API-key auth on (%d key(s))", keys)
    if model.ok:
        logger.info(model.detail)
    else:
        logger.warning("NO MODEL CONFIGURED: tasks will fail until it is set: %s", model.detail)
    logger.info("coordination store: %s", "redis" if settings.redis_url else "in process")


WARM_IMPORTS = ("langchain_openai", "openai", "unidiff", "sandbox.local")
"""Imported in a thread at startup: the first runs would otherwise import them on the event loop (about a second)."""


def _import_run_dependencies() -> None:
    for name in WARM_IMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:
            logger.warning("warm-up import of %s failed", name)


def _log_failure(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("recovering tasks after the restart failed", exc_info=task.exception())


async def _open_shared_state(settings: ServiceSettings) -> PostgresState | None:
    """The production runtime's per-task state in PostgreSQL (shared by every replica); None without DATABASE_URL."""
    if settings.database_url is None:
        return None
    return await open_postgres(
        settings.database_url.get_secret_value(),
        holder=uuid.uuid4().hex,
        lease_ttl=settings.relay_lease_seconds,
        retry_for=settings.postgres_retry_seconds,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = await asyncio.to_thread(ServiceSettings)
    setup_service_logging(settings.log_level)
    auth_config = await asyncio.to_thread(load_auth_config, settings)
    store = store_from_url(settings.redis_url, timeout=settings.redis_timeout)
    tickets.use(store)  # websocket tickets work across replicas sharing the store
    readiness = await asyncio.to_thread(ReadinessProbe.read, store, bool(settings.redis_url))
    _log_startup(settings, len(auth_config.entries), auth_config.disabled, readiness.model)
    remote_runtime = self_client_settings() is not None
    shared = await _open_shared_state(settings) if remote_runtime else None
    log: EventLog = shared.events if shared else FileEventLog(settings.service_dir / "events")
    if shared is None:
        await log.open()
    client = service_client()
    states = TaskStates()
    relay = RunRelay(
        client,
        log,
        states,
        leases=shared.leases if shared else None,
        exact_parts=remote_runtime,
        lease_seconds=settings.relay_lease_seconds,
    )
    app.state.readiness = readiness
    app.state.max_body_bytes = settings.max_body_bytes
    app.state.task_service = TaskService(
        client=client,
        log=log,
        relay=relay,
        states=states,
        graph_id=settings.graph_id,
        repo_policy=await asyncio.to_thread(settings.repo_policy),
        limiter=TaskRateLimiter(store, limit=settings.task_rate_limit, window=settings.task_rate_window),
        idempotency=IdempotencyRecords(shared.records if shared else store, ttl=settings.idempotency_ttl),
    )
    if shared is not None:
        relay.keep_leases()  # runs of replicas that stop (or restart) are adopted by a live one
    recovery = asyncio.create_task(
        recover_on_runtime(lambda: recover_tasks(client, log, relay, states, relay_runs=shared is None), auth_config),
        name="recover-tasks",
    )
    recovery.add_done_callback(_log_failure)
    warm_up = asyncio.create_task(asyncio.to_thread(_import_run_dependencies), name="warm-up")
    try:
        async with MCP.running():
            yield
    finally:
        recovery.cancel()
        warm_up.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await recovery
        await relay.aclose()
        tickets.use(MemoryStore())
        await store.aclose()
        if shared is not None:
            await shared.aclose()


app = FastAPI(
    title="open-swe task API",
    version="0.1.0",
    description="Coding tasks over REST and websockets, beside the LangGraph API (threads, runs, streams).",
    lifespan=lifespan,
)
install_guards(app)
# langgraph-api wraps each top-level route of this app with its auth middleware, which needs plain routes
# (FastAPI's include_router adds router objects it cannot wrap), so the routers' routes are added directly.
for router in (ops.router, tasks.router, web.router, events.router):
    app.router.routes.extend(router.routes)
app.router.routes.append(MCP.route())
