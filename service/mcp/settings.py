"""The MCP sandbox server's configuration, read from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sandbox.settings import default_state_dir


class McpSettings(BaseSettings):
    """Which backends the MCP server hands out, where local workspaces live, and per-key limits."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True)

    backends: str = Field(
        default="local",
        validation_alias=AliasChoices("MCP_BACKENDS"),
        description="Comma-separated backends `sandbox_create` may use (local, daytona), the first being the default; "
        "`none` offers no sandboxes.",
    )
    repo_roots: str = Field(
        default="",
        validation_alias=AliasChoices("MCP_REPO_ROOTS"),
        description="Colon-separated directories a repository given as a local path (or file:// URL) must lie under; "
        "local repositories are refused when empty.",
    )
    max_sandboxes_per_key: int = Field(default=8, ge=1, validation_alias=AliasChoices("MCP_MAX_SANDBOXES_PER_KEY"))
    state_dir: Path = Field(
        default_factory=default_state_dir,
        validation_alias=AliasChoices("OPEN_SWE_STATE_DIR"),
        description="Local sandboxes' workspaces are made under <state_dir>/mcp.",
    )
    clone_timeout: float = Field(default=600.0, gt=0, validation_alias=AliasChoices("MCP_CLONE_TIMEOUT"))

    @property
    def backend_names(self) -> tuple[str, ...]:
        if self.backends.strip().lower() == "none":
            return ()
        return tuple(name.strip() for name in self.backends.split(",") if name.strip())

    @property
    def repo_root_paths(self) -> tuple[Path, ...]:
        return tuple(Path(p).resolve() for p in self.repo_roots.split(":") if p.strip())

    @property
    def workspace_dir(self) -> Path:
        return self.state_dir / "mcp"
