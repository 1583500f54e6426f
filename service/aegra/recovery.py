"""Recovery after a restart on a runtime that owns threads by caller (Aegra): the service owns no threads there, so
it searches as each configured key's owner in turn (the relays it starts keep acting as that owner)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from agent.http.auth import LOCAL_USER, AuthConfig
from service.aegra.context import acting_owner, self_client_settings


def owners(config: AuthConfig) -> list[str]:
    return [LOCAL_USER] if config.disabled else sorted({entry.name for entry in config.entries})


async def recover_as_owners(recover: Callable[[], Awaitable[int]], names: Iterable[str]) -> int:
    """Run `recover` once as each owner; the sum of what it returns."""
    total = 0
    for name in names:
        token = acting_owner.set(name)
        try:
            total += await recover()
        finally:
            acting_owner.reset(token)
    return total


async def recover_on_runtime(recover: Callable[[], Awaitable[int]], config: AuthConfig) -> int:
    """`recover` as the service under `langgraph dev` (in process, sees every thread); per owner elsewhere."""
    if self_client_settings() is None:
        return await recover()
    return await recover_as_owners(recover, owners(config))
