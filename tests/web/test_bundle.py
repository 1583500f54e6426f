"""The committed web bundle (service/web/dist) is built from the committed sources, and is what the service serves.

The hash below mirrors service/web/scripts/source-hash.mjs, which `npm run build` runs to write dist/source.sha256.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from agent.http.web import WEB_DIST

WEB = Path(__file__).resolve().parents[2] / "service" / "web"
FILES = ("index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts")


def source_hash(root: Path = WEB) -> str:
    sources = [
        p.relative_to(root).as_posix()
        for p in (root / "src").rglob("*")
        if p.is_file() and not re.search(r"\.test\.tsx?$", p.name)
    ]
    digest = hashlib.sha256()
    for path in sorted([*FILES, *sources]):
        digest.update(path.encode() + b"\0")
        digest.update((root / path).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def test_the_bundle_was_built_from_the_current_sources():
    recorded = (WEB / "dist" / "source.sha256").read_text().strip()
    assert recorded == source_hash(), "service/web/dist is stale: run `make web` and commit service/web/dist"


def test_the_service_serves_this_bundle_and_it_is_complete_and_small():
    assert WEB_DIST == WEB / "dist"
    index = (WEB_DIST / "index.html").read_text()
    assets = re.findall(r'(?:src|href)="/web/([^"]+)"', index)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert (WEB_DIST / asset).is_file(), asset
    total = sum(p.stat().st_size for p in WEB_DIST.rglob("*") if p.is_file())
    assert total < 150_000, f"the bundle grew to {total} bytes"
