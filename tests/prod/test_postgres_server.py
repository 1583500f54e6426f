"""The Postgres fixture itself: a real server, run as an unprivileged user, reachable by URL, removed afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.postgres_server import postgres_bin, postgres_server, running_postgres


def psql(url: str, sql: str) -> str:
    result = subprocess.run(
        [str(postgres_bin() / "psql"), url, "-At", "-c", sql], check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


@pytest.mark.e2e
def test_postgres_runs_unprivileged_outside_tmp_and_is_removed() -> None:
    root = Path(tempfile.mkdtemp(prefix="pg-fixture-test-", dir="/var/tmp"))  # its own: other runs make clusters too
    root.chmod(0o755)  # the server's user must reach its cluster below
    try:
        with running_postgres(root) as url:
            (cluster,) = root.glob("open-swe-pg-*")
            check_cluster(url, cluster)
        assert not cluster.exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    with pytest.raises(subprocess.CalledProcessError):
        psql(url, "select 1")


def check_cluster(url: str, cluster: Path) -> None:
    assert psql(url, "select 40 + 2") == "42"
    psql(url, "create table t (x int); insert into t values (7)")
    assert psql(url, "select x from t") == "7"
    if os.geteuid() == 0:
        assert psql(url, "select current_user") == "nobody"
        assert (cluster / "data").stat().st_uid != 0


@pytest.mark.e2e
def test_a_restart_keeps_the_port_and_the_data() -> None:
    with postgres_server() as server:
        psql(server.url, "create table kept (x int); insert into kept values (3)")
        server.stop(fast=True)
        with pytest.raises(subprocess.CalledProcessError):
            psql(server.url, "select 1")
        server.start()
        assert psql(server.url, "select x from kept") == "3"
