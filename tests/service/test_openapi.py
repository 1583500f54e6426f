"""The OpenAPI schema documents every status code and header the task routes use (the fuzzer in
test_e2e_abuse.py checks the answers against it; this pins what it must say)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.http.app import app
from agent.http.models import MAX_STEPS, MAX_TOTAL_TOKENS, MAX_WALL_SECONDS
from agent.http.responses import MAX_OFFSET


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return app.openapi()


def schema_of(spec: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("post", "/tasks", {"200", "201", "400", "401", "409", "413", "422", "429", "503"}),
        ("get", "/tasks", {"200", "401", "422", "503"}),
        ("get", "/tasks/{task_id}", {"200", "401", "404", "503"}),
        ("post", "/tasks/{task_id}/approve", {"200", "401", "404", "409", "413", "422", "503"}),
        ("post", "/tasks/{task_id}/reject", {"200", "401", "404", "409", "413", "422", "503"}),
        ("post", "/tasks/{task_id}/messages", {"200", "401", "404", "409", "413", "422", "503"}),
        ("delete", "/tasks/{task_id}", {"200", "401", "404", "409", "413", "422", "503"}),
        ("get", "/readyz", {"200", "503"}),
    ],
)
def test_every_status_code_a_route_answers_is_documented(spec, method, path, codes):
    assert codes <= set(spec["paths"][path][method]["responses"])


def test_retry_after_and_the_idempotency_key_are_documented(spec):
    create = spec["paths"]["/tasks"]["post"]
    for code in ("429", "503"):
        assert create["responses"][code]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    key = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert key["in"] == "header" and key["schema"]["minLength"] == 1 and key["schema"]["maxLength"] == 255
    assert "200" in create["responses"] and "Idempotency-Key" in create["responses"]["200"]["description"]
    unavailable = schema_of(spec, create["responses"]["503"]["content"]["application/json"]["schema"])
    assert set(unavailable["properties"]) == {"detail", "dependency"}


def test_numeric_fields_have_bounds(spec):
    body = schema_of(spec, spec["paths"]["/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"])
    for name, bound in (
        ("max_steps", MAX_STEPS),
        ("max_total_tokens", MAX_TOTAL_TOKENS),
        ("max_wall_seconds", MAX_WALL_SECONDS),
    ):
        integer = next(s for s in body["properties"][name]["anyOf"] if s["type"] == "integer")
        assert integer["maximum"] == bound and integer["exclusiveMinimum"] == 0
    offset = next(p for p in spec["paths"]["/tasks"]["get"]["parameters"] if p["name"] == "offset")
    assert offset["schema"]["maximum"] == MAX_OFFSET
