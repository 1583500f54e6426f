"""Per-key rate limit on task creation, over the shared CoordinationStore (fixed windows)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from coordination.store import CoordinationStore


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    """Seconds until the current window ends (0 when allowed)."""


class TaskRateLimiter:
    """At most `limit` task creations per `window` seconds for each owner, shared by every process on the store."""

    def __init__(self, store: CoordinationStore, *, limit: int, window: float) -> None:
        self._store = store
        self.limit = limit
        self.window = window

    async def check(self, owner: str) -> RateDecision:
        count = await self._store.hit(f"rate:tasks:{owner}", self.window)
        if count <= self.limit:
            return RateDecision(True, self.limit, self.limit - count, 0)
        retry_after = max(1, math.ceil(self.window - (time.time() % self.window)))
        return RateDecision(False, self.limit, 0, retry_after)
