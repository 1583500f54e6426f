"""Fault switches: each test arms the faults it needs; every request consults them before its handler runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["status", "drop", "drop_after"]


@dataclass
class Fault:
    """Answer the next `times` requests of `route` (a route name, "control", "toolbox" or "*") abnormally."""

    route: str
    kind: FaultKind = "status"
    status: int = 500
    retry_after: str | None = None
    """Value of the Retry-After header sent with the status (e.g. "1" or an HTTP date)."""
    times: int = 1
    message: str | None = None
    """Error message; "{authorization}" is replaced by the request's Authorization header (a leaky proxy)."""


@dataclass
class Faults:
    create_delay: float = 0.0
    """Seconds every create waits before answering (the measured real-world median is 0.7)."""
    stuck_starting: bool = False
    """Creates answer `starting` and never reach `started`."""

    def __post_init__(self) -> None:
        self._queue: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._queue.append(fault)
        return fault

    def status(
        self, route: str, status: int, *, times: int = 1, retry_after: str | None = None, message: str | None = None
    ) -> Fault:
        return self.add(Fault(route=route, status=status, times=times, retry_after=retry_after, message=message))

    def drop(self, route: str, *, times: int = 1) -> Fault:
        """Close the connection without answering."""
        return self.add(Fault(route=route, kind="drop", times=times))

    def drop_after(self, route: str, *, times: int = 1) -> Fault:
        """Do the work, then close the connection before answering (the client cannot know it happened)."""
        return self.add(Fault(route=route, kind="drop_after", times=times))

    def take(self, route: str, plane: str) -> Fault | None:
        """The armed fault matching this request, if any (consuming one of its uses)."""
        with self._lock:
            for fault in self._queue:
                if fault.route in (route, plane, "*"):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._queue.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
        self.create_delay = 0.0
        self.stuck_starting = False
