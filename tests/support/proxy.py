"""A real round-robin reverse proxy (Caddy, as deploy/Caddyfile runs in production) in front of N upstreams, for
tests and the benchmark: plain HTTP on a free loopback port, websockets passed through, responses streamed as they
come (`flush_interval -1`), no admin endpoint, no automatic HTTPS, its log in the caller's directory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support.net import free_port, wait_for_port


def caddy_binary() -> str:
    found = shutil.which("caddy")
    if found is None:
        raise RuntimeError("caddy is not installed: run 'apt-get install caddy' (or 'make setup' as root)")
    return found


def upstream_dial(url: str) -> str:
    """`http://host:port` -> `host:port` (what Caddy dials); anything else is refused with what was wrong."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.port is None or parts.path not in ("", "/"):
        raise ValueError(f"upstream must be http://host:port, got {url!r}")
    return f"{parts.hostname}:{parts.port}"


def caddy_config(port: int, upstream_urls: Sequence[str], workdir: Path) -> dict[str, Any]:
    """Caddy's JSON config: one server on 127.0.0.1:`port`, every request round robin over the upstreams."""
    if not upstream_urls:
        raise ValueError("the proxy needs at least one upstream")
    log_file = {"output": "file", "filename": str(workdir / "caddy.log"), "roll": False}
    # Request headers carry the API key (x-api-key): the access log keeps method, URI, status, timings.
    no_headers = {"format": "filter", "wrap": {"format": "json"}, "fields": {"request>headers": {"filter": "delete"}}}
    return {
        "admin": {"disabled": True},
        "storage": {"module": "file_system", "root": str(workdir / "data")},
        "logging": {"logs": {"default": {"writer": log_file, "encoder": no_headers, "level": "INFO"}}},
        "apps": {
            "http": {
                "grace_period": "2s",  # on stop, open websockets get 2 s, then are closed
                "servers": {
                    "proxy": {
                        "listen": [f"127.0.0.1:{port}"],
                        "protocols": ["h1"],  # plain HTTP/1.1 (websocket upgrades); no TLS, so no h2 or h3
                        "automatic_https": {"disable": True},
                        "logs": {},  # access log (one line per request) into the log above
                        "routes": [
                            {
                                "handle": [
                                    {
                                        "handler": "reverse_proxy",
                                        "upstreams": [{"dial": upstream_dial(url)} for url in upstream_urls],
                                        "load_balancing": {"selection_policy": {"policy": "round_robin"}},
                                        "flush_interval": -1,
                                    }
                                ]
                            }
                        ],
                    }
                },
            }
        },
    }


@contextmanager
def running_proxy(workdir: Path, upstream_urls: Sequence[str], *, timeout: float = 30.0) -> Iterator[str]:
    """Caddy round robin over `upstream_urls` until the block ends; yields its `http://127.0.0.1:port` URL. Its config
    and log (`caddy.log`: start-up, errors, one access line per request, without its headers) stay in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "caddy.json"
    config.write_text(json.dumps(caddy_config(port, upstream_urls, workdir), indent=2))
    home = {"HOME": str(workdir), "XDG_CONFIG_HOME": str(workdir / "config"), "XDG_DATA_HOME": str(workdir / "data")}
    with (workdir / "caddy.out").open("ab") as out:
        proc = subprocess.Popen(
            [caddy_binary(), "run", "--config", str(config)],
            env={**os.environ, **home},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(proc, port, workdir, timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], port: int, workdir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        try:
            wait_for_port(port, timeout=0.5)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"caddy not listening on {port} after {timeout}s: see {workdir}") from None
    output = (workdir / "caddy.out").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"caddy exited with {proc.returncode}:\n{output}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # a graceful stop: Caddy closes its listeners and connections
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
