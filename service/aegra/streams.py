"""Run streams on Aegra that never lose a part silently.

Aegra numbers a run's stream parts 1, 2, 3... (service/aegra/eventids.py). A part is missing from a joined stream when
its reader's Redis subscription was down while it was published (Redis restarting): it is still in the run's replay
buffer, so the stream is joined again after the last part read, once per hole. A part Aegra could not store at all
(Redis down for longer than its few write retries) stays missing: the stream then carries an `events_lost` event in
its place, saying how many parts are gone and why, and goes on.

A run's `error` part that comes from the database going away names it (Aegra sends only the error's type).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from langgraph_sdk.schema import StreamPart

from service.aegra.eventids import part_id, part_sequence

logger = logging.getLogger("open_swe.service.streams")

LOST_EVENT = "events_lost"
POSTGRES_ERRORS = frozenset(
    {
        "PoolTimeout",  # langgraph's checkpointer could not get a connection
        "OperationalError",
        "AdminShutdown",
        "CannotConnectNow",
        "AdminShutdownError",
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "PostgresConnectionError",
        "DatabaseUnavailable",
    }
)
"""Type names of errors that mean the database went away, as a run's `error` part carries them."""
REDIS_ERRORS = frozenset({"StoreUnavailable"})


def lost_part(run_id: str, first: int, last: int) -> StreamPart:
    """The event standing for parts first..last of the run's stream; its id is the last missing part's."""
    count = last - first + 1
    note = (
        f"{count} event(s) of this run could not be delivered (its event stream, kept in redis, was unavailable "
        "or the server stopped); the task's work and saved state are not affected"
    )
    data = {"event": LOST_EVENT, "count": count, "first_part": first, "note": note}
    return StreamPart(event="custom", data=data, id=part_id(run_id, last))


def explained_error(part: StreamPart) -> StreamPart:
    """An `error` part naming postgres or redis when the run stopped because it went away."""
    data = part.data if isinstance(part.data, dict) else {}
    kind = str(data.get("error") or "")
    if kind in POSTGRES_ERRORS:
        message = f"postgres was unavailable ({kind}); the run stopped before it could save its state"
    elif kind in REDIS_ERRORS:
        message = f"redis was unavailable ({kind}); the run stopped"
    else:
        return part
    return StreamPart(event=part.event, data={**data, "message": message}, id=part.id)


class CheckedRuns:
    """`client.runs` whose `join_stream` fills the holes it can and marks the ones it cannot."""

    def __init__(self, runs: Any) -> None:
        self._runs = runs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runs, name)

    async def join_stream(
        self, thread_id: str, run_id: str, *, last_event_id: str | None = None, **kwargs: Any
    ) -> AsyncIterator[StreamPart]:
        # The number of the last part read; None until one is read when the stream resumes after another kind of id.
        last = 0 if last_event_id in (None, "0") else part_sequence(last_event_id, run_id)
        rejoined_at: int | None = None
        resume = last_event_id
        while True:
            hole = False
            stream = self._runs.join_stream(thread_id, run_id, last_event_id=resume, **kwargs)
            async with aclosing(stream) as parts:
                async for part in parts:
                    sequence = part_sequence(part.id, run_id)
                    if sequence is None:
                        yield explained_error(part) if part.event == "error" else part
                        continue
                    if last is not None and sequence <= last:
                        continue  # read before a rejoin
                    if last is not None and sequence > last + 1:
                        if rejoined_at != last:  # maybe only this reader missed them: read the buffer again
                            rejoined_at, hole = last, True
                            break
                        logger.warning(
                            "run stream lost parts %d-%d",
                            last + 1,
                            sequence - 1,
                            extra={"task_id": thread_id, "run_id": run_id},
                        )
                        yield lost_part(run_id, last + 1, sequence - 1)
                    yield explained_error(part) if part.event == "error" else part
                    last = sequence
            if not hole:
                return
            resume = part_id(run_id, last) if last else "0"
