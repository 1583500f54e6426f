"""The server's sandboxes: one record and one host directory each, plus per-route request counters."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HOME = "/home/daytona"
CURRENT_VERSION = "0.205.0"
SELF_HOSTED_VERSION = "0.190.0"
"""The open-source server, archived at v0.190: its Sandbox JSON has no `kvm`, and `GET /sandbox` answers a bare
array (the `{items, nextCursor}` page came later)."""
V0190_MISSING = frozenset({"kvm"})
TOOLBOX_ROUTES = frozenset(
    {"execute", "upload", "download", "list_files", "file_info", "clone", "folder", "delete_file"}
)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class SandboxRecord:
    id: str
    name: str
    user: str
    snapshot: str | None
    env: dict[str, str]
    labels: dict[str, str]
    directory: Path
    auto_stop_interval: int = 15
    auto_delete_interval: int = -1
    network_block_all: bool = False
    state: str = "started"
    created_at: float = field(default_factory=time.time)
    last_activity: float = field(default_factory=time.monotonic)
    stopped_at: float | None = None

    @property
    def home(self) -> Path:
        return self.directory / "home"

    @property
    def tmp(self) -> Path:
        return self.directory / "tmp"

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def to_json(self, toolbox_url: str, *, omit: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The Sandbox JSON; `omit` drops fields an older server does not send (v0.190: `kvm`)."""
        full = {
            "id": self.id,
            "organizationId": "org-test",
            "name": self.name,
            "snapshot": self.snapshot,
            "user": self.user,
            "env": dict(self.env),
            "labels": dict(self.labels),
            "public": False,
            "networkBlockAll": self.network_block_all,
            "kvm": False,
            "target": "local",
            "cpu": 2,
            "gpu": 0,
            "memory": 4,
            "disk": 5,
            "state": self.state,
            "autoStopInterval": self.auto_stop_interval,
            "autoArchiveInterval": 10080,
            "autoDeleteInterval": self.auto_delete_interval,
            "createdAt": _iso(self.created_at),
            "updatedAt": _iso(time.time()),
            "toolboxProxyUrl": toolbox_url,
        }
        return {name: value for name, value in full.items() if name not in omit}


class ServerState:
    """All sandboxes of one server. Handlers run on the server's loop; tests read it from their own thread."""

    def __init__(self, root: Path, *, minute_seconds: float = 60.0, version: str = CURRENT_VERSION) -> None:
        self.root = root
        self.version = version
        """The server version /api/config reports; "0.190.0" answers in the shape of self-hosted Daytona."""
        self.omit: frozenset[str] = V0190_MISSING if version == SELF_HOSTED_VERSION else frozenset()
        """Sandbox JSON fields left out (tests may add more, to play a server the backend cannot read)."""
        self.minute_seconds = minute_seconds
        """Length of a Daytona 'minute' for auto-stop/auto-delete (tests shrink it)."""
        self.sandboxes: dict[str, SandboxRecord] = {}
        self.counts: Counter[str] = Counter()
        self.deleted: list[str] = []
        self._lock = threading.Lock()

    def count(self, route: str) -> None:
        with self._lock:
            self.counts[route] += 1

    def toolbox_requests(self) -> int:
        with self._lock:
            return sum(n for route, n in self.counts.items() if route in TOOLBOX_ROUTES)

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()

    def create(self, body: dict[str, Any]) -> SandboxRecord:
        sandbox_id = uuid.uuid4().hex[:16]
        directory = self.root / sandbox_id
        (directory / "home").mkdir(parents=True)
        (directory / "tmp").mkdir()
        record = SandboxRecord(
            id=sandbox_id,
            name=body.get("name") or sandbox_id,
            user=body.get("user") or "daytona",
            snapshot=body.get("snapshot"),
            env=dict(body.get("env") or {}),
            labels=dict(body.get("labels") or {}),
            directory=directory,
            auto_stop_interval=int(body.get("autoStopInterval", 15) or 0),
            auto_delete_interval=int(body["autoDeleteInterval"]) if body.get("autoDeleteInterval") is not None else -1,
            network_block_all=bool(body.get("networkBlockAll")),
        )
        with self._lock:
            self.sandboxes[sandbox_id] = record
        return record

    def find(self, id_or_name: str) -> SandboxRecord | None:
        with self._lock:
            record = self.sandboxes.get(id_or_name)
            if record is None:
                record = next((r for r in self.sandboxes.values() if r.name == id_or_name), None)
            return record

    def destroy(self, sandbox_id: str) -> bool:
        """Delete a sandbox and its directory (also how tests make one vanish behind the client's back)."""
        with self._lock:
            record = self.sandboxes.pop(sandbox_id, None)
            if record is not None:
                self.deleted.append(sandbox_id)
        if record is None:
            return False
        record.state = "destroyed"
        shutil.rmtree(record.directory, ignore_errors=True)
        return True

    def stop(self, record: SandboxRecord) -> None:
        record.state = "stopped"
        record.stopped_at = time.monotonic()
        if record.auto_delete_interval == 0:
            self.destroy(record.id)

    def expire(self) -> None:
        """Apply auto-stop (inactivity) and auto-delete (time since stop), in scaled minutes."""
        now = time.monotonic()
        with self._lock:
            records = list(self.sandboxes.values())
        for record in records:
            if (
                record.state == "started"
                and record.auto_stop_interval > 0
                and now - record.last_activity >= record.auto_stop_interval * self.minute_seconds
            ):
                self.stop(record)
            elif (
                record.state == "stopped"
                and record.auto_delete_interval >= 0
                and record.stopped_at is not None
                and now - record.stopped_at >= record.auto_delete_interval * self.minute_seconds
            ):
                self.destroy(record.id)

    def list(self, labels: dict[str, str], states: set[str]) -> list[SandboxRecord]:
        with self._lock:
            records = list(self.sandboxes.values())
        return [
            r
            for r in records
            if all(r.labels.get(k) == v for k, v in labels.items()) and (not states or r.state in states)
        ]

    def host_path(self, record: SandboxRecord, path: str) -> Path | None:
        """Map an in-sandbox path (absolute, or relative to the home) to the host; None when outside."""
        if not path.startswith("/"):
            path = f"{HOME}/{path}"
        for prefix, base in ((HOME, record.home), ("/tmp", record.tmp)):
            if path == prefix or path.startswith(prefix + "/"):
                candidate = (base / path[len(prefix) :].lstrip("/")).resolve()
                if candidate == base.resolve() or base.resolve() in candidate.parents:
                    return candidate
                return None
        return None
