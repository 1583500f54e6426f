"""Service configuration (auth, Redis, rate limits, state), read from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
        description="Colon-separated directories a task's local repo must lie under (symlinks resolved); any path when empty.",
    )
    graph_id: str = Field(default="agent", validation_alias=AliasChoices("SERVICE_GRAPH_ID"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("SERVICE_LOG_LEVEL"))

    @property
    def repo_root_paths(self) -> tuple[Path, ...]:
        return tuple(Path(p).resolve() for p in self.repo_roots.split(":") if p.strip())

    @property
    def service_dir(self) -> Path:
        return self.state_dir / "service"
