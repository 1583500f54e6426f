#!/usr/bin/env bash
# Sets up everything the service and its tests need on a fresh Debian/Ubuntu machine:
# system packages (bubblewrap, git, redis-server, ripgrep) when missing, uv, and the
# project's virtualenv (.venv) from uv.lock. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' || need+=(libseccomp2)  # the sandboxes' seccomp filter
[ -x /usr/bin/python3 ] || need+=(python3)  # the sandboxes' command runner (nothing of the service inside)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)  # the production runtime (Aegra) and its tests
[ -x /usr/bin/chromium ] || need+=(chromium)  # the web page's browser tests (tests/web, driven by Playwright)
command -v node >/dev/null 2>&1 || need+=(nodejs)  # the evaluation suite's npm tasks (node --test)
command -v npm >/dev/null 2>&1 || need+=(npm)  # npm ci for the web page, the JavaScript SDK and MCP Inspector tests
command -v caddy >/dev/null 2>&1 || need+=(caddy)  # tests/image/test_deploy.py validates deploy/Caddyfile (never started)
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

# Python >= 3.12 (Aegra, the production runtime, needs it). Debian 12's python3 is 3.11, so look for a 3.12/3.13
# beside it: on PATH, under pyenv, or where OPEN_SWE_PYTHON points.
find_python() {
  local c
  for c in "${OPEN_SWE_PYTHON:-}" python3 python3.12 python3.13 \
           "$HOME"/.pyenv/versions/3.12*/bin/python3 "$HOME"/.pyenv/versions/3.13*/bin/python3 \
           /usr/local/bin/python3.12 /usr/local/bin/python3.13; do
    [ -n "$c" ] || continue
    if "$c" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' >/dev/null 2>&1; then
      command -v "$c"; return 0
    fi
  done
  return 1
}
if ! py="$(find_python)"; then
  echo "bootstrap: Python 3.12 or 3.13 is needed (found none on PATH or under ~/.pyenv); install one, or set OPEN_SWE_PYTHON" >&2
  exit 1
fi
export UV_PYTHON_DOWNLOADS=never
uv sync --frozen --python "$py" --quiet
