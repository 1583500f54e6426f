"""Typed request and response bodies of the task API (they make up its OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.http.repos import RepoRefused, parse_repo

MODEL_FIELDS = ("model", "planner_model", "programmer_model", "reviewer_model", "router_model", "summarizer_model")
LIMIT_FIELDS = ("max_steps", "max_total_tokens", "max_wall_seconds")
MAX_STEPS = 10_000
MAX_TOTAL_TOKENS = 1_000_000_000
MAX_WALL_SECONDS = 7 * 24 * 3600
MAX_PLAN_STEPS = 200
ModelName = Annotated[str | None, Field(max_length=200)]


class CreateTaskRequest(BaseModel):
    """A coding task for the agent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    task: str = Field(min_length=1, max_length=100_000, description="What to do, in plain language.")
    repo: str | None = Field(
        default=None,
        max_length=4096,
        description="An absolute local path to a git repository, or a git URL the server allows "
        "(TASK_REPO_URL_SCHEMES, TASK_REPO_URL_HOSTS, TASK_REPO_ROOTS). Defaults to OPEN_SWE_LOCAL_PROJECT_PATH.",
    )
    sandbox: Literal["local", "daytona", "mcp"] | None = Field(
        default=None,
        description="Where commands run; the server's default (SANDBOX_ROUTES, OPEN_SWE_LOCAL_MODE) when unset.",
    )
    auto_approve: bool = Field(default=False, description="Start programming without waiting for plan approval.")
    model: str | None = Field(default=None, max_length=200, description="Model for every role, e.g. 'openai:gpt-4.1'.")
    planner_model: ModelName = None
    programmer_model: ModelName = None
    reviewer_model: ModelName = None
    router_model: ModelName = None
    summarizer_model: ModelName = None
    max_steps: int | None = Field(default=None, gt=0, le=MAX_STEPS)
    max_total_tokens: int | None = Field(default=None, gt=0, le=MAX_TOTAL_TOKENS)
    max_wall_seconds: int | None = Field(default=None, gt=0, le=MAX_WALL_SECONDS)

    @field_validator("repo")
    @classmethod
    def _repo_is_path_or_url(cls, repo: str | None) -> str | None:
        """The syntax only; the server's allow-list (schemes, hosts, roots) is checked when the task is created."""
        if repo is None or repo == "":
            return None
        try:
            parse_repo(repo)
        except RepoRefused as exc:
            raise ValueError(str(exc)) from None
        return repo

    def configurable(self) -> dict[str, Any]:
        config: dict[str, Any] = {"auto_approve": self.auto_approve}
        for name in (*MODEL_FIELDS, *LIMIT_FIELDS):
            value = getattr(self, name)
            if value is not None:
                config[name] = value
        if self.sandbox is not None:
            config["sandbox_backend"] = self.sandbox
            config["x-local-mode"] = self.sandbox == "local"
        return config


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: list[Annotated[str, Field(min_length=1, max_length=10_000)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PLAN_STEPS,
        description="An edited plan (one string per step) to run instead of the proposed one.",
    )


class MessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    message: str = Field(
        min_length=1,
        max_length=100_000,
        description="Answers a pending question, gives feedback on a proposed plan, or adds a follow-up to a finished "
        "task.",
    )


class TaskLinks(BaseModel):
    self: str
    events: str
    approve: str
    reject: str
    messages: str
    diff: str = ""


class PendingInput(BaseModel):
    type: Literal["plan_approval", "question"]
    plan: list[dict[str, Any]] | None = None
    question: str | None = None


class TestsView(BaseModel):
    ran: bool = Field(default=False, description="Whether the project's tests ran during the task.")
    runs: int = 0
    last: dict[str, Any] | None = Field(
        default=None,
        description="How the last run ended: command, exit_code, framework, passed, failed, errors, skipped, total, "
        "summary, ok (agent/tools/testrun.py).",
    )


class TaskView(BaseModel):
    id: str
    status: str = Field(description="A TaskStatus, or 'queued' before the graph has started, or 'lost'.")
    task: str
    repo: str | None = None
    sandbox: str | None = None
    auto_approve: bool = False
    created_at: str | None = None
    updated_at: str | None = None
    plan: list[dict[str, Any]] = Field(default_factory=list)
    pending: PendingInput | None = None
    usage: dict[str, Any] = Field(default_factory=dict)
    diff: str | None = None
    branch: str | None = None
    summary: str | None = None
    reason: str | None = None
    answer: str | None = Field(default=None, description="The reply when the message was answered (status answered).")
    open_requests: list[str] = Field(
        default_factory=list, description="The reviewer's requests still open (status needs_review)."
    )
    review_rounds: int = Field(default=0, description="Reviewer passes so far (at most MAX_REVIEW_ROUNDS).")
    tests: TestsView = Field(default_factory=lambda: TestsView(), description="The project's tests during the task.")
    diff_truncated: bool = Field(
        default=False, description="`diff` is cut to its first 200 000 characters; GET /tasks/{id}/diff has it whole."
    )
    last_event_id: int = 0
    links: TaskLinks


class TaskCreated(BaseModel):
    id: str
    status: str
    created: bool = Field(description="False when an earlier request with the same Idempotency-Key created it.")
    links: TaskLinks


class TaskList(BaseModel):
    tasks: list[TaskView]


class ActionResult(BaseModel):
    id: str
    action: str
    status: str
    run_id: str | None = None
