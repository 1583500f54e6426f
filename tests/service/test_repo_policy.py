"""A task's repo is checked against an allow-list: URL schemes and hosts, and `file://` URLs under TASK_REPO_ROOTS
like paths. Option injection, git remote helpers, credentials in URLs and invisible characters are refused, with a
message that never repeats the URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException
from pydantic import ValidationError

from agent.http.models import CreateTaskRequest
from agent.http.repos import RepoPolicy, RepoRefused, parse_repo
from agent.http.service import TaskService
from agent.http.settings import ServiceSettings

SECRET = "ghp_0123456789abcdefSECRET"


def service_with(policy: RepoPolicy) -> TaskService:
    unused: Any = None  # resolving a repo touches no runtime, log or store
    return TaskService(
        client=unused, log=unused, relay=unused, limiter=unused, idempotency=unused, states=unused, repo_policy=policy
    )


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """(allowed root with a repo in it, a directory outside it)."""
    allowed = tmp_path / "allowed"
    (allowed / "repo").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (allowed / "escape").symlink_to(outside)
    return allowed.resolve(), outside.resolve()


async def refused(service: TaskService, repo: str) -> str:
    with pytest.raises(HTTPException) as caught:
        await service._resolve_repo(repo)
    assert caught.value.status_code == 422
    return str(caught.value.detail)


async def test_paths_under_an_allowed_root_pass_and_others_are_refused(roots, tmp_path):
    allowed, outside = roots
    service = service_with(RepoPolicy(roots=(allowed,)))
    assert await service._resolve_repo(str(allowed / "repo")) == str(allowed / "repo")
    assert await service._resolve_repo("https://example.com/x.git") == "https://example.com/x.git"
    for path in (outside, allowed / "escape", tmp_path, allowed / "repo" / ".." / ".." / "outside"):
        assert "TASK_REPO_ROOTS" in await refused(service, str(path)), path


async def test_no_roots_means_any_existing_path(tmp_path):
    assert await service_with(RepoPolicy())._resolve_repo(str(tmp_path)) == str(tmp_path)
    assert "does not exist" in await refused(service_with(RepoPolicy()), str(tmp_path / "nope"))


def test_roots_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TASK_REPO_ROOTS", f"{tmp_path}:/srv/repos")
    assert ServiceSettings().repo_policy().roots == (tmp_path.resolve(), Path("/srv/repos"))


async def test_file_urls_follow_the_roots_like_paths(roots):
    allowed, outside = roots
    service = service_with(RepoPolicy(roots=(allowed,)))
    inside = f"file://{allowed}/repo"
    assert await service._resolve_repo(inside) == inside
    assert await service._resolve_repo(f"file://localhost{allowed}/repo") == f"file://localhost{allowed}/repo"
    for repo in (
        f"file://{outside}",
        f"file://{allowed}/escape",  # a symlink out of the root
        f"file://{allowed}/repo/../../outside",
        f"FILE://{outside}",
    ):
        assert "TASK_REPO_ROOTS" in await refused(service, repo), repo
    assert "this machine" in await refused(service, f"file://otherhost{outside}")
    assert "this machine" in await refused(service, f"file:{outside}")
    assert "%-escapes" in await refused(service, f"file://{allowed}/%2e%2e/outside")


async def test_url_schemes_and_hosts_follow_the_allow_list():
    policy = RepoPolicy.from_settings("https,ssh", "github.com,*.example.org", ())
    service = service_with(policy)
    for repo in (
        "https://github.com/org/repo.git",
        "https://GitHub.com/org/repo",
        "ssh://git@github.com/org/repo.git",
        "ssh://git@github.com:2222/org/repo.git",
        "git@github.com:org/repo.git",
        "github.com:org/repo.git",
        "https://git.example.org/team/repo.git",
    ):
        assert await service._resolve_repo(repo) == repo
    assert "TASK_REPO_URL_HOSTS" in await refused(service, "https://gitlab.com/org/repo.git")
    assert "TASK_REPO_URL_HOSTS" in await refused(service, "https://example.org.evil.com/x.git")
    assert "TASK_REPO_URL_HOSTS" in await refused(service, "git@169.254.169.254:x.git")
    assert "TASK_REPO_URL_SCHEMES" in await refused(service, "http://github.com/org/repo.git")
    assert "TASK_REPO_URL_SCHEMES" in await refused(service, "git://github.com/org/repo.git")


def test_the_default_policy_allows_https_and_ssh_to_any_host(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("TASK_REPO_URL_SCHEMES", "TASK_REPO_URL_HOSTS", "TASK_REPO_ROOTS"):
        monkeypatch.delenv(name, raising=False)
    policy = ServiceSettings().repo_policy()
    policy.check_url(parse_repo("https://example.com/x.git"))
    policy.check_url(parse_repo("git@example.com:x.git"))
    with pytest.raises(RepoRefused, match="TASK_REPO_URL_SCHEMES"):
        policy.check_url(parse_repo("http://example.com/x.git"))


@pytest.mark.parametrize(
    ("repo", "reason"),
    [
        ("ext::sh -c touch% /tmp/pwned", "remote helpers"),
        ("fd::17", "remote helpers"),
        ("https::http://evil.example/x", "remote helpers"),
        ("--upload-pack=touch /tmp/pwned", "start with '-'"),
        ("-oProxyCommand=touch /tmp/pwned", "start with '-'"),
        ("ssh://-oProxyCommand=touch%20x/repo", "host"),
        ("ssh://-oProxy@github.com/repo", "user name"),
        ("git@github.com:-upload-pack=x", "start with '-'"),
        ("relative/path", "absolute local path or a git URL"),
        ("gopher://github.com/x", "not supported"),
        ("https://github.com", "no repository path"),
        ("https:///org/repo", "no host"),
        ("https://github.com:99999/x", "malformed"),
        ("/srv/repo\x00/x", "control"),
        ("/srv/repo\u202e/x", "invisible"),  # right-to-left override
        ("https://github.com\u200b/x", "invisible"),  # zero-width space
        ("https://g\u0456thub.com/org/repo", "ASCII"),  # Cyrillic i
        ("https://github.com\uff0fevil/x", "malformed"),  # fullwidth solidus
    ],
)
def test_dangerous_or_malformed_repos_are_refused(repo, reason):
    with pytest.raises(RepoRefused, match=reason.replace("'", ".").replace("(", ".")):
        parse_repo(repo)
    with pytest.raises(ValidationError):
        CreateTaskRequest(task="x", repo=repo)


@pytest.mark.parametrize(
    "repo",
    [
        f"https://user:{SECRET}@github.com/org/repo.git",
        f"https://{SECRET}@github.com/org/repo.git",
        f"ssh://git:{SECRET}@github.com/org/repo.git",
    ],
)
def test_credentials_in_a_url_are_refused_without_repeating_them(repo):
    with pytest.raises(RepoRefused) as caught:
        parse_repo(repo)
    assert "credentials" in str(caught.value) and SECRET not in str(caught.value)


def test_repo_url_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TASK_REPO_URL_SCHEMES", "https")
    monkeypatch.setenv("TASK_REPO_URL_HOSTS", "github.com, *.corp.example")
    policy = ServiceSettings().repo_policy()
    assert policy.schemes == ("https",) and policy.hosts == ("github.com", "*.corp.example")
