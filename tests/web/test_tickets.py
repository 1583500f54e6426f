"""Websocket tickets (agent/http/tickets.py): single use, bound to one owner and one task, expiring; kept in the
coordination store (in process and a real redis-server) under their SHA-256 only."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest
from langgraph_sdk import Auth
from redis.asyncio import Redis

from agent.http import auth
from agent.http.apikeys import hash_key, parse_api_keys
from agent.http.tickets import TicketBook, offered_ticket, redeem_offered, ticket_key, tickets
from coordination.store import CoordinationStore, MemoryStore, RedisStore, StoreUnavailable
from tests.support.net import free_port
from tests.support.redis_server import unique_prefix


async def test_a_ticket_works_once_for_its_owner_and_task(store: CoordinationStore) -> None:
    book = TicketBook(store)
    ticket = await book.issue("alice", "t1")
    assert await book.redeem(ticket, "t1") == "alice"
    assert await book.redeem(ticket, "t1") is None


async def test_concurrent_redemptions_of_one_ticket_let_exactly_one_through(store: CoordinationStore) -> None:
    book, other_replica = TicketBook(store), TicketBook(store)
    ticket = await book.issue("alice", "t1")
    owners = await asyncio.gather(*((book if i % 2 else other_replica).redeem(ticket, "t1") for i in range(10)))
    assert owners.count("alice") == 1 and owners.count(None) == 9


async def test_a_ticket_expires_with_the_store_ttl(store: CoordinationStore) -> None:
    book = TicketBook(store, ttl=30)
    ticket = await book.issue("alice", "t1", ttl=0.2)
    await asyncio.sleep(0.3)
    assert await book.redeem(ticket, "t1") is None


async def test_a_ticket_for_another_task_is_refused_and_spent(store: CoordinationStore) -> None:
    book = TicketBook(store)
    ticket = await book.issue("alice", "t1")
    assert await book.redeem(ticket, "t2") is None
    assert await book.redeem(ticket, "t1") is None


async def test_each_owner_gets_their_own_identity_back(store: CoordinationStore) -> None:
    book = TicketBook(store)
    alices, bobs = await book.issue("alice", "t1"), await book.issue("bob", "t1")
    assert await book.redeem(bobs, "t1") == "bob"
    assert await book.redeem(alices, "t1") == "alice"


async def test_an_unknown_ticket_is_refused(store: CoordinationStore) -> None:
    assert await TicketBook(store).redeem("made-up", "t1") is None


async def test_redis_holds_only_the_tickets_digest_with_its_ttl(redis_url: str) -> None:
    prefix = unique_prefix()
    store = RedisStore(redis_url, prefix=prefix)
    raw = Redis.from_url(redis_url, decode_responses=True)
    try:
        book = TicketBook(store)
        first, second = await book.issue("alice", "t1", ttl=20), await book.issue("alice", "t1", ttl=20)
        assert first != second and len(first) >= 40
        keys = sorted(str(k) for k in await raw.keys(f"{prefix}*"))
        digests = sorted(hashlib.sha256(t.encode()).hexdigest() for t in (first, second))
        assert keys == sorted(prefix + ticket_key(t) for t in (first, second))
        assert [k.rsplit(":", 1)[1] for k in keys] == digests
        for key in keys:
            value = str(await raw.get(key))
            assert first not in key and second not in key and first not in value and second not in value
            assert 0 < await raw.pttl(key) <= 20_000
        assert await book.redeem(first, "t1") == "alice"
        assert await raw.exists(prefix + ticket_key(first)) == 0
    finally:
        await raw.aclose()
        await store.aclose()


async def test_a_store_that_is_down_refuses_quickly() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    book = TicketBook(store)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await book.issue("alice", "t1")
        with pytest.raises(StoreUnavailable):
            await book.redeem("some-ticket", "t1")
        assert time.monotonic() - started < 5
    finally:
        await store.aclose()


async def test_the_auth_handler_answers_503_when_the_store_is_down_and_401_for_a_bad_ticket() -> None:
    down = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    previous_store, previous_config = tickets.store, auth._config
    auth.set_auth_config(
        auth.AuthConfig(disabled=False, entries=tuple(parse_api_keys(f"alice:{hash_key('osk_unit_alice_0123')}")))
    )
    headers = {b"sec-websocket-protocol": b"open-swe, ticket.abcdefghijklmnop"}
    try:
        tickets.use(down)
        with pytest.raises(Auth.exceptions.HTTPException) as unavailable:
            await auth.authenticate(headers, "/tasks/t1/events")
        assert unavailable.value.status_code == 503 and "redis is unavailable" in str(unavailable.value.detail)
        tickets.use(MemoryStore())
        with pytest.raises(Auth.exceptions.HTTPException) as refused:
            await auth.authenticate(headers, "/tasks/t1/events")
        assert refused.value.status_code == 401
        ticket = await tickets.issue("alice", "t1")
        ok = {b"sec-websocket-protocol": f"open-swe, ticket.{ticket}".encode()}
        assert (await auth.authenticate(ok, "/tasks/t1/events"))["identity"] == "alice"
    finally:
        tickets.use(previous_store)
        auth._config = previous_config
        await down.aclose()


def test_the_ticket_is_read_from_the_offered_subprotocols() -> None:
    headers = {b"sec-websocket-protocol": b"open-swe, ticket.abc-DEF_123"}
    assert offered_ticket(headers) == "abc-DEF_123"
    assert offered_ticket({b"sec-websocket-protocol": b"open-swe"}) is None
    assert offered_ticket({b"sec-websocket-protocol": b"ticket."}) is None
    assert offered_ticket({}) is None


async def test_a_ticket_is_redeemed_only_on_its_tasks_events_socket(store: CoordinationStore) -> None:
    book = TicketBook(store)
    ticket = await book.issue("alice", "t1")
    assert await redeem_offered(ticket, "/tasks/t1", book) is None  # not the socket: refused, not spent
    assert await redeem_offered(ticket, "/threads", book) is None
    assert await redeem_offered(ticket, "/tasks/t1/events", book) == "alice"
