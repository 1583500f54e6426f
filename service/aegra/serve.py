"""`python -m agent.serve --runtime aegra`: the command and environment that serve langgraph.json on Aegra."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from service.aegra.context import INTERNAL_TOKEN_ENV, SELF_URL_ENV

REQUIRED = {
    "DATABASE_URL": "a PostgreSQL URL, e.g. postgresql://user:password@host:5432/open_swe",
    "REDIS_URL": "a Redis URL, e.g. redis://host:6379/0",
}


STUCK_PENDING_SECONDS = "30"
"""Aegra's STUCK_PENDING_THRESHOLD_SECONDS unless set (Aegra's own is 120): a Redis that restarts without its data
loses the runs queued in it, and the reaper queues such a run again once it has waited this long (it checks the run is
not in the queue any more, so a run only waiting its turn is left alone)."""


class MissingSetting(ValueError):
    pass


def aegra_env(env: dict[str, str], *, host: str, port: int, jobs: int, config: Path) -> dict[str, str]:
    """`env` plus what Aegra and the service need; MissingSetting names each required variable not set."""
    missing = [f"{name} ({what})" for name, what in REQUIRED.items() if not env.get(name)]
    if missing:
        raise MissingSetting("--runtime aegra needs " + "; ".join(missing))
    loopback = "127.0.0.1" if host in ("0.0.0.0", "localhost", "::") else host
    return {
        **env,
        "AEGRA_CONFIG": str(config.resolve()),
        "AUTH_TYPE": "custom",
        "REDIS_BROKER_ENABLED": "true",
        "N_JOBS_PER_WORKER": str(jobs),
        "HOST": host,
        "PORT": str(port),
        "STUCK_PENDING_THRESHOLD_SECONDS": env.get("STUCK_PENDING_THRESHOLD_SECONDS") or STUCK_PENDING_SECONDS,
        SELF_URL_ENV: env.get(SELF_URL_ENV) or f"http://{loopback}:{port}",
        INTERNAL_TOKEN_ENV: env.get(INTERNAL_TOKEN_ENV) or secrets.token_urlsafe(32),
    }


def aegra_command(*, host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "service.aegra.asgi:app",
        "--host",
        host,
        "--port",
        str(port),
        "--no-access-log",
        "--ws-max-size",
        "1048576",
    ]
