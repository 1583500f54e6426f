"""DATABASE_URL as Aegra accepts it (`postgresql://`, `postgres://`, or with a driver such as `postgresql+asyncpg://`),
turned into the libpq connection string psycopg takes."""

from __future__ import annotations

import re

_SCHEME = re.compile(r"^postgres(?:ql)?(?:\+\w+)?://")


def conninfo(url: str) -> str:
    """The libpq form of `url`; ValueError (naming no part of the URL) when it is not a PostgreSQL URL."""
    if not _SCHEME.match(url):
        raise ValueError("DATABASE_URL must start with postgresql:// (or postgres://)")
    return _SCHEME.sub("postgresql://", url)
