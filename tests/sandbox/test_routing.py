"""Hybrid routing rules (SANDBOX_ROUTES): which backend a task runs on, and which explicit choices are allowed."""

from __future__ import annotations

import json

import pytest

from sandbox.routing import RouteRefused, RoutingSettings, normalize_repo, parse_routes, route_for, route_task

RULES = parse_routes(
    json.dumps(
        [
            {"repo": "github.com/acme/secret-*", "backend": "mcp"},
            {"owner": "contractor-*", "backend": "daytona"},
            {"repo": "/srv/repos/*", "backend": "local", "allow": ["mcp"]},
            {"backend": "daytona", "allow": ["local"]},
        ]
    )
)


@pytest.mark.parametrize(
    ("repo", "expected"),
    [
        ("https://user:token@github.com/acme/secret-api.git", "github.com/acme/secret-api"),
        ("git@github.com:acme/secret-api.git", "github.com/acme/secret-api"),
        ("ssh://git@git.internal:2222/team/app.git", "git.internal:2222/team/app"),
        ("file:///srv/repos/app", "/srv/repos/app"),
        ("/srv/repos/app", "/srv/repos/app"),
        (None, ""),
    ],
)
def test_repositories_are_normalized_before_matching(repo: str | None, expected: str) -> None:
    assert normalize_repo(repo) == expected


def test_the_first_matching_rule_picks_the_backend() -> None:
    def backend(repo: str | None, owner: str | None) -> tuple[str, int | None]:
        route = route_task(RULES, repo=repo, owner=owner, requested=None, default="local")
        return route.backend, route.rule

    assert backend("https://x:y@github.com/acme/secret-api.git", "contractor-1") == ("mcp", 0)  # repo rule first
    assert backend("https://github.com/acme/public", "contractor-1") == ("daytona", 1)
    assert backend("/srv/repos/app", "alice") == ("local", 2)
    assert backend("https://github.com/acme/public", "alice") == ("daytona", 3)


def test_an_explicit_choice_only_where_the_rule_allows_it() -> None:
    assert route_task(RULES, repo="/srv/repos/app", owner="alice", requested="mcp", default="local").backend == "mcp"
    assert route_task(RULES, repo="https://h/p", owner="alice", requested="local", default="local").backend == "local"
    with pytest.raises(RouteRefused, match=r"sandbox 'daytona' is not allowed .* rule 0 \(allowed: mcp\)"):
        route_task(RULES, repo="https://github.com/acme/secret-x", owner="alice", requested="daytona", default="local")
    strict = parse_routes('[{"owner": "alice", "backend": "local"}]')
    with pytest.raises(RouteRefused, match="no SANDBOX_ROUTES rule matches repository 'h/p' of owner 'bob'"):
        route_task(strict, repo="https://h/p", owner="bob", requested=None, default="local")


def test_without_rules_every_task_may_choose() -> None:
    assert route_task([], repo="x", owner="a", requested="daytona", default="local").backend == "daytona"
    assert route_task([], repo="x", owner="a", requested=None, default="local") == route_task(
        [], repo="y", owner=None, requested=None, default="local"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[{", "SANDBOX_ROUTES is not valid JSON"),
        ('[{"backend": "cloud"}]', "SANDBOX_ROUTES rule 0.backend: Input should be 'local', 'daytona' or 'mcp'"),
        ('[{"backend": "local", "repos": "x"}]', "SANDBOX_ROUTES rule 0.repos: Extra inputs are not permitted"),
        ('{"backend": "local"}', "SANDBOX_ROUTES: Input should be a valid list"),
    ],
)
def test_a_bad_rule_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_routes(text)


def test_rules_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("SANDBOX_ROUTES", '[{"owner": "ops", "backend": "mcp"}, {"backend": "local"}]')
    monkeypatch.setenv("SANDBOX_BACKEND", "local")
    assert len(RoutingSettings().rules) == 2
    assert route_for(repo=None, owner="ops", requested=None).backend == "mcp"
    with pytest.raises(RouteRefused):
        route_for(repo=None, owner="dev", requested="mcp")
