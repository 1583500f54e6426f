"""The task service: what the REST routes and the websocket do, over the LangGraph runtime's own API.

A task is a LangGraph thread of the `agent` graph whose metadata names its owner; each step a human
takes (approve, reject, answer, follow-up) is a new run on that thread, relayed into the task's event log.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import HTTPException

from agent import hitl
from agent.contract import TERMINAL_STATUSES, TaskStatus
from agent.http.eventlog import EventLog, is_task_id
from agent.http.idempotency import IdempotencyRecords, fingerprint
from agent.http.models import ActionResult, CreateTaskRequest, TaskCreated, TaskView
from agent.http.ratelimit import TaskRateLimiter
from agent.http.relay import STREAM_MODES, RunRelay
from agent.http.repos import RepoPolicy, RepoRefused, check_repo
from agent.http.service_metrics import REQUESTS_REFUSED, TASKS_CREATED, TaskStates
from agent.http.view import LOST, QUEUED, links, lost_view, pending_input, task_view
from coordination.store import StoreUnavailable
from sandbox.routing import RouteRefused, route_for
from sandbox.settings import SandboxSettings

logger = logging.getLogger("open_swe.service.tasks")

TASK_KIND = "task"
NOT_FOUND = "task not found"
MAX_IDEMPOTENCY_KEY = 255
SETTLE_SECONDS = 5.0


class RateLimited(HTTPException):
    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__(
            429,
            f"rate limit: at most {limit} new tasks per window for this API key; retry later",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass
class TaskService:
    client: Any
    """A langgraph_sdk client of this server (in process: `get_client()` with no URL)."""
    log: EventLog
    relay: RunRelay
    limiter: TaskRateLimiter
    idempotency: IdempotencyRecords
    states: TaskStates
    graph_id: str = "agent"
    repo_policy: RepoPolicy = field(default_factory=RepoPolicy)
    """Which repositories a task may name: URL schemes and hosts, and the directories local paths must lie under."""

    # ------------------------------------------------------------------ reads

    async def _thread(self, owner: str, task_id: str) -> dict[str, Any] | None:
        """The owner's task thread; None when the runtime has no such thread; 404 when it is not the owner's."""
        if not is_task_id(task_id):
            raise HTTPException(404, NOT_FOUND)
        try:
            thread = await self.client.threads.get(task_id)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 404:
                return None
            raise
        metadata = thread.get("metadata") or {}
        if metadata.get("owner") != owner or metadata.get("kind") != TASK_KIND:
            raise HTTPException(404, NOT_FOUND)
        return thread

    async def _existing_thread(self, owner: str, task_id: str, *, lost: str) -> dict[str, Any]:
        """The owner's thread; 404 when it is not the owner's, 409 with `lost` when the runtime lost it."""
        thread = await self._thread(owner, task_id)
        if thread is None:
            await self._lost_view(owner, task_id)  # 404 unless it is the owner's lost task
            raise HTTPException(409, f"this task was lost when the server stopped before saving it; {lost}")
        return thread

    async def _owned_thread(self, owner: str, task_id: str, *, settle: float = 0.0) -> dict[str, Any]:
        """The owner's thread, not cancelled; with `settle`, first wait up to that many seconds for a busy run to pause
        or end (a client may act on `plan_proposed` a moment before the run reaches its interrupt)."""
        thread = await self._existing_thread(owner, task_id, lost="resubmit it")
        if _cancelled(thread):
            raise HTTPException(409, "the task was cancelled; create a new task instead")
        deadline = asyncio.get_running_loop().time() + settle
        while thread.get("status") == "busy" and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
            thread = await self.client.threads.get(task_id)
        return thread

    async def _lost_view(self, owner: str, task_id: str) -> TaskView:
        events = await self.log.since(task_id, 0)
        created = events[0] if events and events[0].get("event") == "task_created" else None
        if created is None or created.get("owner") != owner:
            raise HTTPException(404, NOT_FOUND)
        return lost_view(task_id, created, last_event_id=events[-1]["id"])

    async def _with_live_values(self, thread: dict[str, Any]) -> dict[str, Any]:
        """A busy thread's `values` are those of its last finished run: read the latest checkpoint instead."""
        if thread.get("status") != "busy":
            return thread
        state = await self.client.threads.get_state(str(thread["thread_id"]))
        return {**thread, "values": state.get("values") or thread.get("values") or {}}

    async def check_owner(self, owner: str, task_id: str) -> None:
        """404 unless `task_id` is the owner's task (live or lost); cheaper than a full view."""
        if await self._thread(owner, task_id) is None:
            await self._lost_view(owner, task_id)

    async def view(self, owner: str, task_id: str) -> TaskView:
        thread = await self._thread(owner, task_id)
        if thread is None:
            return await self._lost_view(owner, task_id)
        return await self._view_of(thread)

    async def patch(self, owner: str, task_id: str, kind: str) -> str:
        """The task's whole diff (`kind` "patch") or its commits as an mbox ("mbox"), as stored when it ended."""
        thread = await self._existing_thread(owner, task_id, lost="it has no diff")
        values = (await self._with_live_values(thread)).get("values") or {}
        return str(values.get("mbox" if kind == "mbox" else "diff") or "")

    async def _view_of(self, thread: dict[str, Any]) -> TaskView:
        """The view of a thread, as GET /tasks/{id} and the listing both show it."""
        task_id = str(thread["thread_id"])
        thread = await self._with_live_values(thread)
        return task_view(
            thread, last_event_id=await self.log.last_id(task_id), failure=await self._failure(task_id, thread)
        )

    async def _failure(self, task_id: str, thread: dict[str, Any]) -> str | None:
        if thread.get("status") != "error":
            return None
        for event in reversed(await self.log.since(task_id, 0)):
            if event.get("event") == "failed":
                return str(event.get("reason") or "the run failed")
        return "the run failed (see the server log for the error)"

    async def list(self, owner: str, *, limit: int = 100, offset: int = 0) -> list[TaskView]:
        threads = await self.client.threads.search(
            metadata={"owner": owner, "kind": TASK_KIND},
            limit=limit,
            offset=offset,
            sort_by="created_at",
            sort_order="desc",
        )
        return [await self._view_of(t) for t in threads]

    # ------------------------------------------------------------------ create

    async def create(self, owner: str, request: CreateTaskRequest, idempotency_key: str | None) -> TaskCreated:
        body_fp = fingerprint(request.model_dump(mode="json"))
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
                raise HTTPException(400, f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
            claim = await self.idempotency.claim(owner, idempotency_key, body_fp)
            if claim.outcome == "existing" and claim.task_id:
                view = await self.view(owner, claim.task_id)
                return TaskCreated(id=view.id, status=view.status, created=False, links=view.links)
            if claim.outcome == "conflict":
                raise HTTPException(422, "this Idempotency-Key was already used with a different request body")
            if claim.outcome == "in_progress":
                raise HTTPException(409, "a request with this Idempotency-Key is still being processed; retry shortly")
        try:
            decision = await self.limiter.check(owner)
            if not decision.allowed:
                REQUESTS_REFUSED.labels("rate_limited").inc()
                raise RateLimited(decision.retry_after, decision.limit)
            task_id = await self._start_task(owner, request)
        except BaseException:
            if idempotency_key is not None:
                # Free the key for a retry; when the records' own store is the one away, the claim lapses (CLAIM_TTL).
                with suppress(StoreUnavailable):
                    await self.idempotency.abandon(owner, idempotency_key)
            raise
        if idempotency_key is not None:
            try:
                await self.idempotency.complete(owner, idempotency_key, body_fp, task_id)
            except StoreUnavailable as exc:
                # the task exists: answer it; a retry with the key waits until the claim lapses (CLAIM_TTL)
                logger.warning("task created, its Idempotency-Key not recorded: %s", exc, extra={"task_id": task_id})
        return TaskCreated(id=task_id, status=QUEUED, created=True, links=links(task_id))

    async def _resolve_repo(self, repo: str | None) -> str:
        """The repository a task works on, checked against the server's allow-list (422 saying why not)."""
        if not repo:  # the default project, from the environment or .env
            default = (await asyncio.to_thread(SandboxSettings)).project_path
            repo = str(default) if default else None
        if repo is None:
            raise HTTPException(
                422, "repo is required: give a local path or a git URL (no OPEN_SWE_LOCAL_PROJECT_PATH default is set)"
            )
        try:
            await check_repo(repo, self.repo_policy)
        except RepoRefused as exc:
            raise HTTPException(422, str(exc)) from None
        return repo

    async def _start_task(self, owner: str, request: CreateTaskRequest) -> str:
        repo = await self._resolve_repo(request.repo)
        configurable = request.configurable()
        try:
            route = await asyncio.to_thread(route_for, repo=repo, owner=owner, requested=request.sandbox)
        except RouteRefused as exc:
            raise HTTPException(422, str(exc)) from None
        except ValueError as exc:  # a bad SANDBOX_ROUTES: the server's configuration, not the request
            raise HTTPException(503, f"the server's sandbox routing is misconfigured: {exc}") from None
        if route.rule is not None:  # hybrid routing (SANDBOX_ROUTES) chose the backend
            configurable["sandbox_backend"] = route.backend
            configurable["x-local-mode"] = route.backend == "local"
        sandbox = configurable.get("sandbox_backend")
        now = time.time()
        metadata = {
            "kind": TASK_KIND,
            "owner": owner,
            "task": request.task,
            "repo": repo,
            "sandbox": sandbox,
            "auto_approve": request.auto_approve,
            "config": configurable,
            "created_ts": now,
        }
        thread = await self.client.threads.create(metadata=metadata)
        task_id = str(thread["thread_id"])
        await self.log.append(
            task_id,
            "task_created",
            owner=owner,
            task=request.task,
            repo=repo,
            sandbox=sandbox,
            auto_approve=request.auto_approve,
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        )
        TASKS_CREATED.inc()
        self.states.set(task_id, QUEUED)
        await self._start_run(
            task_id,
            metadata,
            input={"messages": [{"role": "user", "content": request.task}], "repo": repo, "intent": "task"},
            reason="task created",
        )
        logger.info("task created", extra={"task_id": task_id, "owner": owner})
        return task_id

    async def _start_run(
        self,
        task_id: str,
        metadata: dict[str, Any],
        *,
        reason: str,
        input: dict[str, Any] | None = None,
        command: dict[str, Any] | None = None,
    ) -> str:
        try:
            run = await self.client.runs.create(
                task_id,
                self.graph_id,
                input=input,
                command=command,
                config={"configurable": dict(metadata.get("config") or {})},
                stream_mode=STREAM_MODES,
                stream_subgraphs=True,
                stream_resumable=True,
                multitask_strategy="reject",
                metadata={"owner": metadata.get("owner")},
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 409:
                raise HTTPException(409, "the task is busy with another step; wait for it to pause or finish") from None
            raise
        run_id = str(run["run_id"])
        await self.log.append(task_id, "run_started", run_id=run_id, reason=reason)
        await self.relay.follow(task_id, run_id, metadata.get("owner"))
        return run_id

    # ------------------------------------------------------------------ human steps

    async def approve(self, owner: str, task_id: str, plan: builtins.list[str] | None = None) -> ActionResult:
        thread = await self._owned_thread(owner, task_id, settle=SETTLE_SECONDS)
        self._require_pending(thread, "plan_approval", "approve")
        value = hitl.edit_plan(plan) if plan else hitl.approve()
        run_id = await self._start_run(
            task_id,
            thread["metadata"],
            command={"resume": value},
            reason="plan edited and approved" if plan else "plan approved",
        )
        return ActionResult(
            id=task_id, action="edit" if plan else "approve", status=TaskStatus.PROGRAMMING.value, run_id=run_id
        )

    async def reject(self, owner: str, task_id: str) -> ActionResult:
        thread = await self._owned_thread(owner, task_id, settle=SETTLE_SECONDS)
        self._require_pending(thread, "plan_approval", "reject")
        run_id = await self._start_run(
            task_id, thread["metadata"], command={"resume": hitl.reject()}, reason="plan rejected"
        )
        return ActionResult(id=task_id, action="reject", status=TaskStatus.REJECTED.value, run_id=run_id)

    async def message(self, owner: str, task_id: str, message: str) -> ActionResult:
        thread = await self._owned_thread(owner, task_id, settle=SETTLE_SECONDS)
        pending = pending_input(thread)
        metadata = thread["metadata"]
        if pending is not None and pending.type == "question":
            command, action = {"resume": hitl.answer(message)}, "answer"
            run_id = await self._start_run(task_id, metadata, command=command, reason="question answered")
        elif pending is not None:
            command, action = {"resume": hitl.reject(message)}, "plan_feedback"
            run_id = await self._start_run(task_id, metadata, command=command, reason="feedback on the plan")
        else:
            status = task_view(thread).status
            if thread.get("status") == "busy" or status not in TERMINAL_STATUSES:
                raise HTTPException(
                    409, f"the task is running (status: {status}); send a message when it asks or finishes"
                )
            action = "follow_up"
            run_id = await self._start_run(
                task_id,
                metadata,
                input={"messages": [{"role": "user", "content": message}], "intent": "follow_up"},
                reason="follow-up message",
            )
        return ActionResult(id=task_id, action=action, status=QUEUED, run_id=run_id)

    @staticmethod
    def _require_pending(thread: dict[str, Any], kind: str, action: str) -> None:
        pending = pending_input(thread)
        if pending is None or pending.type != kind:
            status = task_view(thread).status
            raise HTTPException(409, f"cannot {action}: the task is not awaiting plan approval (status: {status})")

    async def cancel(self, owner: str, task_id: str) -> ActionResult:
        thread = await self._existing_thread(owner, task_id, lost="nothing to cancel")
        if _cancelled(thread):
            return ActionResult(id=task_id, action="cancel", status=TaskStatus.CANCELLED.value)
        status = task_view(thread).status
        if status in TERMINAL_STATUSES:
            raise HTTPException(409, f"the task already ended (status: {status})")
        await self.client.threads.update(
            task_id, metadata={"cancelled": True, "cancel_reason": "cancelled by its owner"}
        )
        for run in await active_runs(self.client, task_id):
            try:
                await self.client.runs.cancel(task_id, str(run["run_id"]), action="interrupt")
            except httpx.HTTPStatusError as exc:  # it ended meanwhile
                logger.info("run already ended at cancel (%s)", exc.response.status_code, extra={"task_id": task_id})
        released = await release_task_sandbox(thread.get("values") or {}, task_id)
        self.states.set(task_id, TaskStatus.CANCELLED.value)
        await self.log.append(
            task_id,
            "failed",
            status=TaskStatus.CANCELLED.value,
            reason="cancelled by its owner",
            sandbox_released=released,
        )
        logger.info("task cancelled", extra={"task_id": task_id, "owner": owner})
        return ActionResult(id=task_id, action="cancel", status=TaskStatus.CANCELLED.value)


async def active_runs(client: Any, task_id: str) -> list[dict[str, Any]]:
    """The task's runs that are running or waiting to run (what cancel stops and a restart follows)."""
    return [
        run for status in ("running", "pending") for run in await client.runs.list(task_id, status=status, limit=100)
    ]


def _cancelled(thread: dict[str, Any]) -> bool:
    return bool((thread.get("metadata") or {}).get("cancelled"))


async def release_task_sandbox(values: dict[str, Any], task_id: str) -> bool:
    """Release the task's sandbox through the graphs' runtime (agent.runtime.release_sandbox)."""
    sandbox_id, backend = values.get("sandbox_id"), values.get("sandbox_backend")
    if not sandbox_id or not backend:
        return False
    try:
        from agent.runtime import release_sandbox
    except ImportError:
        logger.warning(
            "agent.runtime.release_sandbox is not available; sandbox not released", extra={"task_id": task_id}
        )
        return False
    try:
        await release_sandbox(backend, sandbox_id)
    except Exception:
        logger.exception("releasing the sandbox failed", extra={"task_id": task_id})
        return False
    return True


__all__ = ["LOST", "TaskService", "release_task_sandbox"]
