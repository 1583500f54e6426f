"""Where the MCP backend's sandbox server is, read from the environment and `.env`."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class McpBackendSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True)

    url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SANDBOX_MCP_URL"),
        description="The MCP sandbox server's endpoint, e.g. http://sandboxes.internal:8765/mcp.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SANDBOX_MCP_API_KEY"),
        description="An API key of that server, sent as a bearer token.",
    )
    remote_backend: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SANDBOX_MCP_BACKEND"),
        description="The backend to ask the server for (one of its MCP_BACKENDS); the server's default when unset.",
    )
    timeout: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("SANDBOX_MCP_TIMEOUT"),
        description="Seconds to wait for one call (a command's own timeout is added to it).",
    )
