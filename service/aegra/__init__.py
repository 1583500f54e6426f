"""The production runtime: the same langgraph.json served on Aegra (open source, Postgres + Redis)."""
