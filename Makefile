# One command to set up and run the service, one to set up and run the tests.
SHELL := /bin/bash
export LANGGRAPH_CLI_NO_ANALYTICS := 1
export LANGGRAPH_NO_VERSION_CHECK := true
export LANGSMITH_TRACING := false
export UV_PYTHON_DOWNLOADS := never
PORT ?= 2024
UV := $(shell command -v uv 2>/dev/null || echo "$$HOME/.local/bin/uv")

.PHONY: setup dev prod check small-model test bench eval lock web install-cli

setup:
	@bash scripts/bootstrap.sh

dev: setup
	@$(UV) run --frozen python -m agent.serve --port $(PORT)

# The production runtime: Aegra on Postgres and Redis (DATABASE_URL and REDIS_URL in the environment).
prod: setup
	@$(UV) run --frozen python -m agent.serve --runtime aegra --host $(or $(HOST),127.0.0.1) --port $(PORT)

# Static checks (config in pyproject.toml): lint, formatting, types. `make test` runs them first, so CI fails on a finding.
check: setup
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy

# A real small LLM server for tests/realmodel (built once into ~/.cache/open-swe/small-model; ~6-13 min the first time).
small-model: setup
	@bash scripts/small-model.sh >/dev/null

test: check small-model
	@$(UV) run --frozen pytest $(PYTEST_ARGS)

bench: setup
	@for b in bench/*.py; do [ "$$b" = bench/eval.py ] && continue; echo "== $$b"; $(UV) run --frozen python $$b || exit 1; done

# The evaluation suite through the real service: MODEL (+ OPENAI_API_KEY / OPENAI_BASE_URL) from the environment,
# or EVAL_ARGS="--policy oracle" / "--policy noop"; see the README section "Evaluation".
eval: setup
	@$(UV) run --frozen python bench/eval.py $(EVAL_ARGS)

lock:
	@$(UV) lock

# Rebuild the web page's bundle (service/web/dist, committed) and run its unit tests; needs node 20+ and npm.
web:
	@cd service/web && npm ci --no-audit --no-fund && npm test && npm run build

# Put the `open-swe` command (.venv/bin/open-swe, installed by `make setup`) on PATH: a symlink in ~/.local/bin.
install-cli: setup
	@mkdir -p "$$HOME/.local/bin" && ln -sf "$(CURDIR)/.venv/bin/open-swe" "$$HOME/.local/bin/open-swe"
	@echo "open-swe -> $(CURDIR)/.venv/bin/open-swe (in ~/.local/bin; add it to PATH if it is not)"
