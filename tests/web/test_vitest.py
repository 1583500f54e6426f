"""The web page's own unit tests (vitest, service/web/src/**/*.test.ts[x]) run with the suite, against the exact
dependencies of service/web/package-lock.json (installed from the npm registry by `npm ci` when missing)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "service" / "web"


def _npm() -> str:
    npm, node = shutil.which("npm"), shutil.which("node")
    assert npm and node, "node 20+ and npm are needed for the web page's tests (the machine image has them)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"node {version} is too old for vite 8: install node 20+"
    return npm


def _installed_matches_lock() -> bool:
    installed = WEB / "node_modules" / ".package-lock.json"
    if not installed.is_file():
        return False
    wanted = json.loads((WEB / "package-lock.json").read_text())["packages"]
    have = json.loads(installed.read_text())["packages"]
    return all(have.get(name, {}).get("version") == spec.get("version") for name, spec in wanted.items() if name)


def test_the_web_pages_unit_tests_pass():
    npm = _npm()
    if not _installed_matches_lock():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)
    result = subprocess.run([npm, "test", "--silent"], cwd=WEB, capture_output=True, text=True, timeout=300, env=None)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
