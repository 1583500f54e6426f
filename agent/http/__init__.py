"""The service's own HTTP surface beside the LangGraph API: task REST routes, the task event websocket,
API-key auth, rate limits, idempotency, health and metrics. Loaded by `langgraph dev` through langgraph.json."""
