"""bench/service.py itself: its options, and a small run on two Aegra replicas behind the round-robin proxy (real
PostgreSQL, Redis, Caddy) that completes every task and loses none, printing every key the README documents."""

from __future__ import annotations

import pytest

from bench.service import main, parse_args

KEYS = {
    "tasks",
    "completed",
    "lost",
    "first_event_ms",
    "p95_first_event_ms",
    "first_task_event_ms",
    "task_throughput_per_min",
    "server_rss_mb",
    "wall_seconds",
    "jobs_per_worker",
    "model_requests",
    "retries",
    "runtime",
    "replicas",
}


def test_defaults_and_choices() -> None:
    defaults = parse_args([])
    assert (defaults.runtime, defaults.replicas, defaults.tasks, defaults.jobs) == ("dev", 1, 50, 50)
    chosen = parse_args(["--runtime", "aegra", "--replicas", "3", "--tasks", "200", "--jobs", "20"])
    assert (chosen.runtime, chosen.replicas, chosen.tasks, chosen.jobs) == ("aegra", 3, 200, 20)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--replicas", "2"], "--replicas 2 needs --runtime aegra"),
        (["--runtime", "dev", "--replicas", "2"], "--replicas 2 needs --runtime aegra"),
        (["--runtime", "prod"], "invalid choice: 'prod'"),
        (["--replicas", "0", "--runtime", "aegra"], "--replicas: must be at least 1, got 0"),
        (["--tasks", "many"], "--tasks: invalid positive value: 'many'"),
    ],
)
def test_bad_options_are_refused_with_a_clear_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.e2e
@pytest.mark.timeout(150)
def test_two_aegra_replicas_behind_the_proxy_complete_every_task() -> None:
    result = main(6, 10, "aegra", 2, timeout=90)
    assert result.keys() >= KEYS
    assert (result["runtime"], result["replicas"], result["tasks"]) == ("aegra", 2, 6)
    assert result["completed"] == 6 and result["lost"] == 0, result.get("errors")
    median, p95, rss = result["first_event_ms"], result["p95_first_event_ms"], result["server_rss_mb"]
    assert isinstance(median, float) and isinstance(p95, float) and 0 < median <= p95
    assert isinstance(rss, float) and rss > 0
