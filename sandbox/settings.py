"""Sandbox configuration, read from the environment (and `.env`) with pydantic-settings."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sandbox.output import DEFAULT_OUTPUT_LIMIT
from sandbox.secrets import DEFAULT_ENV_ALLOWLIST


class Isolation(StrEnum):
    AUTO = "auto"
    """bubblewrap when it works on this machine, plain processes otherwise (the choice is logged)."""
    BWRAP = "bwrap"
    """bubblewrap or a clear error: never a silent fallback."""
    NONE = "none"
    """Plain processes in the workspace with a scrubbed environment."""


class ResourceLimits(StrEnum):
    AUTO = "auto"
    """A cgroup per sandbox when this machine allows it, no limits otherwise (the choice is logged once)."""
    REQUIRED = "required"
    """A cgroup per sandbox or a clear error: never a silent fallback."""
    OFF = "off"
    """No limits: a runaway command can exhaust the machine."""


class WorkspaceMode(StrEnum):
    IN_PLACE = "in_place"
    """Work directly in the project path; one task at a time per path."""
    WORKTREE = "worktree"
    """Each thread gets its own `git worktree` on branch `agent/<thread_id>`, removed on release."""


class BackendName(StrEnum):
    LOCAL = "local"
    DAYTONA = "daytona"
    MCP = "mcp"
    """A remote MCP sandbox server (service/mcp): SANDBOX_MCP_URL, SANDBOX_MCP_API_KEY."""


def default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "open-swe"


class SandboxSettings(BaseSettings):
    """Where and how the agent's commands run."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True)
    """`env_ignore_empty`: `OPEN_SWE_LOCAL_PROJECT_PATH=` as in .env.example means unset, not the current directory."""

    backend: BackendName | None = Field(
        default=None,
        validation_alias=AliasChoices("SANDBOX_BACKEND"),
        description="Explicit backend; when unset, OPEN_SWE_LOCAL_MODE decides (true: local, false: daytona).",
    )
    local_mode: bool = Field(default=False, validation_alias=AliasChoices("OPEN_SWE_LOCAL_MODE"))
    project_path: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("OPEN_SWE_LOCAL_PROJECT_PATH"),
        description="The repository the local backend works on (tasks may name another).",
    )
    isolation: Isolation = Field(default=Isolation.AUTO, validation_alias=AliasChoices("SANDBOX_ISOLATION"))
    bwrap_path: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SANDBOX_BWRAP_PATH"),
        description="The bubblewrap binary (a path, or a name looked up on PATH); default `bwrap` on PATH.",
    )
    resource_limits: ResourceLimits = Field(
        default=ResourceLimits.AUTO,
        validation_alias=AliasChoices("SANDBOX_RESOURCE_LIMITS"),
        description="Cap each local sandbox's processes and memory with a cgroup: auto, required or off.",
    )
    max_processes: int = Field(
        default=512,
        ge=8,
        validation_alias=AliasChoices("SANDBOX_MAX_PROCESSES"),
        description="Processes (and threads) one local sandbox may have at once, its runner included.",
    )
    max_memory_mb: int = Field(
        default=4096,
        ge=32,
        validation_alias=AliasChoices("SANDBOX_MAX_MEMORY_MB"),
        description="Memory (MiB, RAM plus swap) one local sandbox may use; past it its largest process is killed.",
    )
    cgroup_root: Path = Field(
        default=Path("/sys/fs/cgroup"),
        validation_alias=AliasChoices("SANDBOX_CGROUP_ROOT"),
        description="Where the cgroup filesystem is: a cgroup v2 directory, or the parent of v1's pids/ and memory/.",
    )
    workspace_mode: WorkspaceMode = Field(
        default=WorkspaceMode.IN_PLACE, validation_alias=AliasChoices("SANDBOX_WORKSPACE_MODE")
    )
    extra_ro_paths: str = Field(
        default="",
        validation_alias=AliasChoices("SANDBOX_EXTRA_RO_PATHS"),
        description="Host paths (':'-separated) shown read-only inside bubblewrap sandboxes, e.g. a toolchain in /opt.",
    )
    allow_network: bool = Field(
        default=False,
        validation_alias=AliasChoices("SANDBOX_ALLOW_NETWORK"),
        description="Give isolated commands network access (off by default).",
    )
    exec_timeout: float = Field(
        default=120.0,
        gt=0,
        validation_alias=AliasChoices("SANDBOX_EXEC_TIMEOUT"),
        description="Default seconds before a command (and all its children) is killed.",
    )
    output_limit: int = Field(
        default=DEFAULT_OUTPUT_LIMIT,
        gt=0,
        validation_alias=AliasChoices("SANDBOX_OUTPUT_LIMIT"),
        description="Bytes of command output kept (head and tail), the rest replaced by a marker.",
    )
    read_limit: int = Field(
        default=2 * 1024 * 1024,
        gt=0,
        validation_alias=AliasChoices("SANDBOX_READ_LIMIT"),
        description="Bytes read from one file at most; larger files come back truncated.",
    )
    env_allowlist: tuple[str, ...] = Field(
        default=DEFAULT_ENV_ALLOWLIST,
        validation_alias=AliasChoices("SANDBOX_ENV_ALLOWLIST"),
        description="Host variables a command may inherit (credentials are refused regardless).",
    )
    state_dir: Path = Field(
        default_factory=default_state_dir,
        validation_alias=AliasChoices("OPEN_SWE_STATE_DIR"),
        description="Where worktrees and workspace locks live.",
    )

    @property
    def extra_ro(self) -> tuple[Path, ...]:
        """SANDBOX_EXTRA_RO_PATHS as absolute paths."""
        return tuple(Path(p).expanduser().absolute() for p in self.extra_ro_paths.split(":") if p.strip())

    def resolved_backend(self, *, local_mode_override: bool | None = None) -> BackendName:
        """Explicit backend first, then the per-run `x-local-mode` override, then OPEN_SWE_LOCAL_MODE."""
        if self.backend is not None:
            return self.backend
        local = self.local_mode if local_mode_override is None else local_mode_override
        return BackendName.LOCAL if local else BackendName.DAYTONA
