"""Daytona backend configuration, read from the environment (and `.env`) with pydantic-settings.

SDK-free on purpose: the service can validate its configuration without importing the Daytona SDK.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SNAPSHOT = "open-swe-vcpu2-mem4-disk5"
SERVICE_LABEL = "open-swe.service"
THREAD_LABEL = "open-swe.thread"
POOL_LABEL = "open-swe.pool"


class ReleaseAction(StrEnum):
    STOP = "stop"
    """Stop the sandbox; Daytona deletes it after DAYTONA_AUTO_DELETE_MINUTES (0 = at once)."""
    DELETE = "delete"
    """Delete the sandbox immediately."""


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class DaytonaSettings(BaseSettings):
    """Where Daytona is, what sandboxes look like, how long they live, and how hard we retry."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    api_key: SecretStr | None = Field(default=None, validation_alias=_env("DAYTONA_API_KEY"))
    """API key (Daytona dashboard -> Keys). Never logged, never sent into a sandbox."""
    api_url: str | None = Field(default=None, validation_alias=_env("DAYTONA_API_URL"))
    """API endpoint; unset = Daytona's cloud. Self-hosted: http://host:3000/api."""
    target: str | None = Field(default=None, validation_alias=_env("DAYTONA_TARGET"))
    """Region / runner target (e.g. us, eu); unset = the organization's default."""
    snapshot: str = Field(default=DEFAULT_SNAPSHOT, min_length=1, validation_alias=_env("DAYTONA_SNAPSHOT"))
    """Snapshot every sandbox is created from."""
    os_user: str = Field(default="daytona", min_length=1, validation_alias=_env("DAYTONA_OS_USER"))
    workspace_dir: str = Field(
        default="/home/daytona/workspace", pattern=r"^/", validation_alias=_env("DAYTONA_WORKSPACE_DIR")
    )
    """Absolute workspace root inside the sandbox."""
    service_label: str = Field(default="open-swe", min_length=1, validation_alias=_env("DAYTONA_SERVICE_LABEL"))
    """Value of the `open-swe.service` label on every sandbox we create (separates deployments)."""
    auto_stop_minutes: int = Field(default=15, ge=0, validation_alias=_env("DAYTONA_AUTO_STOP_MINUTES"))
    """Minutes without toolbox activity before Daytona stops a sandbox (0 = never)."""
    auto_delete_minutes: int = Field(default=0, ge=-1, validation_alias=_env("DAYTONA_AUTO_DELETE_MINUTES"))
    """Minutes after stopping before Daytona deletes it (0 = at once, -1 = never)."""
    network_block_all: bool = Field(default=False, validation_alias=_env("DAYTONA_NETWORK_BLOCK_ALL"))
    release_action: ReleaseAction = Field(default=ReleaseAction.STOP, validation_alias=_env("DAYTONA_RELEASE_ACTION"))
    pool_size: int = Field(default=0, ge=0, le=100, validation_alias=_env("DAYTONA_POOL_SIZE"))
    """Started sandboxes kept ready for instant acquisition (0 = no pool)."""
    keepalive_minutes: float = Field(default=24 * 60, ge=0, validation_alias=_env("DAYTONA_KEEPALIVE_MINUTES"))
    """While a task waits for a human (plan approval, an answer), its sandbox's activity is refreshed for at most
    this many minutes so Daytona does not auto-stop (and, with auto-delete 0, delete) it (0 = off)."""
    keepalive_interval: float | None = Field(default=None, gt=0, validation_alias=_env("DAYTONA_KEEPALIVE_INTERVAL"))
    """Seconds between two activity refreshes; unset = a third of DAYTONA_AUTO_STOP_MINUTES."""
    redis_url: str | None = Field(default=None, validation_alias=_env("REDIS_URL"))
    """Shared coordination store (one warm pool across processes); unset = in process."""
    create_timeout: float = Field(default=60.0, gt=0, validation_alias=_env("DAYTONA_CREATE_TIMEOUT"))
    """Seconds a create may take before the half-made sandbox is deleted."""
    start_timeout: float = Field(default=60.0, gt=0, validation_alias=_env("DAYTONA_START_TIMEOUT"))
    request_timeout: float = Field(default=30.0, gt=0, validation_alias=_env("DAYTONA_REQUEST_TIMEOUT"))
    """Client-side timeout of one control-plane request, seconds."""
    retry_deadline: float = Field(default=60.0, gt=0, validation_alias=_env("DAYTONA_RETRY_DEADLINE"))
    """Total seconds one operation may spend retrying."""
    retry_base_delay: float = Field(default=0.5, gt=0, validation_alias=_env("DAYTONA_RETRY_BASE_DELAY"))
    retry_max_delay: float = Field(default=10.0, gt=0, validation_alias=_env("DAYTONA_RETRY_MAX_DELAY"))

    @property
    def heartbeat_seconds(self) -> float:
        if self.keepalive_interval is not None:
            return self.keepalive_interval
        return max(10.0, self.auto_stop_minutes * 60 / 3) if self.auto_stop_minutes else 300.0

    def labels_for(self, thread_id: str | None = None) -> dict[str, str]:
        labels = {SERVICE_LABEL: self.service_label}
        if thread_id is not None:
            labels[THREAD_LABEL] = thread_id
        return labels


def load_settings() -> DaytonaSettings:
    """Read the settings from the environment; a bad value is one line naming the variable."""
    try:
        return DaytonaSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}" for error in exc.errors()
        )
        raise ValueError(f"invalid Daytona settings: {problems}") from None
