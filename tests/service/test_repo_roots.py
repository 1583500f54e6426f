"""TASK_REPO_ROOTS: a task's local repository must lie under an allowed directory (symlinks resolved)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import HTTPException

from agent.http.service import TaskService
from agent.http.settings import ServiceSettings


def service_with_roots(*roots) -> TaskService:
    return TaskService(
        client=None,
        log=None,
        relay=None,
        limiter=None,
        idempotency=None,
        states=None,  # type: ignore[arg-type]
        repo_roots=tuple(roots),
    )


async def test_paths_under_an_allowed_root_pass_and_others_are_refused(tmp_path):
    allowed = tmp_path / "allowed"
    (allowed / "repo").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (allowed / "escape").symlink_to(outside)
    service = service_with_roots(allowed.resolve())
    assert await service._resolve_repo(str(allowed / "repo")) == str(allowed / "repo")
    assert await service._resolve_repo("https://example.com/x.git") == "https://example.com/x.git"
    for path in (outside, allowed / "escape", tmp_path):
        with pytest.raises(HTTPException) as refused:
            await service._resolve_repo(str(path))
        assert refused.value.status_code == 422 and "TASK_REPO_ROOTS" in refused.value.detail


async def test_no_roots_means_any_existing_path(tmp_path):
    assert await service_with_roots()._resolve_repo(str(tmp_path)) == str(tmp_path)
    with pytest.raises(HTTPException) as missing:
        await service_with_roots()._resolve_repo(str(tmp_path / "nope"))
    assert "does not exist" in missing.value.detail


def test_roots_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TASK_REPO_ROOTS", f"{tmp_path}:/srv/repos")
    assert ServiceSettings().repo_root_paths == (tmp_path.resolve(), Path("/srv/repos"))
