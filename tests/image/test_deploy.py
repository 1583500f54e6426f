"""deploy/: the droplet compose file, its Caddyfile and the App Platform spec parse and are wired together (service
names, ports, database URLs, secrets only from the environment). No Docker engine or DigitalOcean account here, so
this checks the files' promises; scripts/image-test.sh runs the image itself."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SECRETS = ("API_KEYS", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPEN_SWE_INTERNAL_TOKEN", "DAYTONA_API_KEY")
VARIABLE = re.compile(r"\$\{([A-Z_]+)(?::?[-?][^}]*)?\}")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / name).read_text())


def port_of(command: list[str] | str) -> str:
    words = shlex.split(command) if isinstance(command, str) else command
    return words[words.index("--port") + 1]


def test_compose_runs_replicas_on_aegra_with_postgres_redis_and_caddy():
    compose = load("compose.yaml")
    services = compose["services"]
    assert set(services) == {"open-swe", "caddy", "postgres", "redis"}
    app = services["open-swe"]
    assert app["build"]["context"] == ".." and (DEPLOY / ".." / "Dockerfile").exists()
    assert "--runtime" in app["command"] and app["command"][app["command"].index("--runtime") + 1] == "aegra"
    replicas = str(app["deploy"]["replicas"])
    assert int(re.sub(r"\$\{[A-Z_]+:-(\d+)\}", r"\1", replicas)) >= 2, replicas
    assert {"postgres", "redis"} <= set(app["depends_on"])
    assert all(dep["condition"] == "service_healthy" for dep in app["depends_on"].values())
    assert all("healthcheck" in services[name] for name in ("postgres", "redis"))
    assert "ports" not in app, "replicas are reached only through Caddy"
    assert any(volume.endswith(":/data") for volume in app["volumes"])
    # what bubblewrap needs in the container (measured by scripts/image-test.sh), and no capability
    assert {"seccomp=unconfined", "systempaths=unconfined"} <= set(app["security_opt"]) and "cap_add" not in app
    assert app["environment"]["SANDBOX_ISOLATION"].endswith(":-bwrap}")


def test_compose_database_and_redis_urls_point_at_its_own_services():
    services = load("compose.yaml")["services"]
    env, pg = services["open-swe"]["environment"], services["postgres"]["environment"]
    url = re.fullmatch(r"postgresql://(\w+):(\$\{[^}]+\})@postgres:5432/(\w+)", env["DATABASE_URL"])
    assert url, env["DATABASE_URL"]
    assert url.group(1) == pg["POSTGRES_USER"] and url.group(3) == pg["POSTGRES_DB"]
    password, pg_password = VARIABLE.fullmatch(url.group(2)), VARIABLE.fullmatch(pg["POSTGRES_PASSWORD"])
    assert password and pg_password and password.group(1) == pg_password.group(1)
    assert env["REDIS_URL"].startswith("redis://redis:6379/")


def test_compose_secrets_come_only_from_the_environment():
    text = (DEPLOY / "compose.yaml").read_text()
    services = load("compose.yaml")["services"]
    env = services["open-swe"]["environment"]
    for name in SECRETS:
        variable = VARIABLE.fullmatch(env[name])
        assert variable and variable.group(1) == name, name
    for required in ("API_KEYS", "OPEN_SWE_INTERNAL_TOKEN", "POSTGRES_PASSWORD", "DOMAIN"):
        assert f"${{{required}:?" in text, f"{required} must be required (compose refuses to start without it)"
    assert not re.search(r"(sk-|osk_)[A-Za-z0-9]", text)


def test_caddy_proxies_every_replica_on_the_service_port():
    services = load("compose.yaml")["services"]
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    port = port_of(services["open-swe"]["command"])
    assert re.search(rf"dynamic a open-swe {port}\b", caddyfile), caddyfile
    assert "{$DOMAIN}" in caddyfile and "DOMAIN" in services["caddy"]["environment"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    assert {"80:80", "443:443"} <= set(services["caddy"]["ports"])


def test_caddyfile_is_valid_for_caddy_and_balances_over_the_replicas():
    caddy = shutil.which("caddy")
    assert caddy, "caddy is not installed: apt-get install caddy (make setup as root installs it)"
    adapted = subprocess.run(
        [caddy, "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        env={**os.environ, "DOMAIN": "swe.example.com"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert adapted.returncode == 0, adapted.stderr
    (server,) = json.loads(adapted.stdout)["apps"]["http"]["servers"].values()
    (route,) = server["routes"]
    assert route["match"] == [{"host": ["swe.example.com"]}]
    (proxy,) = route["handle"][0]["routes"][0]["handle"]
    assert proxy["handler"] == "reverse_proxy"
    port = port_of(load("compose.yaml")["services"]["open-swe"]["command"])
    assert proxy["dynamic_upstreams"] == {"source": "a", "name": "open-swe", "port": port, "refresh": 5_000_000_000}
    assert proxy["load_balancing"]["selection_policy"] == {"policy": "round_robin"}
    assert proxy["flush_interval"] == -1  # events stream through unbuffered


def test_app_platform_spec_wires_managed_postgres_and_redis_and_keeps_secrets_out():
    spec = load("do-app.yaml")
    databases = {db["name"]: db for db in spec["databases"]}
    (service,) = spec["services"]
    assert (ROOT / service["dockerfile_path"]).exists()
    assert service["instance_count"] >= 2
    assert str(service["http_port"]) == port_of(service["run_command"])
    assert "--runtime aegra" in service["run_command"] and service["health_check"]["http_path"] == "/readyz"
    envs = {env["key"]: env for env in service["envs"]}
    pg = re.fullmatch(r"\$\{(\w+)\.DATABASE_URL\}", envs["DATABASE_URL"]["value"])
    redis = re.fullmatch(r"\$\{(\w+)\.DATABASE_URL\}", envs["REDIS_URL"]["value"])
    assert pg and databases[pg.group(1)]["engine"] == "PG"
    assert redis and databases[redis.group(1)]["engine"] in ("VALKEY", "REDIS")
    for name in ("API_KEYS", "OPENAI_API_KEY", "OPEN_SWE_INTERNAL_TOKEN", "DAYTONA_API_KEY"):
        assert envs[name]["type"] == "SECRET" and "value" not in envs[name], name
    assert envs["OPEN_SWE_LOCAL_MODE"]["value"] == "false", "no bubblewrap on App Platform: Daytona sandboxes"
