"""Fetching a task's source into the cache, verified by sha256, and extracting its pristine tree.

- `pypi`: the sdist `<name>-<version>.tar.gz` found through the index's JSON simple API (PEP 691);
- `npm`: the registry's tarball of `<name>@<version>`;
- `bundle`: a git bundle file (path relative to the project file's directory or absolute), checked out at `ref`;
- `git`: a local repository, its tree at `ref` (SWE-bench instances);
- `script`: a script run with the destination directory as its argument.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import shutil
import tarfile
from pathlib import Path

import httpx

from bench.eval.proc import run
from bench.eval.suite import Source, SuiteError

PYPI_SIMPLE = "https://pypi.org/simple"
NPM_REGISTRY = "https://registry.npmjs.org"
_LOCKS: dict[str, asyncio.Lock] = {}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


async def _sdist_url(client: httpx.AsyncClient, index: str, name: str, version: str) -> tuple[str, str]:
    response = await client.get(
        f"{index.rstrip('/')}/{_normalized(name)}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    response.raise_for_status()
    for item in response.json().get("files", []):
        filename = item["filename"]
        if filename.endswith(".tar.gz") and _normalized(filename[: -len(".tar.gz")]) == _normalized(
            f"{name}-{version}"
        ):
            return item["url"], filename
    raise SuiteError(f"no sdist of {name}=={version} on {index}")


async def _npm_url(client: httpx.AsyncClient, registry: str, name: str, version: str) -> tuple[str, str]:
    response = await client.get(f"{registry.rstrip('/')}/{name}/{version}")
    response.raise_for_status()
    url = response.json()["dist"]["tarball"]
    return url, url.rsplit("/", 1)[-1]


async def download(source: Source, cache: Path, *, index: str = PYPI_SIMPLE, registry: str = NPM_REGISTRY) -> Path:
    """The source's archive in `cache/sources/`, downloaded once and checked against its pinned sha256."""
    folder = cache / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    async with _LOCKS.setdefault(source.key, asyncio.Lock()):
        done = folder / f"{source.key}.{source.sha256[:16]}"
        if done.is_file() and hashlib.sha256(done.read_bytes()).hexdigest() == source.sha256:
            return done
        async with httpx.AsyncClient(timeout=120, follow_redirects=True) as client:
            if source.kind == "pypi":
                url, _ = await _sdist_url(client, index, source.name, source.version)
            else:
                url, _ = await _npm_url(client, registry, source.name, source.version)
            response = await client.get(url)
            response.raise_for_status()
        digest = hashlib.sha256(response.content).hexdigest()
        if digest != source.sha256:
            raise SuiteError(f"{url}: sha256 {digest} does not match the pinned {source.sha256}")
        partial = done.with_suffix(".part")
        partial.write_bytes(response.content)
        partial.replace(done)
        return done


def _extract_tar(archive: Path, dest: Path) -> None:
    """Extract a .tar.gz whose members share one top-level folder, without that folder."""
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
        top = {m.name.split("/", 1)[0] for m in members}
        if len(top) != 1:
            raise SuiteError(f"{archive.name}: expected one top-level folder, found {sorted(top)[:5]}")
        for member in members:
            rel = member.name.split("/", 1)[1] if "/" in member.name else ""
            if not rel or rel.startswith("/") or ".." in Path(rel).parts:
                continue
            target = dest / rel
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            extracted = tar.extractfile(member)
            assert extracted is not None
            target.write_bytes(extracted.read())
            target.chmod(0o755 if member.mode & 0o111 else 0o644)


async def pristine(source: Source, cache: Path, *, base: Path, index: str = PYPI_SIMPLE) -> Path:
    """The source's pristine tree, extracted once into `cache/pristine/` (never modified afterwards)."""
    dest = cache / "pristine" / f"{source.key}.{(source.sha256 or source.ref)[:16]}"
    async with _LOCKS.setdefault(f"pristine:{dest}", asyncio.Lock()):
        if (dest / ".complete").is_file():
            return dest
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        if source.kind in ("pypi", "npm"):
            archive = await download(source, cache, index=index)
            await asyncio.to_thread(_extract_tar, archive, dest)
        elif source.kind in ("bundle", "git"):
            origin = Path(source.path) if Path(source.path).is_absolute() else base / source.path
            if source.kind == "bundle":  # a bundle is read through a clone of it
                clone = dest.with_name(dest.name + ".clone")
                shutil.rmtree(clone, ignore_errors=True)
                await run(["git", "clone", "-q", "--bare", str(origin), str(clone)], check=True)
                origin = clone
            await run(
                [
                    "bash",
                    "-c",
                    'set -o pipefail; git -C "$1" archive --format=tar "$2" | tar -x -C "$3"',
                    "sh",
                    str(origin),
                    source.ref,
                    str(dest),
                ],
                check=True,
            )
        elif source.kind == "script":
            script = Path(source.path) if Path(source.path).is_absolute() else base / source.path
            await run([str(script), str(dest)], cwd=script.parent, check=True)
        else:
            raise SuiteError(f"unknown source kind {source.kind!r}")
        (dest / ".complete").write_text("")
        return dest


async def copy_tree(src: Path, dest: Path) -> None:
    """A plain copy of `src` into `dest` (no .complete marker, no .git)."""
    await asyncio.to_thread(
        shutil.copytree,
        src,
        dest,
        ignore=shutil.ignore_patterns(".complete", ".git"),
        symlinks=True,
        dirs_exist_ok=True,
    )
