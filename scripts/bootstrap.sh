#!/usr/bin/env bash
# Sets up everything the service and its tests need on a fresh Debian/Ubuntu machine:
# system packages (bubblewrap, git, redis-server, ripgrep) when missing, uv, and the
# project's virtualenv (.venv) from uv.lock. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing system packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages: ${need[*]} (install them, e.g. 'sudo apt-get install ${need[*]}')" >&2
    # bubblewrap and redis-server are optional for running the service; git is not.
    command -v git >/dev/null 2>&1 || exit 1
  fi
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv"
  python3 -m pip install -q --user uv 2>/dev/null || python3 -m pip install -q uv
  export PATH="$HOME/.local/bin:$PATH"
fi

export UV_PYTHON_DOWNLOADS=never
uv sync --frozen --python "$(command -v python3)" --quiet
