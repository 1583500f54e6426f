"""Service configuration (auth, Redis, rate limits, state), read from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.http.leases import LEASE_SECONDS
from agent.http.repos import RepoPolicy
from sandbox.settings import default_state_dir


class ServiceSettings(BaseSettings):
    """How the task API authenticates, coordinates and where it keeps its own records."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True)

    auth_disabled: bool = Field(
        default=False,
        validation_alias=AliasChoices("AUTH_DISABLED"),
        description="Every caller is the single user 'local'. For a laptop only; logged loudly at startup.",
    )
    api_keys: str = Field(
        default="",
        validation_alias=AliasChoices("API_KEYS"),
        repr=False,
        description="Comma-separated `name:sha256hex` entries (hash a key with `python -m agent.http.apikeys hash`).",
    )
    api_keys_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("API_KEYS_FILE"),
        description="A file of `name:sha256hex` lines (blank lines and `#` comments ignored), read with API_KEYS.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL"),
        repr=False,
        description="Coordination store shared by several service processes; in process when unset.",
    )
    task_rate_limit: int = Field(
        default=60,
        ge=1,
        validation_alias=AliasChoices("TASK_RATE_LIMIT"),
        description="Tasks one API key may create per TASK_RATE_WINDOW seconds.",
    )
    task_rate_window: float = Field(default=60.0, gt=0, validation_alias=AliasChoices("TASK_RATE_WINDOW"))
    idempotency_ttl: float = Field(
        default=24 * 3600.0,
        gt=0,
        validation_alias=AliasChoices("IDEMPOTENCY_TTL"),
        description="Seconds an Idempotency-Key is remembered.",
    )
    state_dir: Path = Field(
        default_factory=default_state_dir,
        validation_alias=AliasChoices("OPEN_SWE_STATE_DIR"),
        description="The service keeps task records and event logs under <state_dir>/service.",
    )
    repo_roots: str = Field(
        default="",
        validation_alias=AliasChoices("TASK_REPO_ROOTS"),
        description="Colon-separated directories a task's local repo (or file:// URL) must lie under (symlinks "
        "resolved); any path when empty.",
    )
    repo_url_schemes: str = Field(
        default="https,ssh",
        validation_alias=AliasChoices("TASK_REPO_URL_SCHEMES"),
        description="Comma-separated URL schemes a task's repo may use (of https, http, ssh, git); "
        "`user@host:path` counts as ssh. file:// URLs follow TASK_REPO_ROOTS like paths.",
    )
    repo_url_hosts: str = Field(
        default="",
        validation_alias=AliasChoices("TASK_REPO_URL_HOSTS"),
        description="Comma-separated hosts a task's repo URL may name (`*.example.com`: subdomains); any when empty.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        validation_alias=AliasChoices("SERVICE_MAX_BODY_BYTES"),
        description="Largest request body the task API reads; larger ones get 413.",
    )
    redis_timeout: float = Field(
        default=0.5,
        gt=0,
        le=30,
        validation_alias=AliasChoices("REDIS_TIMEOUT"),
        description="Seconds a Redis operation may take before Redis counts as unavailable (503 with Retry-After).",
    )
    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL"),
        description="PostgreSQL (the production runtime's): task event logs, idempotency records and relay leases live "
        "there, shared by every replica. Unset (langgraph dev): they live in this process and its state directory.",
    )
    postgres_retry_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        validation_alias=AliasChoices("POSTGRES_RETRY_SECONDS"),
        description="How long an operation on the service's Postgres tables retries while the database is unreachable "
        "before it fails (a 503 naming postgres; the websocket closes with 4503 and the client reconnects).",
    )
    relay_lease_seconds: float = Field(
        default=LEASE_SECONDS,
        ge=1,
        le=600,
        validation_alias=AliasChoices("RELAY_LEASE_SECONDS"),
        description="How long a replica's hold on relaying a run outlives its last renewal before another adopts it.",
    )
    graph_id: str = Field(default="agent", validation_alias=AliasChoices("SERVICE_GRAPH_ID"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("SERVICE_LOG_LEVEL"))

    @property
    def repo_root_paths(self) -> tuple[Path, ...]:
        return tuple(Path(p).resolve() for p in self.repo_roots.split(":") if p.strip())

    def repo_policy(self) -> RepoPolicy:
        """Blocking (resolves the roots' symlinks)."""
        return RepoPolicy.from_settings(self.repo_url_schemes, self.repo_url_hosts, self.repo_root_paths)

    @property
    def service_dir(self) -> Path:
        return self.state_dir / "service"
