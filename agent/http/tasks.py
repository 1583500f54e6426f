"""REST routes of the task API."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response, status
from fastapi.responses import PlainTextResponse

from agent.http.deps import caller_identity, task_service
from agent.http.models import (
    ActionResult,
    ApproveRequest,
    CreateTaskRequest,
    MessageRequest,
    TaskCreated,
    TaskList,
    TaskView,
)
from agent.http.responses import MAX_OFFSET, responses
from agent.http.service import MAX_IDEMPOTENCY_KEY, TaskService

router = APIRouter(prefix="/tasks", tags=["tasks"])

Owner = Annotated[str, Depends(caller_identity)]
Service = Annotated[TaskService, Depends(task_service)]
TaskId = Annotated[
    str,
    Path(
        description="The task's id, as POST /tasks answered it (a UUID); any other value is an unknown task (404).",
        json_schema_extra={"format": "uuid"},
    ),
]
IdempotencyKey = Header(
    alias="Idempotency-Key",
    description=f"Makes a retry safe: a repeat with the same key and body answers 200 with the first request's task. "
    f"1 to {MAX_IDEMPOTENCY_KEY} characters (400 otherwise); remembered for IDEMPOTENCY_TTL seconds.",
    json_schema_extra={"minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskCreated,
    responses={
        200: {
            "model": TaskCreated,
            "description": "A repeat of an earlier request with the same Idempotency-Key: its task (`created: false`)",
        },
        **responses(400, 401, 409, 413, 422, 429, 503),
    },
)
async def create_task(
    body: CreateTaskRequest,
    owner: Owner,
    service: Service,
    response: Response,
    idempotency_key: Annotated[str | None, IdempotencyKey] = None,
) -> TaskCreated:
    """Start a task. A repeat with the same `Idempotency-Key` returns the first request's task (200)."""
    created = await service.create(owner, body, idempotency_key)
    if not created.created:
        response.status_code = status.HTTP_200_OK
    return created


@router.get("", response_model=TaskList, responses=responses(401, 422, 503))
async def list_tasks(
    owner: Owner,
    service: Service,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TaskList:
    """The caller's own tasks, newest first."""
    return TaskList(tasks=await service.list(owner, limit=limit, offset=offset))


@router.get("/{task_id}", response_model=TaskView, responses=responses(401, 404, 503))
async def get_task(task_id: TaskId, owner: Owner, service: Service) -> TaskView:
    """Status, plan with item states, pending question or plan, usage, diff and branch."""
    return await service.view(owner, task_id)


@router.get(
    "/{task_id}/diff",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/x-diff": {}, "application/mbox": {}}, "description": "The patch, whole"},
        **responses(401, 404, 409, 422, 503),
    },
)
async def get_task_diff(
    task_id: TaskId,
    owner: Owner,
    service: Service,
    format: Annotated[Literal["patch", "mbox"], Query(description="patch: `git apply`; mbox: `git am`")] = "patch",
) -> Response:
    """The task's whole diff against its base commit (any size; kept after its sandbox is gone), or its commits as an
    mbox. Empty until the task has changes; complete once it ended."""
    text = await service.patch(owner, task_id, format)
    media = "application/mbox" if format == "mbox" else "text/x-diff"
    headers = {"Content-Disposition": f'attachment; filename="{task_id}.{format}"'}
    return Response(text.encode("utf-8"), media_type=media, headers=headers)


@router.post(
    "/{task_id}/approve",
    response_model=ActionResult,
    responses=responses(401, 404, 409, 413, 422, 503),
)
async def approve_task(
    task_id: TaskId, owner: Owner, service: Service, body: Annotated[ApproveRequest | None, Body()] = None
) -> ActionResult:
    """Approve the proposed plan, or send `{"plan": [...]}` to run an edited plan."""
    return await service.approve(owner, task_id, body.plan if body else None)


@router.post(
    "/{task_id}/reject",
    response_model=ActionResult,
    responses=responses(401, 404, 409, 413, 422, 503),
)
async def reject_task(task_id: TaskId, owner: Owner, service: Service) -> ActionResult:
    """Reject the proposed plan: the task ends as `rejected`."""
    return await service.reject(owner, task_id)


@router.post("/{task_id}/messages", response_model=ActionResult, responses=responses(401, 404, 409, 413, 422, 503))
async def message_task(task_id: TaskId, body: MessageRequest, owner: Owner, service: Service) -> ActionResult:
    """Answer the pending question, give feedback on a proposed plan, or add a follow-up to a finished task."""
    return await service.message(owner, task_id, body.message)


@router.delete("/{task_id}", response_model=ActionResult, responses=responses(401, 404, 409, 413, 422, 503))
async def cancel_task(task_id: TaskId, owner: Owner, service: Service) -> ActionResult:
    """Cancel the task: its runs stop and its sandbox is released."""
    return await service.cancel(owner, task_id)
