"""The Dockerfile cannot be built here (no Docker engine): check its promises statically."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.+?)$", DOCKERFILE, re.MULTILINE)]


def test_runs_as_a_non_root_user():
    users = instructions("USER")
    assert users and users[-1] not in ("root", "0"), users
    assert "useradd" in DOCKERFILE and "--uid 10001" in DOCKERFILE


def test_has_bubblewrap_git_and_ripgrep():
    apt = next(line for line in DOCKERFILE.splitlines() if "apt-get install" in line)
    for package in ("bubblewrap", "git", "ripgrep"):
        assert package in apt


def test_state_volume_healthcheck_port_and_command():
    assert instructions("VOLUME") == ['["/data"]']
    assert "OPEN_SWE_STATE_DIR=/data/state" in DOCKERFILE
    assert "ln -s /data/langgraph .langgraph_api" in DOCKERFILE  # the runtime's files live on the volume
    assert instructions("EXPOSE") == ["2024"]
    healthcheck = DOCKERFILE.split("HEALTHCHECK", 1)[1].split("\n\n", 1)[0]
    assert "/healthz" in healthcheck
    cmd = instructions("CMD")[-1]
    assert '"agent.serve"' in cmd and '"0.0.0.0"' in cmd and '"2024"' in cmd


def test_dependencies_come_from_the_lock_and_secrets_stay_out():
    assert "uv sync --frozen" in DOCKERFILE
    dockerignore = (ROOT / ".dockerignore").read_text().splitlines()
    for excluded in (".env", ".git", ".venv", ".langgraph_api"):
        assert excluded in dockerignore
    for copied in re.findall(r"^COPY\s+(?:--\S+\s+)*(.+?)\s+\S+$", DOCKERFILE, re.MULTILINE):
        assert ".env" not in copied
    for package in ("agent", "graphs", "sandbox", "coordination", "langgraph.json"):
        assert any(package in line for line in instructions("COPY")), package
