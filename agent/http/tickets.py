"""Websocket tickets: how a browser opens `/tasks/{id}/events` without putting its API key in a URL.

Browsers cannot set headers on a websocket. The page asks `POST /tasks/{id}/events/ticket` (with its key in a
header, like any REST call) and gets a short-lived ticket, bound to the caller and to that one task, that works
once. It opens the socket offering the subprotocols `open-swe` and `ticket.<ticket>`
(`new WebSocket(url, ["open-swe", "ticket." + ticket])`): the ticket travels in `Sec-WebSocket-Protocol`, a
header, so it never appears in a URL or an access log. The server's auth handler redeems it (`redeem_offered`);
the route that issues tickets is in `agent/http/web.py`.

Tickets live in this process's memory (a ticket is redeemed by the replica that issued it, seconds later).
Only their SHA-256 is kept; a ticket is never logged.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

TICKET_TTL_SECONDS = 30.0
PROTOCOL = "open-swe"
"""The subprotocol the server answers with when a client offered it (a browser requires one to be chosen)."""
TICKET_PROTOCOL_PREFIX = "ticket."
EVENTS_PATH = re.compile(r"^/tasks/(?P<task_id>[^/]+)/events$")


@dataclass(frozen=True)
class _Grant:
    owner: str
    task_id: str
    expires_at: float


class TicketBook:
    """Single-use tickets, each bound to one owner and one task, expiring after `ttl` seconds."""

    def __init__(self, *, ttl: float = TICKET_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._grants: dict[str, _Grant] = {}

    def issue(self, owner: str, task_id: str, *, ttl: float | None = None) -> str:
        self._prune()
        ticket = secrets.token_urlsafe(32)
        self._grants[_digest(ticket)] = _Grant(owner, task_id, self._clock() + (self.ttl if ttl is None else ttl))
        return ticket

    def redeem(self, ticket: str, task_id: str) -> str | None:
        """The owner the ticket was issued to, if it is unused, unexpired and for `task_id`; it is spent either way."""
        grant = self._grants.pop(_digest(ticket), None)
        if grant is None or grant.expires_at < self._clock() or grant.task_id != task_id:
            return None
        return grant.owner

    def __len__(self) -> int:
        return len(self._grants)

    def _prune(self) -> None:
        now = self._clock()
        for digest in [d for d, grant in self._grants.items() if grant.expires_at < now]:
            del self._grants[digest]


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


tickets = TicketBook()
"""The process's ticket book: issued by the route below, redeemed by the auth handler (`agent/http/auth.py`)."""


def offered_protocols(headers: dict[bytes, bytes]) -> list[str]:
    raw = headers.get(b"sec-websocket-protocol", b"").decode("latin-1")
    return [p.strip() for p in raw.split(",") if p.strip()]


def offered_ticket(headers: dict[bytes, bytes]) -> str | None:
    for protocol in offered_protocols(headers):
        if protocol.startswith(TICKET_PROTOCOL_PREFIX) and len(protocol) > len(TICKET_PROTOCOL_PREFIX):
            return protocol[len(TICKET_PROTOCOL_PREFIX) :]
    return None


def redeem_offered(ticket: str, path: str, book: TicketBook = tickets) -> str | None:
    """The owner of a ticket offered on `path`; None unless `path` is the events socket of the ticket's task."""
    match = EVENTS_PATH.match(path)
    if match is None:
        return None
    return book.redeem(ticket, match["task_id"])
