"""`python -m agent.serve`: refuses a busy port, says clearly whether a model is configured, local mode by default."""

from __future__ import annotations

import socket
import subprocess
import sys

from agent.serve import banner, server_env
from tests.support.langgraph_server import REPO_ROOT

MODEL_VARS = (
    "MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "PLANNER_MODEL",
    "PROGRAMMER_MODEL",
    "REVIEWER_MODEL",
    "ROUTER_MODEL",
    "SUMMARIZER_MODEL",
)


def test_a_busy_port_is_refused_with_a_clear_message(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "agent.serve", "--port", str(port)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert f"port {port} is already in use" in proc.stderr


def test_banner_says_what_to_set_when_no_model_is_configured(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in (
        *MODEL_VARS,
        "OPEN_SWE_LOCAL_MODE",
        "OPEN_SWE_LOCAL_PROJECT_PATH",
        "API_KEYS",
        "API_KEYS_FILE",
        "AUTH_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    env = server_env(None)
    assert env["OPEN_SWE_LOCAL_MODE"] == "true" and env["OPEN_SWE_LOCAL_PROJECT_PATH"] == str(tmp_path)
    assert env["LANGGRAPH_CLI_NO_ANALYTICS"] == "1" and env["LANGSMITH_TRACING"] == "false"
    text = "\n".join(banner(env, "127.0.0.1", 2024))
    assert "set MODEL" in text and "OPENAI_API_KEY" in text and "The server starts" in text
    assert "no API keys" in text and "python -m agent.http.apikeys new NAME" in text


def test_banner_names_the_model_and_the_auth_mode(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODEL", "gpt-4.1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-printed-123456")
    monkeypatch.setenv("AUTH_DISABLED", "true")
    text = "\n".join(banner(server_env(None), "127.0.0.1", 2024))
    assert "model gpt-4.1" in text and "AUTH_DISABLED=true" in text
    assert "sk-not-printed-123456" not in text


def test_settings_in_dotenv_are_honoured_by_the_run_command(monkeypatch, tmp_path):
    """`.env` counts like the environment: sandbox mode, project path, API keys and Redis are not overridden or
    missed."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "OPEN_SWE_LOCAL_MODE",
        "OPEN_SWE_LOCAL_PROJECT_PATH",
        "API_KEYS",
        "API_KEYS_FILE",
        "AUTH_DISABLED",
        "REDIS_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        "OPEN_SWE_LOCAL_MODE=false\nAPI_KEYS=alice:" + "0" * 64 + "\nREDIS_URL=redis://127.0.0.1:6399/0\n"
    )
    env = server_env(None)
    assert env["OPEN_SWE_LOCAL_MODE"] == "false" and "OPEN_SWE_LOCAL_PROJECT_PATH" not in env
    text = "\n".join(banner(env, "127.0.0.1", 2024))
    assert "daytona sandboxes" in text and "no API keys" not in text and "coordination: redis" in text
    (tmp_path / ".env").write_text(f"OPEN_SWE_LOCAL_PROJECT_PATH={tmp_path / 'repo'}\n")
    env = server_env(None)
    assert env["OPEN_SWE_LOCAL_MODE"] == "true" and env["OPEN_SWE_LOCAL_PROJECT_PATH"] == str(tmp_path / "repo")
