"""Coalescing a command's streamed output into few `tool_output` events.

A test runner prints one character per test; forwarding each chunk as an event made hundreds of one-character events
per run. `OutputCoalescer` buffers chunks and hands them on when `max_chars` have gathered or `interval` seconds after
the first buffered chunk, whichever comes first, and whatever is left when the command ends (`close`). Nothing is
dropped or reordered: the emitted chunks concatenate to exactly the chunks fed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

FLUSH_SECONDS = 0.1
FLUSH_CHARS = 8192


class OutputCoalescer:
    def __init__(
        self, emit: Callable[[str], None], *, interval: float = FLUSH_SECONDS, max_chars: int = FLUSH_CHARS
    ) -> None:
        self._emit = emit
        self._interval = interval
        self._max_chars = max_chars
        self._parts: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None

    async def feed(self, chunk: str) -> None:
        """The sandbox's `on_output` callback."""
        if not chunk:
            return
        self._parts.append(chunk)
        self._size += len(chunk)
        if self._size >= self._max_chars:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._parts:
            return
        text = "".join(self._parts)
        self._parts.clear()
        self._size = 0
        for start in range(0, len(text), self._max_chars):
            self._emit(text[start : start + self._max_chars])

    def close(self) -> None:
        """Emit what is left; call when the command ended (also after an error)."""
        self.flush()
