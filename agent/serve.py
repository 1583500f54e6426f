"""`python -m agent.serve`: start the service (`langgraph dev` with the task API) the way `make dev` does.

Local mode by default (local sandbox, in-memory runtime persisted under ./.langgraph_api, no Redis needed),
telemetry off. Prints whether a model is configured and, if not, what to set; refuses a busy port instead of
letting `langgraph dev` silently bind another one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from pathlib import Path

import typer
from pydantic import ValidationError

from agent.http.cors import BrowserSettings, cors_config
from agent.http.readiness import model_check
from agent.http.settings import ServiceSettings
from sandbox.secrets import SERVICE_ROOT
from sandbox.settings import SandboxSettings
from service.aegra.serve import MissingSetting, aegra_command, aegra_env

app = typer.Typer(add_completion=False, help=__doc__)

TELEMETRY_OFF = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true", "LANGSMITH_TRACING": "false"}


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1" if host in ("0.0.0.0", "localhost") else host, port))
        except OSError:
            return False
    return True


def langgraph_binary() -> str:
    beside_python = Path(sys.executable).parent / "langgraph"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("langgraph")
    if found is None:
        raise typer.BadParameter(
            "the `langgraph` CLI is not installed: run `make setup` (uv sync installs langgraph-cli[inmem])"
        )
    return found


def default_project(sandbox: SandboxSettings) -> Path:
    """The current directory, unless that is the service's own checkout (its `.env` would be in the workspace):
    then `<state dir>/workspace`, created empty."""
    cwd = Path.cwd().resolve()
    if cwd.is_relative_to(SERVICE_ROOT) or SERVICE_ROOT.is_relative_to(cwd):
        workspace = sandbox.state_dir / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        return workspace
    return cwd


def server_env(project_path: Path | None) -> dict[str, str]:
    """The server's environment: local mode unless the environment or `.env` says otherwise, with the resolved
    mode and project path written out (an environment variable would otherwise shadow the value in `.env`)."""
    env = dict(os.environ)
    env.update(TELEMETRY_OFF)
    sandbox = SandboxSettings()  # the environment and .env, as the server reads them
    local = sandbox.local_mode if "local_mode" in sandbox.model_fields_set else True
    env["OPEN_SWE_LOCAL_MODE"] = "true" if local else "false"
    if local:
        env["OPEN_SWE_LOCAL_PROJECT_PATH"] = str(project_path or sandbox.project_path or default_project(sandbox))
    if "CORS_CONFIG" not in env:  # LangGraph's CORS middleware: only CORS_ALLOW_ORIGINS (its own default is '*')
        try:
            origins = BrowserSettings().origins
        except ValidationError as exc:
            typer.echo(f"error: {exc.errors()[0]['msg'].removeprefix('Value error, ')}", err=True)
            raise typer.Exit(2) from None
        env["CORS_CONFIG"] = json.dumps(cors_config(origins))
    return env


def banner(env: dict[str, str], host: str, port: int) -> list[str]:
    lines = [f"open-swe service: http://{host}:{port}  (task API: /tasks, docs: /docs, LangGraph API beside it)"]
    local = env["OPEN_SWE_LOCAL_MODE"].lower() in ("1", "true", "yes", "on")
    lines.append(
        f"mode: {'local sandbox on ' + env.get('OPEN_SWE_LOCAL_PROJECT_PATH', '') if local else 'daytona sandboxes'}"
    )
    model = model_check()
    lines.append(
        ("model: " + model.detail)
        if model.ok
        else f"WARNING: {model.detail}. The server starts; tasks fail until it is set."
    )
    service = ServiceSettings()  # the environment and .env, as the server reads them
    if service.auth_disabled:
        lines.append(
            "WARNING: AUTH_DISABLED=true: no authentication, every caller is 'local'. Never expose this server."
        )
    elif not service.api_keys and not service.api_keys_file:
        lines.append(
            "WARNING: no API keys (API_KEYS / API_KEYS_FILE): every request gets 401. Create one with "
            "`python -m agent.http.apikeys new NAME` or set AUTH_DISABLED=true for local use."
        )
    lines.append(f"coordination: {'redis' if service.redis_url else 'in process (set REDIS_URL to share it)'}")
    return lines


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (0.0.0.0 in a container)."),
    port: int = typer.Option(2024, help="Port; refused if already in use."),
    jobs: int = typer.Option(10, "--n-jobs-per-worker", min=1, help="Runs executed concurrently."),
    project_path: Path | None = typer.Option(
        None, help="Default repository in local mode (default: current directory)."
    ),
    config: Path = typer.Option(Path("langgraph.json"), help="The langgraph.json to serve."),
    runtime: str = typer.Option(
        "dev",
        help="dev: `langgraph dev` (in memory, one process). aegra: Aegra on Postgres (DATABASE_URL) and Redis "
        "(REDIS_URL), the production runtime.",
    ),
    allow_blocking: bool = typer.Option(
        False,
        help="Let runs make blocking calls on the event loop (turns off langgraph dev's blockbuster check); "
        "the project's own code never needs it, a custom tool or backend might.",
    ),
) -> None:
    """Start the LangGraph server with the task API on HOST:PORT."""
    if not config.exists():
        raise typer.BadParameter(f"{config} not found: run from the repository root or pass --config")
    if not port_is_free(host, port):
        typer.echo(
            f"error: port {port} is already in use; stop what uses it or pass --port (make dev PORT=...)", err=True
        )
        raise typer.Exit(1)
    if runtime not in ("dev", "aegra"):
        raise typer.BadParameter(f"unknown runtime {runtime!r}: use dev or aegra")
    env = server_env(project_path)
    for line in banner(env, host, port):
        typer.echo(line, err=True)
    if runtime == "aegra":
        try:
            env = aegra_env(env, host=host, port=port, jobs=jobs, config=config)
        except MissingSetting as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo("runtime: aegra (Postgres + Redis)", err=True)
        command = aegra_command(host=host, port=port)
        os.execve(command[0], command, env)
    command = [
        langgraph_binary(),
        "dev",
        "--no-browser",
        "--no-reload",
        "--host",
        host,
        "--port",
        str(port),
        "--n-jobs-per-worker",
        str(jobs),
        "--config",
        str(config),
    ]
    if allow_blocking:
        command.append("--allow-blocking")
    os.execve(command[0], command, env)


if __name__ == "__main__":
    app()
