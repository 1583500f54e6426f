# Production image of the service: the task API and the LangGraph runtime (`langgraph dev`'s in-memory runtime with
# on-disk persistence by default; `--runtime aegra` with DATABASE_URL + REDIS_URL for the production runtime), and the
# local sandbox (bubblewrap) inside. Build: docker build -t open-swe . ; run: see README.md, "Docker" and "Deploy".
# The base is an argument so the image can be built where Docker Hub is out of reach (scripts/image-test.sh builds a
# Debian base with mmdebstrap); any Debian-based image with python3 >= 3.12 (and its venv module) works.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

# UV_NATIVE_TLS=1: uv trusts the system's CA bundle (needed behind a TLS-intercepting proxy); off by default.
ARG UV_NATIVE_TLS=0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_NATIVE_TLS=${UV_NATIVE_TLS} \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON_PREFERENCE=only-system \
    UV_LINK_MODE=copy \
    LANGGRAPH_CLI_NO_ANALYTICS=1 \
    LANGGRAPH_NO_VERSION_CHECK=true \
    LANGSMITH_TRACING=false \
    OPEN_SWE_LOCAL_MODE=true \
    OPEN_SWE_STATE_DIR=/data/state \
    OPEN_SWE_LOCAL_PROJECT_PATH=/data/workspace

# uv goes in its own virtualenv (works on python:3.12-slim and on Debian's python3, which refuses a system pip);
# Debian's python3-venv only when the base's python3 lacks venv/ensurepip (python:3.12-slim has them).
RUN venv=$(python3 -c 'import ensurepip, venv' 2>/dev/null || echo python3-venv) \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap libseccomp2 git ripgrep ca-certificates curl $venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/uv \
    && /opt/uv/bin/pip install --no-cache-dir "uv>=0.5,<1" \
    && ln -s /opt/uv/bin/uv /usr/local/bin/uv

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app \
    && mkdir -p /app /data/state /data/workspace /data/langgraph \
    && chown -R app:app /app /data

WORKDIR /app
# The dependencies first (a layer that changes only with the lock), through a cache of downloaded wheels.
COPY --chown=app:app pyproject.toml uv.lock ./
USER app
ENV UV_CACHE_DIR=/home/app/.cache/uv
RUN --mount=type=cache,target=/home/app/.cache/uv,uid=10001,gid=10001 uv sync --frozen --no-dev --no-install-project
COPY --chown=app:app README.md ./
COPY --chown=app:app langgraph.json ./
COPY --chown=app:app agent ./agent
COPY --chown=app:app graphs ./graphs
COPY --chown=app:app sandbox ./sandbox
COPY --chown=app:app coordination ./coordination
COPY --chown=app:app service ./service
RUN --mount=type=cache,target=/home/app/.cache/uv,uid=10001,gid=10001 test -f service/web/dist/index.html \
    && uv sync --frozen --no-dev \
    && ln -s /data/langgraph .langgraph_api

# Task state: LangGraph's runtime files (.langgraph_api -> /data/langgraph), event logs, worktrees, clones.
VOLUME ["/data"]
EXPOSE 2024
# A command with another --port sets OPEN_SWE_PORT to match.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${OPEN_SWE_PORT:-2024}/healthz" || exit 1

CMD ["/app/.venv/bin/python", "-m", "agent.serve", "--host", "0.0.0.0", "--port", "2024"]
