"""Which repositories a task may name: an absolute local path, or a git URL allowed by scheme and host.

`parse_repo` is the syntax (used by the request model): an absolute path, `https://`, `http://`, `ssh://`, `git://`,
`file://` (this machine only) or scp-like `user@host:path`. Anything git would read as an option (`-...`), a remote
helper (`ext::`, `fd::`, any `<transport>::<address>`), control or invisible characters, credentials in the URL, or a
host that is not a plain DNS name or IP address is refused. `RepoPolicy` is the server's allow-list
(TASK_REPO_URL_SCHEMES, TASK_REPO_URL_HOSTS, TASK_REPO_ROOTS): a URL's scheme and host must be allowed, and a local
path or `file://` URL must lie under a root once symlinks and `..` are resolved. Error messages never repeat a URL
(it may hold a secret), only what is wrong with it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

URL_SCHEMES = ("https", "http", "ssh", "git", "file")
FORMAT_HINT = "repo must be an absolute local path or a git URL (https://, ssh://, git@host:path, file://)"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:]+):(?P<path>.+)$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_USER = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]*$")


class RepoRefused(ValueError):
    """A repo value the server will not use; the message says why (and never contains the value)."""


@dataclass(frozen=True)
class RepoRef:
    kind: Literal["path", "url"]
    scheme: str
    """'path' for a local path, else the URL scheme ('ssh' for scp-like `user@host:path`)."""
    host: str | None = None
    local_path: str | None = None
    """The path on this machine to check against the roots: the path itself, or a file:// URL's path."""


def _check_characters(repo: str) -> None:
    for char in repo:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp") or (category == "Zs" and char != " "):
            raise RepoRefused(f"repo contains a control or invisible character (U+{ord(char):04X})")
    if repo.startswith("-"):
        raise RepoRefused("repo must not start with '-' (git would read it as an option)")


def _check_host(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if not host.isascii():
        raise RepoRefused("repo URL host must be an ASCII name (write internationalized names in punycode, xn--...)")
    name = host.lower().rstrip(".")
    if not name or not all(_HOST_LABEL.match(label) for label in name.split(".")):
        raise RepoRefused("repo URL host is not a valid host name")
    return name


def _local_path(path: str) -> RepoRef:
    if "\x00" in path:
        raise RepoRefused("repo path contains a NUL byte")
    return RepoRef(kind="path", scheme="path", local_path=path)


def _file_url(repo: str) -> RepoRef:
    parts = urlsplit(repo)
    if parts.netloc not in ("", "localhost") or not repo.lower().startswith(("file:///", "file://localhost/")):
        raise RepoRefused("file:// URLs must name this machine: file:///absolute/path")
    if "%" in parts.path or parts.query or parts.fragment:
        raise RepoRefused("file:// URLs must be a plain absolute path (no %-escapes, query or fragment)")
    return RepoRef(kind="url", scheme="file", local_path=parts.path)


def _network_url(repo: str, scheme: str) -> RepoRef:
    try:
        parts = urlsplit(repo)
        port = parts.port
    except ValueError:
        raise RepoRefused("repo URL is malformed (its host or port cannot be read)") from None
    if not parts.netloc or not parts.hostname:
        raise RepoRefused(f"repo URL has no host: {scheme}://host/path")
    if parts.password is not None or (parts.username is not None and scheme != "ssh"):
        raise RepoRefused(
            "repo URL must not contain credentials (user:token@); configure git credentials on the server instead"
        )
    if parts.username is not None and not _USER.match(parts.username):
        raise RepoRefused("repo URL user name is not valid")
    if port == 0:
        raise RepoRefused("repo URL port is not valid")
    if not parts.path.strip("/"):
        raise RepoRefused("repo URL names no repository path")
    return RepoRef(kind="url", scheme=scheme, host=_check_host(parts.hostname))


def _scp_like(repo: str) -> RepoRef | None:
    match = _SCP_LIKE.match(repo)
    if match is None:
        return None
    user, host, path = match.group("user"), match.group("host"), match.group("path")
    if user is not None and not _USER.match(user):
        raise RepoRefused("repo URL user name is not valid")
    if path.startswith("-"):
        raise RepoRefused("repo path must not start with '-' (git would read it as an option)")
    return RepoRef(kind="url", scheme="ssh", host=_check_host(host))


def parse_repo(repo: str) -> RepoRef:
    """What `repo` names, or RepoRefused saying what is wrong."""
    _check_characters(repo)
    if repo.startswith("/"):
        return _local_path(repo)
    scheme_match = _SCHEME.match(repo)
    if scheme_match and repo[scheme_match.end() :].startswith(":"):
        raise RepoRefused("git remote helpers (<transport>::<address>, e.g. ext::) are not accepted")
    if scheme_match and repo[scheme_match.end() :].startswith("//"):
        scheme = scheme_match.group(1).lower()
        if scheme not in URL_SCHEMES:
            raise RepoRefused(f"repo URL scheme '{scheme}' is not supported ({', '.join(URL_SCHEMES)})")
        return _file_url(repo) if scheme == "file" else _network_url(repo, scheme)
    if scheme_match and scheme_match.group(1).lower() == "file":
        return _file_url(repo)
    ref = _scp_like(repo)
    if ref is None:
        raise RepoRefused(FORMAT_HINT)
    return ref


def _host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
        if host == pattern:
            return True
    return False


@dataclass(frozen=True)
class RepoPolicy:
    """The server's allow-list. Empty `hosts` allows any host; empty `roots` allows any local path."""

    schemes: tuple[str, ...] = ("https", "ssh")
    hosts: tuple[str, ...] = ()
    roots: tuple[Path, ...] = ()

    @classmethod
    def from_settings(cls, schemes: str, hosts: str, roots: tuple[Path, ...]) -> RepoPolicy:
        return cls(
            schemes=tuple(s.strip().lower() for s in schemes.split(",") if s.strip()),
            hosts=tuple(h.strip().lower().rstrip(".") for h in hosts.split(",") if h.strip()),
            roots=roots,
        )

    def check_url(self, ref: RepoRef) -> None:
        """Scheme and host rules of a URL. A file:// URL is governed by the roots, like a path (`within_roots`)."""
        if ref.kind != "url" or ref.scheme == "file":
            return
        if ref.scheme not in self.schemes:
            allowed = ", ".join(self.schemes) or "none"
            raise RepoRefused(
                f"repo URL scheme '{ref.scheme}' is not allowed on this server (TASK_REPO_URL_SCHEMES: {allowed})"
            )
        if ref.host is not None and self.hosts and not _host_allowed(ref.host, self.hosts):
            raise RepoRefused(f"repo URL host '{ref.host}' is not allowed on this server (TASK_REPO_URL_HOSTS)")

    def within_roots(self, resolved: Path) -> bool:
        return not self.roots or any(resolved == root or root in resolved.parents for root in self.roots)


async def check_repo(repo: str, policy: RepoPolicy) -> None:
    """The whole allow-list check of one repo value, for every way a task can name it (the task API and a run
    created straight through the LangGraph API alike): syntax, URL scheme and host, and for a local path or a
    file:// URL an existing directory under the roots once symlinks are resolved. Raises RepoRefused saying why."""
    ref = parse_repo(repo)
    policy.check_url(ref)
    if ref.local_path is None:
        return
    path = Path(ref.local_path)
    if not await asyncio.to_thread(path.is_dir):
        raise RepoRefused(f"repo path does not exist on the server or is not a directory: {path}")
    if not policy.within_roots(await asyncio.to_thread(path.resolve)):
        raise RepoRefused("repo path is outside the directories this server allows (TASK_REPO_ROOTS)")
