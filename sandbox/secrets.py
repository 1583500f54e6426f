"""Keeping the service's secrets out of sandboxes, tool outputs and logs.

Two mechanisms, used together:
- `command_env` builds a command's environment from an allowlist, never from the service's own environment
  wholesale; anything that looks like a credential is refused even when explicitly passed.
- `redact` replaces the values of known secrets with a placeholder wherever text leaves the service
  (tool outputs to the model, log lines, API responses).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from sandbox.base import SandboxError

DEFAULT_ENV_ALLOWLIST: tuple[str, ...] = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TZ", "USER")
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION)", re.IGNORECASE)
_MIN_SECRET_LEN = 8
REDACTED = "[REDACTED]"


class CredentialRefused(SandboxError, ValueError):
    """A caller tried to pass a credential-like variable into a sandbox."""


def looks_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def refuse_credentials(extra: Mapping[str, str] | None) -> dict[str, str] | None:
    """`extra` as a dict (None when empty), after refusing any credential-like name in it."""
    for name in extra or {}:
        if looks_secret(name):
            raise CredentialRefused(f"refusing to pass {name!r} into a sandbox: it looks like a credential")
    return dict(extra) if extra else None


SERVICE_ROOT = Path(os.path.abspath(__file__)).parents[1]
SYSTEM_PREFIXES = ("/usr", "/usr/local", "/")


def service_dirs() -> list[Path]:
    """Directories of the service itself: its virtualenv, its interpreter (unless the system's) and its checkout.

    Lexical (no filesystem access: this runs on the event loop)."""
    dirs = [Path(os.path.abspath(sys.prefix)), SERVICE_ROOT]
    base = os.path.abspath(sys.base_prefix)
    if base not in SYSTEM_PREFIXES:
        dirs.append(Path(base))
    return dirs


def project_path(path: str, *, tools: str | None = None) -> str:
    """`path` (a PATH value) without the service's own directories, `tools` first: commands get the project's
    toolchain (the system's `python`, `pytest`, `pip`), never the service's virtualenv."""
    own = service_dirs()
    kept = [
        entry
        for entry in path.split(os.pathsep)
        if entry and not any(Path(os.path.abspath(entry)).is_relative_to(d) for d in own)
    ]
    if tools is not None:
        kept.insert(0, tools)
    return os.pathsep.join(dict.fromkeys(kept)) or SAFE_PATH


def command_env(
    extra: Mapping[str, str] | None = None,
    *,
    allowlist: Iterable[str] = DEFAULT_ENV_ALLOWLIST,
    home: str | None = None,
    tools: str | None = None,
) -> dict[str, str]:
    """The environment for a sandboxed command: allowlisted host variables plus `extra`, minus credentials.

    PATH never holds the service's own directories (see `project_path`); `tools` (a directory) is put first on it.
    """
    env = {name: os.environ[name] for name in allowlist if name in os.environ and not looks_secret(name)}
    env["PATH"] = project_path(env.get("PATH", SAFE_PATH), tools=tools)
    env.setdefault("LANG", "C.UTF-8")
    if home is not None:
        env["HOME"] = home
    env.update(refuse_credentials(extra) or {})
    return env


_FILE_SECRETS: dict[Path, frozenset[str]] = {}
"""Credential-like values read from the service's `.env` files (see `remember_env_files`)."""


def env_files() -> list[Path]:
    """The service's `.env` files: the current directory's (pydantic-settings reads it) and its checkout's."""
    return list(dict.fromkeys(p for p in (Path(".env").absolute(), SERVICE_ROOT / ".env")))


def remember_env_files(paths: Iterable[Path] | None = None) -> None:
    """Read the credential-like values of the service's `.env` files, so `redact` hides them like the environment's.

    Blocking (file reads): call from a thread, once the service starts (the local provider does at first acquire)."""
    from dotenv import dotenv_values  # pydantic-settings' own .env reader

    for path in env_files() if paths is None else paths:
        try:
            values = dotenv_values(path) if path.is_file() else {}
        except (OSError, UnicodeDecodeError):
            continue
        _FILE_SECRETS[path] = frozenset(v for k, v in values.items() if v and looks_secret(k))


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the service's credential-like environment variables (and `.env` entries), longest first."""
    environ = os.environ if environ is None else environ
    values = {v for k, v in environ.items() if looks_secret(k)}
    for found in _FILE_SECRETS.values():
        values |= found
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """Replace every occurrence of a known secret value in `text`."""
    for value in secret_values() if secrets is None else secrets:
        if value and value in text:
            text = text.replace(value, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secret values from every record's rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
