"""The image, built and run: scripts/image-test.sh builds the Dockerfile with podman on a local Debian base, starts it
with Redis and the scripted model (then on Aegra with Postgres too), checks /healthz, /readyz and the HEALTHCHECK,
probes bubblewrap inside, and runs one task to the fix on each runtime.
Slow (minutes cold, well under a minute warm): one test for the whole image, run once per CI run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(os.geteuid() != 0, reason="rootful podman (and apt for podman/mmdebstrap) needs root, as in CI")
def test_image_builds_starts_and_runs_a_task_end_to_end():
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "image-test.sh")], cwd=ROOT, capture_output=True, text=True, timeout=1400
    )
    print(result.stdout)  # the step timings, shown by -rA / on failure
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    steps = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("step ")}
    for runtime in ("", "-aegra"):  # the in-memory runtime, then Aegra on a real Postgres
        assert {f"healthz{runtime}", f"readyz{runtime}", f"healthcheck{runtime}", f"task{runtime}"} <= steps, steps
    assert {"base", "build", "bwrap-probe", "postgres"} <= steps, result.stdout
    assert "completed with the fix (aegra runtime, isolation bwrap)" in result.stdout
