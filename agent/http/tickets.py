"""Websocket tickets: how a browser opens `/tasks/{id}/events` without putting its API key in a URL.

Browsers cannot set headers on a websocket. The page asks `POST /tasks/{id}/events/ticket` (with its key in a
header, like any REST call) and gets a short-lived ticket, bound to the caller and to that one task, that works
once. It opens the socket offering the subprotocols `open-swe` and `ticket.<ticket>`
(`new WebSocket(url, ["open-swe", "ticket." + ticket])`): the ticket travels in `Sec-WebSocket-Protocol`, a
header, so it never appears in a URL or an access log. The server's auth handler redeems it (`redeem_offered`);
the route that issues tickets is in `agent/http/web.py`.

Tickets live in the service's coordination store (`coordination/store.py`: Redis when `REDIS_URL` is set, so a
ticket issued by one replica opens the socket on any other; in process otherwise), under the ticket's SHA-256 (never
the ticket itself), with the ticket's TTL as the store's TTL, and are redeemed with one atomic get-and-delete
(`take`): exactly one redemption succeeds. A store that is down refuses the ticket (StoreUnavailable, within the
store's timeout) rather than hanging. A ticket is never logged.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets

from coordination.store import CoordinationStore, MemoryStore

TICKET_TTL_SECONDS = 30.0
PROTOCOL = "open-swe"
"""The subprotocol the server answers with when a client offered it (a browser requires one to be chosen)."""
TICKET_PROTOCOL_PREFIX = "ticket."
EVENTS_PATH = re.compile(r"^/tasks/(?P<task_id>[^/]+)/events$")
KEY_PREFIX = "ws-ticket:"


def ticket_key(ticket: str) -> str:
    """The store key of a ticket: its SHA-256, so the store (and whoever reads Redis) never holds a usable ticket."""
    return KEY_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


class TicketBook:
    """Single-use tickets, each bound to one owner and one task, expiring after `ttl` seconds (the store's TTL)."""

    def __init__(self, store: CoordinationStore | None = None, *, ttl: float = TICKET_TTL_SECONDS) -> None:
        self.store: CoordinationStore = MemoryStore() if store is None else store
        self.ttl = ttl

    def use(self, store: CoordinationStore) -> None:
        """Keep tickets in `store` from now on (the service's store, set by the app's lifespan)."""
        self.store = store

    async def issue(self, owner: str, task_id: str, *, ttl: float | None = None) -> str:
        """A new ticket; raises StoreUnavailable when the store is down."""
        ticket = secrets.token_urlsafe(32)
        grant = json.dumps({"owner": owner, "task_id": task_id})
        await self.store.set(ticket_key(ticket), grant, ttl=self.ttl if ttl is None else ttl)
        return ticket

    async def redeem(self, ticket: str, task_id: str) -> str | None:
        """The owner the ticket was issued to, if it is unused, unexpired and for `task_id`; it is spent either way.
        Raises StoreUnavailable when the store is down."""
        raw = await self.store.take(ticket_key(ticket))
        if raw is None:
            return None
        try:
            grant = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(grant, dict) or grant.get("task_id") != task_id or not isinstance(grant.get("owner"), str):
            return None
        return str(grant["owner"])


tickets = TicketBook()
"""The process's ticket book: issued by the route in `agent/http/web.py`, redeemed by the auth handler
(`agent/http/auth.py`); its store is the service's coordination store once the app has started."""


def offered_protocols(headers: dict[bytes, bytes]) -> list[str]:
    raw = headers.get(b"sec-websocket-protocol", b"").decode("latin-1")
    return [p.strip() for p in raw.split(",") if p.strip()]


def offered_ticket(headers: dict[bytes, bytes]) -> str | None:
    for protocol in offered_protocols(headers):
        if protocol.startswith(TICKET_PROTOCOL_PREFIX) and len(protocol) > len(TICKET_PROTOCOL_PREFIX):
            return protocol[len(TICKET_PROTOCOL_PREFIX) :]
    return None


async def redeem_offered(ticket: str, path: str, book: TicketBook = tickets) -> str | None:
    """The owner of a ticket offered on `path`; None unless `path` is the events socket of the ticket's task (any
    other path leaves the ticket unspent). Raises StoreUnavailable when the store is down."""
    match = EVENTS_PATH.match(path)
    if match is None:
        return None
    return await book.redeem(ticket, match["task_id"])
