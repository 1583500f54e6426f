"""Prometheus metrics of every sandbox backend (local, daytona, mcp), labelled by backend, in the default registry
(the service's `/metrics` shows them). Backends opt in with the class decorators below, so the metering is written
once and the classes stay themselves (`isinstance` still works):

- `sandbox_live{backend}`: sandboxes this process holds (acquired, not yet released);
- `sandbox_create_seconds{backend}`: time of an acquire that made a new sandbox;
- `sandbox_exec_seconds{backend}`: time of a command;
- `sandbox_errors_total{backend,kind}`: backend failures (`backend`, `gone`, `busy`, `isolation`, `other`); a caller's
  own mistakes (missing file, path outside the workspace) are not counted.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from sandbox.base import BackendError, IsolationUnavailable, SandboxBusy, SandboxError, SandboxGone

LIVE = Gauge("sandbox_live", "Sandboxes this process holds (acquired and not yet released), by backend.", ["backend"])
CREATE_SECONDS = Histogram(
    "sandbox_create_seconds",
    "Seconds of an acquire that created a new sandbox, by backend.",
    ["backend"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
EXEC_SECONDS = Histogram(
    "sandbox_exec_seconds",
    "Seconds of a command in a sandbox, by backend.",
    ["backend"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
ERRORS = Counter("sandbox_errors", "Sandbox backend failures, by backend and kind.", ["backend", "kind"])

SANDBOX_OPERATIONS = ("exec", "read", "write", "list", "stat", "search", "upload", "download")
C = TypeVar("C", bound=type)


def error_kind(exc: BaseException) -> str | None:
    """The kind counted for a failure, or None for a caller's mistake (not a backend failure)."""
    for cls, kind in (
        (SandboxGone, "gone"),
        (BackendError, "backend"),
        (SandboxBusy, "busy"),
        (IsolationUnavailable, "isolation"),
    ):
        if isinstance(exc, cls):
            return kind
    return None if isinstance(exc, SandboxError | ValueError) else "other"


def _count(backend: str, exc: BaseException) -> None:
    kind = error_kind(exc)
    if kind is not None:
        ERRORS.labels(backend, kind).inc()


def _metered(backend: str, method: Callable[..., Any], *, timer: Histogram | None = None) -> Callable[..., Any]:
    observe = timer.labels(backend).observe if timer is not None else None  # looked up once, not per call

    @functools.wraps(method)
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            result = await method(self, *args, **kwargs)
        except Exception as exc:
            _count(backend, exc)
            raise
        if observe is not None:
            observe(time.perf_counter() - start)
        return result

    return call


def metered_sandbox(backend: str) -> Callable[[C], C]:
    """Class decorator for a `Sandbox`: command latency, and failures of every operation."""

    def decorate(cls: C) -> C:
        for name in SANDBOX_OPERATIONS:
            timer = EXEC_SECONDS if name == "exec" else None
            setattr(cls, name, _metered(backend, getattr(cls, name), timer=timer))
        return cls

    return decorate


_HELD: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def metered_provider(backend: str) -> Callable[[C], C]:
    """Class decorator for a `SandboxProvider`: live sandboxes, creation latency, failures."""

    def decorate(cls: C) -> C:
        acquire, release, aclose = cls.acquire, cls.release, cls.aclose  # type: ignore[attr-defined]

        @functools.wraps(acquire)
        async def metered_acquire(self: Any, thread_id: str, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                lease = await acquire(self, thread_id, **kwargs)
            except Exception as exc:
                _count(backend, exc)
                raise
            if lease.fresh:
                CREATE_SECONDS.labels(backend).observe(time.perf_counter() - start)
            held = _HELD.setdefault(self, set())
            if lease.sandbox.id not in held:
                held.add(lease.sandbox.id)
                LIVE.labels(backend).inc()
            return lease

        @functools.wraps(release)
        async def metered_release(self: Any, sandbox_id: str, **kwargs: Any) -> None:
            held = _HELD.get(self, set())
            if sandbox_id in held:
                held.discard(sandbox_id)
                LIVE.labels(backend).dec()
            try:
                await release(self, sandbox_id, **kwargs)
            except Exception as exc:
                _count(backend, exc)
                raise

        @functools.wraps(aclose)
        async def metered_aclose(self: Any) -> None:
            held = _HELD.pop(self, set())
            LIVE.labels(backend).dec(len(held))
            await aclose(self)

        cls.acquire, cls.release, cls.aclose = metered_acquire, metered_release, metered_aclose  # type: ignore[attr-defined]
        return cls

    return decorate
