"""Hybrid routing: which backend runs a task, from rules in configuration (SANDBOX_ROUTES).

    SANDBOX_ROUTES='[
      {"repo": "github.com/acme/secret-*", "backend": "mcp"},
      {"owner": "contractor-*", "backend": "daytona"},
      {"backend": "daytona", "allow": ["daytona", "local"]}
    ]'

Each rule matches a task by `repo` (a glob over the repository: a URL without scheme, credentials or `.git`, e.g.
`github.com/acme/api`, or a local path) and/or `owner` (a glob over the API key's name); a rule without either matches
every task. The first matching rule names the task's `backend`; a task may name another backend only when the rule's
`allow` lists it. With rules configured, a task no rule matches is refused. Without rules, every task may choose.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlparse

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sandbox.base import SandboxError
from sandbox.settings import BackendName


class RouteRefused(SandboxError, ValueError):
    """The rules do not allow this task on the backend it asked for (or no rule matches it)."""


class RouteRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str | None = Field(default=None, min_length=1, description="Glob over the normalized repository.")
    owner: str | None = Field(default=None, min_length=1, description="Glob over the task owner's key name.")
    backend: BackendName
    allow: tuple[BackendName, ...] = Field(default=(), description="Other backends a task may ask for explicitly.")

    @model_validator(mode="after")
    def _default_is_allowed(self) -> RouteRule:
        if self.backend not in self.allow:
            self.allow = (self.backend, *self.allow)
        return self

    def matches(self, repo: str, owner: str | None) -> bool:
        if self.repo is not None and not fnmatchcase(repo, self.repo):
            return False
        return self.owner is None or (owner is not None and fnmatchcase(owner, self.owner))


_RULES = TypeAdapter(list[RouteRule])


def parse_routes(text: str | None) -> list[RouteRule]:
    """SANDBOX_ROUTES (a JSON list of rules); a clear one-line error for a bad one."""
    if not text or not text.strip():
        return []
    try:
        return _RULES.validate_python(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ValueError(f"SANDBOX_ROUTES is not valid JSON: {exc.msg} at character {exc.pos}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"SANDBOX_ROUTES{f' rule {where}' if where else ''}: {first['msg']}") from None


def normalize_repo(repo: str | None) -> str:
    """`https://user:tok@github.com/acme/api.git` -> `github.com/acme/api`; `git@host:a/b.git` -> `host/a/b`;
    a local path stays a path."""
    if not repo:
        return ""
    text = repo.strip()
    scp = re.fullmatch(r"[\w.-]+@([\w.-]+):(.+)", text)
    if scp:
        host, path = scp.groups()
    else:
        parsed = urlparse(text)
        if not parsed.scheme or parsed.scheme == "file" or len(parsed.scheme) == 1:
            return parsed.path if parsed.scheme == "file" else text
        host = parsed.hostname or ""
        if parsed.port:
            host += f":{parsed.port}"
        path = parsed.path
    return f"{host}/{path.strip('/')}".removesuffix(".git")


@dataclass(frozen=True, slots=True)
class Route:
    backend: str
    rule: int | None
    """The index of the rule that chose it (None without rules)."""


def route_task(
    rules: list[RouteRule], *, repo: str | None, owner: str | None, requested: str | None, default: str
) -> Route:
    """The backend for a task. `requested` is the task's explicit choice; `default` the server's without rules."""
    if not rules:
        return Route(requested or default, None)
    target = normalize_repo(repo)
    for index, rule in enumerate(rules):
        if rule.matches(target, owner):
            if requested is None or requested == rule.backend:
                return Route(rule.backend, index)
            if requested in rule.allow:
                return Route(requested, index)
            allowed = ", ".join(rule.allow)
            raise RouteRefused(
                f"sandbox {requested!r} is not allowed for this task by SANDBOX_ROUTES rule {index} "
                f"(allowed: {allowed})"
            )
    raise RouteRefused(f"no SANDBOX_ROUTES rule matches repository {target or '(none)'!r} of owner {owner!r}")


def describe(rules: list[RouteRule]) -> list[dict[str, Any]]:
    return [rule.model_dump(exclude_none=True, mode="json") for rule in rules]


class RoutingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True)

    routes: str = Field(default="", validation_alias=AliasChoices("SANDBOX_ROUTES"), description=__doc__)

    @property
    def rules(self) -> list[RouteRule]:
        return parse_routes(self.routes)


def route_for(*, repo: str | None, owner: str | None, requested: str | None) -> Route:
    """`route_task` with the rules and the default backend from the environment (blocking: reads `.env`)."""
    from sandbox.settings import SandboxSettings

    default = SandboxSettings().resolved_backend().value
    return route_task(RoutingSettings().rules, repo=repo, owner=owner, requested=requested, default=default)
