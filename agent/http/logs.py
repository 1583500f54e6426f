"""Structured log lines for the service (one JSON object per line, with the task id when there is one),
and secret redaction on every log handler of the process."""

from __future__ import annotations

import json
import logging
import sys
import time

from sandbox.secrets import RedactingFilter

SERVICE_LOGGER = "open_swe"


class Throttle:
    """At most one log line per interval, so a dependency that is down does not flood the log."""

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self._last = float("-inf")

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.interval:
            return False
        self._last = now
        return True


_CONTEXT_FIELDS = ("task_id", "run_id", "owner", "event", "status", "path")


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for field in _CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def setup_service_logging(level: str = "INFO") -> logging.Logger:
    """JSON lines on stderr for `open_swe.*` loggers; a RedactingFilter on them and on every root handler."""
    logger = logging.getLogger(SERVICE_LOGGER)
    logger.setLevel(level.upper())
    if not any(getattr(h, "_open_swe", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLineFormatter())
        handler.addFilter(RedactingFilter())
        handler._open_swe = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the in-process client's per-request lines
    for root_handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in root_handler.filters):
            root_handler.addFilter(RedactingFilter())
    return logger
