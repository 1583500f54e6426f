"""Websocket tickets (agent/http/tickets.py): single use, bound to one owner and one task, expiring."""

from __future__ import annotations

from agent.http.tickets import TicketBook, offered_ticket, redeem_offered


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_ticket_works_once_for_its_owner_and_task():
    book = TicketBook()
    ticket = book.issue("alice", "t1")
    assert book.redeem(ticket, "t1") == "alice"
    assert book.redeem(ticket, "t1") is None


def test_a_ticket_expires():
    clock = Clock()
    book = TicketBook(ttl=30, clock=clock)
    ticket = book.issue("alice", "t1")
    clock.now += 30.5
    assert book.redeem(ticket, "t1") is None


def test_a_ticket_issued_with_its_own_ttl_expires_then():
    clock = Clock()
    book = TicketBook(ttl=30, clock=clock)
    ticket = book.issue("alice", "t1", ttl=2)
    clock.now += 2.5
    assert book.redeem(ticket, "t1") is None


def test_a_ticket_for_another_task_is_refused_and_spent():
    book = TicketBook()
    ticket = book.issue("alice", "t1")
    assert book.redeem(ticket, "t2") is None
    assert book.redeem(ticket, "t1") is None


def test_an_unknown_ticket_is_refused():
    assert TicketBook().redeem("made-up", "t1") is None


def test_tickets_are_distinct_and_only_their_hashes_are_kept():
    book = TicketBook()
    first, second = book.issue("alice", "t1"), book.issue("alice", "t1")
    assert first != second and len(first) >= 40
    assert first not in repr(book._grants) and second not in repr(book._grants)


def test_expired_tickets_are_pruned_when_new_ones_are_issued():
    clock = Clock()
    book = TicketBook(ttl=1, clock=clock)
    for _ in range(100):
        book.issue("alice", "t1")
    clock.now += 2
    book.issue("alice", "t1")
    assert len(book) == 1


def test_the_ticket_is_read_from_the_offered_subprotocols():
    headers = {b"sec-websocket-protocol": b"open-swe, ticket.abc-DEF_123"}
    assert offered_ticket(headers) == "abc-DEF_123"
    assert offered_ticket({b"sec-websocket-protocol": b"open-swe"}) is None
    assert offered_ticket({b"sec-websocket-protocol": b"ticket."}) is None
    assert offered_ticket({}) is None


def test_a_ticket_is_redeemed_only_on_its_tasks_events_socket():
    book = TicketBook()
    ticket = book.issue("alice", "t1")
    assert redeem_offered(ticket, "/tasks/t1", book) is None  # not the socket: refused, not spent
    assert redeem_offered(ticket, "/threads", book) is None
    assert redeem_offered(ticket, "/tasks/t1/events", book) == "alice"
