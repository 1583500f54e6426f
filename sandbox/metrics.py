"""Prometheus metrics of the Daytona backend, in the default registry (the service's /metrics shows them)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ENVIRONMENT_COUNT = Gauge(
    "daytona_environment_count",
    "Daytona sandboxes this process currently holds for threads (acquired and not yet released).",
)
EXECUTION_TIME = Histogram(
    "daytona_execution_time",
    "Seconds spent in Daytona operations (including retries), by operation.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
API_ERRORS = Counter(
    "daytona_api_errors",
    "Failed Daytona API requests, by kind "
    "(rate_limited, server_error, connection, timeout, not_found, client_error, other).",
    ["kind"],
)
POOL_SIZE = Gauge("daytona_pool_size", "Warm sandboxes waiting in the pool (as last seen by this process).")
POOL_CLAIM_SECONDS = Histogram(
    "daytona_pool_claim_seconds",
    "Seconds to claim a warm sandbox from the pool (pop, verify, relabel).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
