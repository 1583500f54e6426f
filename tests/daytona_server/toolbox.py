"""Toolbox routes (the daemon inside each sandbox), reached at /toolbox/{sid}/... like Daytona's toolbox proxy."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat as stat_module
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import BodyPartReader, web

from tests.daytona_server import process
from tests.daytona_server.responses import STATE_KEY, ErrorResponse
from tests.daytona_server.state import HOME, SandboxRecord

BOUNDARY = "DAYTONA-FILE-BOUNDARY"
DAEMON = "DAYTONA_DAEMON"
DEFAULT_EXEC_TIMEOUT = 10  # the daemon's documented default


def running(request: web.Request) -> SandboxRecord:
    sid = request.match_info["sid"]
    record = request.app[STATE_KEY].find(sid)
    if record is None:
        raise ErrorResponse(404, f"sandbox {sid} not found", source="DAYTONA_PROXY")
    if record.state != "started":
        raise ErrorResponse(409, f"sandbox {sid} is not started (state: {record.state})", source="DAYTONA_PROXY")
    record.touch()
    return record


def resolve(request: web.Request, record: SandboxRecord, path: str) -> Path:
    host = request.app[STATE_KEY].host_path(record, path)
    if host is None:
        raise ErrorResponse(403, f"access denied: {path}", code="FILE_ACCESS_DENIED", source=DAEMON)
    return host


async def execute(request: web.Request) -> web.Response:
    record = running(request)
    body = await request.json()
    timeout = body.get("timeout") or DEFAULT_EXEC_TIMEOUT
    result = await process.run(
        record, process.shell_argv(body["command"]), cwd=body.get("cwd"), env=body.get("envs"), timeout=timeout
    )
    record.touch()  # activity lasts until the command ends
    if result.timed_out:
        raise ErrorResponse(408, f"command execution timeout after {timeout}s", source=DAEMON)
    text = result.output.decode("utf-8", errors="replace")
    return web.json_response({"exitCode": result.exit_code, "result": text})


async def upload(request: web.Request) -> web.Response:
    record = running(request)
    reader = await request.multipart()
    paths: dict[str, str] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):  # the SDK sends flat form data, never nested multipart
            raise ErrorResponse(400, "nested multipart is not supported", source=DAEMON)
        name = part.name or ""
        if name.endswith(".path"):
            paths[name[: -len(".path")]] = (await part.read()).decode()
        elif name.endswith(".file"):
            key = name[: -len(".file")]
            target = resolve(request, record, paths.get(key) or part.filename or "")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(await part.read(decode=False))
    return web.Response(status=200)


def _error_part(path: str, status: int, message: str, code: str) -> bytes:
    payload = json.dumps({"message": message, "statusCode": status, "code": code, "source": DAEMON})
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="error"; filename="{path}"\r\n'
        f"Content-Type: application/json\r\n\r\n{payload}\r\n"
    ).encode()


async def download(request: web.Request) -> web.StreamResponse:
    record = running(request)
    paths = (await request.json()).get("paths") or []
    response = web.StreamResponse(headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    await response.prepare(request)
    for path in paths:
        host = request.app[STATE_KEY].host_path(record, path)
        if host is None or not host.is_file():
            status, code = (403, "FILE_ACCESS_DENIED") if host is None else (404, "FILE_NOT_FOUND")
            await response.write(_error_part(path, status, f"cannot read {path}", code))
            continue
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        await response.write(head + host.read_bytes() + b"\r\n")
    await response.write(f"--{BOUNDARY}--\r\n".encode())
    await response.write_eof()
    return response


def _file_info(path: Path, shown: str) -> dict[str, object]:
    st = path.lstat()
    modified = datetime.fromtimestamp(st.st_mtime, UTC)
    return {
        "name": path.name,
        "path": shown,
        "isDir": stat_module.S_ISDIR(st.st_mode),
        "size": st.st_size,
        "mode": stat_module.filemode(st.st_mode),
        "permissions": oct(st.st_mode & 0o777),
        "owner": "daytona",
        "group": "daytona",
        "modTime": str(modified),
        "modifiedAt": modified.isoformat(),
    }


def _shown(record: SandboxRecord, host: Path) -> str:
    for prefix, base in ((HOME, record.home), ("/tmp", record.tmp)):
        if host == base or base in host.parents:
            return f"{prefix}/{host.relative_to(base)}".rstrip("/.") or prefix
    return str(host)


async def list_files(request: web.Request) -> web.Response:
    record = running(request)
    host = resolve(request, record, request.query.get("path") or HOME)
    depth = int(request.query.get("depth") or 1)
    if not host.is_dir():
        raise ErrorResponse(
            404, f"directory not found: {request.query.get('path')}", code="FILE_NOT_FOUND", source=DAEMON
        )
    entries: list[dict[str, object]] = []
    level = [host]
    for _ in range(depth):
        following: list[Path] = []
        for directory in level:
            for child in sorted(directory.iterdir()):
                entries.append(_file_info(child, _shown(record, child)))
                if child.is_dir() and not child.is_symlink():
                    following.append(child)
        level = following
    return web.json_response(entries)


async def file_info(request: web.Request) -> web.Response:
    record = running(request)
    host = resolve(request, record, request.query.get("path") or "")
    if not await asyncio.to_thread(os.path.lexists, host):
        raise ErrorResponse(404, f"file not found: {request.query.get('path')}", code="FILE_NOT_FOUND", source=DAEMON)
    return web.json_response(_file_info(host, _shown(record, host)))


async def create_folder(request: web.Request) -> web.Response:
    record = running(request)
    resolve(request, record, request.query.get("path") or "").mkdir(parents=True, exist_ok=True)
    return web.Response(status=200)


async def delete_file(request: web.Request) -> web.Response:
    record = running(request)
    host = resolve(request, record, request.query.get("path") or "")
    if host.is_dir() and not host.is_symlink():
        shutil.rmtree(host)
    else:
        host.unlink(missing_ok=True)
    return web.Response(status=200)


async def clone(request: web.Request) -> web.Response:
    """The daemon clones by itself (not as a user command): here git runs on the host into the sandbox directory."""
    record = running(request)
    body = await request.json()
    target = resolve(request, record, body["path"])
    argv = ["git", "clone", "--quiet"]
    if body.get("branch"):
        argv += ["--branch", body["branch"]]
    if body.get("depth"):
        argv += ["--depth", str(body["depth"])]
    argv += ["--", body["url"], str(target)]
    env = {"PATH": process.BASE_PATH, "HOME": str(record.home), "GIT_TERMINAL_PROMPT": "0"}
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    output, _ = await proc.communicate()
    if proc.returncode != 0:
        lines = output.decode("utf-8", errors="replace").strip().splitlines()
        raise ErrorResponse(400, lines[-1] if lines else "git clone failed", code="GIT_CLONE_FAILED", source=DAEMON)
    if body.get("commit_id"):
        checkout = await asyncio.create_subprocess_exec(
            "git", "-C", str(target), "checkout", "-q", body["commit_id"], env=env
        )
        await checkout.wait()
    return web.Response(status=200)


def add_routes(router: web.UrlDispatcher) -> None:
    base = "/toolbox/{sid}"
    router.add_post(f"{base}/process/execute", execute, name="execute")
    router.add_post(f"{base}/files/bulk-upload", upload, name="upload")
    router.add_post(f"{base}/files/bulk-download", download, name="download")
    router.add_get(f"{base}/files", list_files, name="list_files")
    router.add_delete(f"{base}/files", delete_file, name="delete_file")
    router.add_get(f"{base}/files/info", file_info, name="file_info")
    router.add_post(f"{base}/files/folder", create_folder, name="folder")
    router.add_post(f"{base}/git/clone", clone, name="clone")
