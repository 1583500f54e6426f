"""API keys: parsing `name:sha256hex` entries, hashing new keys, constant-time lookup.

Only hashes are ever configured or stored. Hash a new key with:

    python -m agent.http.apikeys new alice        # prints a fresh key and its API_KEYS entry
    python -m agent.http.apikeys hash alice KEY   # prints the entry for an existing key
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class ApiKeyConfigError(ValueError):
    """A malformed API_KEYS / API_KEYS_FILE entry (the message never contains a key or hash)."""


@dataclass(frozen=True)
class ApiKeyEntry:
    name: str
    """The key's owner identity: tasks and threads created with the key belong to it."""
    sha256: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_entries(lines: Iterable[str], *, source: str) -> list[ApiKeyEntry]:
    """Parse `name:sha256hex` entries; blank entries and `#` comments are skipped."""
    entries: list[ApiKeyEntry] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, digest = line.partition(":")
        name, digest = name.strip(), digest.strip().lower()
        if not sep or not _NAME.match(name):
            raise ApiKeyConfigError(
                f"{source} entry {number}: expected 'name:sha256hex' with a name of [A-Za-z0-9_.@-]"
            )
        if not _HEX64.match(digest):
            raise ApiKeyConfigError(
                f"{source} entry {number} ({name}): the hash must be 64 hex characters"
                " (a SHA-256 digest, see `python -m agent.http.apikeys hash`), not the key itself"
            )
        entries.append(ApiKeyEntry(name=name, sha256=digest))
    return entries


def parse_api_keys(value: str, *, file_text: str | None = None) -> list[ApiKeyEntry]:
    entries = parse_entries(value.split(","), source="API_KEYS")
    if file_text is not None:
        entries += parse_entries(file_text.splitlines(), source="API_KEYS_FILE")
    return entries


def find_owner(presented_key: str, entries: Iterable[ApiKeyEntry]) -> str | None:
    """The name of the entry whose hash matches the presented key, compared in constant time."""
    digest = hash_key(presented_key)
    owner = None
    for entry in entries:
        if hmac.compare_digest(digest, entry.sha256):
            owner = entry.name
    return owner


def _main(argv: list[str]) -> int:
    usage = "usage: python -m agent.http.apikeys new NAME | hash NAME KEY"
    match argv:
        case ["new", name]:
            key = "osk_" + secrets.token_urlsafe(32)
            print(f"key (give it to the client, it is not stored): {key}")
            print(f"API_KEYS entry: {name}:{hash_key(key)}")
            return 0
        case ["hash", name, key]:
            print(f"{name}:{hash_key(key)}")
            return 0
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
