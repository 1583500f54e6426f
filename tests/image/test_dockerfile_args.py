"""The Dockerfile's build arguments and contents that scripts/image-test.sh relies on (the image itself is built and run
by tests/image/test_image.py; tests/service/test_dockerfile.py checks the rest statically)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_the_base_is_a_build_argument_defaulting_to_python_3_12_slim():
    assert re.search(r"^ARG BASE_IMAGE=python:3\.12-slim$", DOCKERFILE, re.MULTILINE)
    assert re.findall(r"^FROM (.+)$", DOCKERFILE, re.MULTILINE) == ["${BASE_IMAGE}"]
    assert DOCKERFILE.index("ARG BASE_IMAGE") < DOCKERFILE.index("FROM ${BASE_IMAGE}")


def test_uv_native_tls_is_an_argument_passed_to_uv_and_off_by_default():
    assert re.search(r"^ARG UV_NATIVE_TLS=0$", DOCKERFILE, re.MULTILINE)
    assert "UV_NATIVE_TLS=${UV_NATIVE_TLS}" in DOCKERFILE


def test_system_packages_and_the_web_bundle_are_in_the_image():
    apt = next(line for line in DOCKERFILE.splitlines() if "apt-get install" in line)
    for package in ("bubblewrap", "libseccomp2", "git", "ripgrep", "curl", "ca-certificates"):
        assert package in apt, package
    assert "COPY --chown=app:app service ./service" in DOCKERFILE
    assert "test -f service/web/dist/index.html" in DOCKERFILE  # a missing bundle fails the build
    dockerignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "service/web/dist" not in dockerignore and "**/node_modules" in dockerignore


def test_the_python_requirement_matches_what_the_image_test_base_provides():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.12,<3.14"' in pyproject  # trixie's python3 is 3.13, python:3.12-slim is 3.12
    assert "IMAGE_SUITE:-trixie" in (ROOT / "scripts" / "image-test.sh").read_text()
