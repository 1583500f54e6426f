"""Daytona backend: sandboxes from a snapshot, one per thread, deleted after their last use.

The only module that imports the `daytona` SDK. `DaytonaSandbox` runs every operation as one toolbox
request (see `daytona_workspace`); `DaytonaProvider` does get-or-create per thread (reuse started,
start stopped, replace gone or broken), the warm pool, retries and metrics.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import aiohttp
from daytona import (
    AsyncDaytona,
    AsyncSandbox,
    CreateSandboxFromSnapshotParams,
    DaytonaConfig,
    DaytonaConnectionError,
    DaytonaError,
    DaytonaTimeoutError,
    FileUpload,
    ListSandboxesQuery,
)

from coordination.store import CoordinationStore, store_from_url
from sandbox.backend_metrics import metered_provider, metered_sandbox
from sandbox.base import BackendError, Lease, SandboxGone
from sandbox.daytona_compat import (
    delete_by_labels,
    incompatibility,
    server_version,
    tolerate_older_servers,
    unreadable_answer,
)
from sandbox.daytona_pool import WarmPool
from sandbox.daytona_settings import POOL_LABEL, THREAD_LABEL, DaytonaSettings, ReleaseAction, load_settings
from sandbox.daytona_workspace import RemoteWorkspace
from sandbox.metrics import API_ERRORS, ENVIRONMENT_COUNT, EXECUTION_TIME
from sandbox.retry import RetryAdvice, RetryExhausted, RetryPolicy, parse_retry_after, retry_call
from sandbox.secrets import redact
from sandbox.settings import SandboxSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

CREATE_TOKEN_LABEL = "open-swe.create-token"
FILL_LABEL = "open-swe.fill"
FILL_PENDING = "pending"
"""Label of a sandbox created or claimed for a thread and not yet filled (`DaytonaProvider.mark_filled`)."""
DEFAULT_API_URL = "https://app.daytona.io/api"
STOPPED_STATES = frozenset({"stopped", "archived", "paused"})
STARTING_STATES = frozenset({"starting", "restoring", "creating", "pulling_snapshot", "resuming", "pending_build"})


# ---------------------------------------------------------------- errors and retries


def error_kind(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    if status == 429:
        return "rate_limited"
    if status in (404, 410):
        return "not_found"
    if status in (408, 504):
        return "timeout"
    if isinstance(exc, DaytonaTimeoutError) and not isinstance(exc, DaytonaConnectionError):
        return "timeout"
    if status is not None and status >= 500:
        return "server_error"
    if isinstance(exc, DaytonaConnectionError | aiohttp.ClientError | ConnectionError | asyncio.TimeoutError):
        return "connection"
    if status is not None and status >= 400:
        return "client_error"
    return "other"


def classify(exc: BaseException) -> RetryAdvice | None:
    """Retry 429 (after Retry-After), 5xx, 408, connection failures and timeouts; nothing else."""
    kind = error_kind(exc)
    if kind == "rate_limited":
        return RetryAdvice(kind, parse_retry_after(getattr(exc, "headers", None)))
    if kind in ("server_error", "connection", "timeout"):
        return RetryAdvice(kind)
    return None


def classify_unsafe(exc: BaseException) -> RetryAdvice | None:
    """For commands, which must not run twice: retry only what provably never reached the sandbox."""
    status = getattr(exc, "status_code", None)
    if status in (429, 502, 503):
        return classify(exc)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectorError | ConnectionRefusedError):
            return RetryAdvice("connection")
        cause = cause.__cause__ or cause.__context__
    return None


def one_line(text: str, secrets: Sequence[str] = (), limit: int = 300) -> str:
    """Whitespace collapsed, secrets (the service's and `secrets`) redacted, length capped."""
    flat = redact(redact(" ".join(str(text).split()), [s for s in secrets if s]))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class DaytonaApi:
    """One AsyncDaytona client per provider, and the retry/metrics wrapper every call goes through."""

    def __init__(self, settings: DaytonaSettings) -> None:
        self.settings = settings
        self.policy = RetryPolicy(
            deadline=settings.retry_deadline,
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
        )
        self._client: AsyncDaytona | None = None

    @property
    def client(self) -> AsyncDaytona:
        if self._client is None:
            key = self.settings.api_key
            if key is None or not key.get_secret_value():
                raise BackendError("DAYTONA_API_KEY is not set: create an API key in the Daytona dashboard")
            tolerate_older_servers()  # self-hosted Daytona (v0.190) answers in an older shape
            self._client = AsyncDaytona(
                DaytonaConfig(
                    api_key=key.get_secret_value(),
                    api_url=self.settings.api_url or None,
                    target=self.settings.target or None,
                )
            )
        return self._client

    def one_line(self, text: str) -> str:
        key = self.settings.api_key
        return one_line(text, [key.get_secret_value()] if key is not None else [])

    async def call(self, operation: str, fn: Callable[[], Awaitable[T]], *, idempotent: bool = True) -> T:
        def on_retry(advice: RetryAdvice, delay: float) -> None:
            API_ERRORS.labels(advice.kind).inc()
            log.info("daytona %s: %s, retrying in %.2fs", operation, advice.kind, delay)

        with EXECUTION_TIME.labels(operation).time():
            try:
                decide = classify if idempotent else classify_unsafe
                return await retry_call(fn, policy=self.policy, classify=decide, on_retry=on_retry)
            except RetryExhausted as exc:
                API_ERRORS.labels(exc.advice.kind).inc()
                wait = f" (server asked to wait {exc.advice.after:.0f}s)" if exc.advice.after else ""
                attempts = f"after {exc.attempts} attempt(s), {exc.advice.kind}{wait}"
                message = self.one_line(f"Daytona {operation} failed {attempts}: {exc.last}")
                raise BackendError(message) from exc
            except Exception as exc:
                unreadable = unreadable_answer(exc)
                API_ERRORS.labels("incompatible_server" if unreadable else error_kind(exc)).inc()
                if unreadable is not None:
                    version = await server_version(self.api_url)
                    raise BackendError(incompatibility(self.api_url, version, unreadable, operation)) from exc
                raise

    @property
    def api_url(self) -> str:
        return self.settings.api_url or DEFAULT_API_URL

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def state_of(remote: AsyncSandbox) -> str:
    state = remote.state
    return str(getattr(state, "value", state) or "unknown")


# ---------------------------------------------------------------- the sandbox


class DaytonaExecutor:
    """Runs the workspace's scripts through the toolbox; turns failures into one-line sandbox errors."""

    def __init__(self, remote: AsyncSandbox, api: DaytonaApi) -> None:
        self.remote = remote
        self._api = api

    async def execute(
        self, operation: str, command: str, *, env: Mapping[str, str] | None, timeout: float, idempotent: bool
    ) -> tuple[int, str]:
        async def attempt() -> tuple[int, str]:
            variables = dict(env) if env else None
            response = await self.remote.process.exec(command, env=variables, timeout=int(timeout) + 1)
            return (-1 if response.exit_code is None else int(response.exit_code)), response.result or ""

        try:
            return await self._api.call(operation, attempt, idempotent=idempotent)
        except DaytonaError as exc:
            raise await self._explain(operation, exc) from exc

    async def stage(self, files: Mapping[str, bytes]) -> None:
        uploads = [FileUpload(source=data, destination=path) for path, data in files.items()]
        try:
            await self._api.call("stage", lambda: self.remote.fs.upload_files(uploads))
        except DaytonaError as exc:
            raise await self._explain("upload", exc) from exc

    async def _explain(self, operation: str, exc: DaytonaError) -> Exception:
        """Gone or not running -> SandboxGone (the caller re-acquires); anything else -> BackendError."""
        if exc.status_code in (400, 404, 409, 410):
            state: str | None
            try:
                await self.remote.refresh_data()
                state = state_of(self.remote)
            except DaytonaError as probe:
                state = "destroyed" if probe.status_code in (404, 410) else None
            if state is not None and state != "started":
                return SandboxGone(
                    f"Daytona sandbox {self.remote.id} is {state} (deleted, expired or stopped): acquire again"
                )
        if exc.status_code == 408:
            return BackendError(f"Daytona {operation} exceeded the sandbox daemon's timeout")
        return BackendError(self._api.one_line(f"Daytona {operation} failed: {exc}"))


@metered_sandbox("daytona")
class DaytonaSandbox(RemoteWorkspace):
    """One Daytona sandbox; every operation is one toolbox request (large uploads: two)."""

    def __init__(self, remote: AsyncSandbox, api: DaytonaApi, sandbox_settings: SandboxSettings) -> None:
        self._executor_impl = DaytonaExecutor(remote, api)
        self._api = api
        super().__init__(self._executor_impl, api.settings.workspace_dir, sandbox_settings)

    @property
    def id(self) -> str:
        return self._executor_impl.remote.id

    @property
    def remote(self) -> AsyncSandbox:
        return self._executor_impl.remote

    async def git_clone(
        self, url: str, path: str = ".", *, branch: str | None = None, depth: int | None = None
    ) -> None:
        """Clone through the toolbox's git API (one request) into a workspace path."""
        target = self._absolute(path)
        try:
            clone = self.remote.git.clone
            await self._api.call("clone", lambda: clone(url, target, branch=branch, depth=depth))
        except DaytonaError as exc:
            raise await self._executor_impl._explain("clone", exc) from exc


# ---------------------------------------------------------------- the provider


@metered_provider("daytona")
class DaytonaProvider:
    """Get-or-create one Daytona sandbox per thread; an optional warm pool shared through the store."""

    def __init__(
        self,
        settings: DaytonaSettings | None = None,
        *,
        store: CoordinationStore | None = None,
        sandbox_settings: SandboxSettings | None = None,
        daytona_settings: DaytonaSettings | None = None,
    ) -> None:
        """`daytona_settings` is `settings` under a name `registry.create_provider(...)` can pass through."""
        self.settings = settings or daytona_settings or load_settings()
        self._sandbox_settings = sandbox_settings or SandboxSettings()
        self._owns_store = store is None
        self._store = store if store is not None else store_from_url(self.settings.redis_url)
        self._api = DaytonaApi(self.settings)
        self._held: dict[str, AsyncSandbox] = {}
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.pool: WarmPool[AsyncSandbox] | None = None
        if self.settings.pool_size > 0:
            stop_after = self.settings.auto_stop_minutes * 60
            self.pool = WarmPool(
                self._store,
                queue=f"daytona-pool:{self.settings.service_label}:{self.settings.snapshot}",
                size=self.settings.pool_size,
                lifetime=max(1.0, stop_after * 0.9) if stop_after else None,
                create=self._create_for_pool,
                discard=self._delete_id,
                refill_lock_ttl=self.settings.create_timeout * 2 + 30,
            )

    @property
    def name(self) -> str:
        return "daytona"

    @property
    def _rt(self) -> float:
        """Client-side timeout of one control-plane request."""
        return self.settings.request_timeout

    async def acquire(self, thread_id: str, *, sandbox_id: str | None = None, project_path: str | None = None) -> Lease:
        """`project_path` is not used: a fresh lease tells the caller to clone into the workspace."""
        if not thread_id:
            raise ValueError("thread_id must not be empty")
        lock = self._locks.get(thread_id)
        if lock is None:
            lock = self._locks[thread_id] = asyncio.Lock()
        async with lock:
            with EXECUTION_TIME.labels("acquire").time():
                remote = await self._existing(thread_id, sandbox_id)
                if remote is not None and (ready := await self._ready(remote)) is not None:
                    if ready.labels.get(FILL_LABEL) != FILL_PENDING:
                        return self._lease(ready, fresh=False)
                    return await self._pending(ready)
                return self._lease(await self._fresh(thread_id), fresh=True)

    async def mark_filled(self, sandbox_id: str) -> None:
        """The caller populated a fresh lease (cloned the repository): from now on the sandbox is reused as is.

        Until then the sandbox carries the label `open-swe.fill=pending` (set when it is created or claimed for a
        thread), so one whose create answer came too late or whose clone failed (its workspace is empty) is found
        again as fresh, not as a workspace ready to work on."""
        remote = self._held.get(sandbox_id) or await self._get(sandbox_id)
        if remote is None or remote.labels.get(FILL_LABEL) != FILL_PENDING:
            return
        labels = {k: v for k, v in remote.labels.items() if k != FILL_LABEL}
        await self._control("labels", lambda: remote.set_labels(labels, request_timeout=self._rt))

    async def _pending(self, remote: AsyncSandbox) -> Lease:
        """A sandbox created for the thread whose filling was never confirmed. An empty workspace was never filled
        (the create answer came too late, or the clone failed: git removes what it cloned): leased as fresh, to be
        filled. A workspace with files in it is kept as it is (never deleted) and counts as filled."""
        lease = self._lease(remote, fresh=False)
        probe = await lease.sandbox.exec("find . -mindepth 1 -print -quit", timeout=60)
        if probe.ok and not probe.output.strip():
            log.warning("sandbox %s was created but never filled (late create answer or failed clone)", remote.id)
            return Lease(lease.sandbox, fresh=True, backend=self.name)
        await self.mark_filled(remote.id)
        return lease

    async def release(self, sandbox_id: str, *, delete: bool | None = None) -> None:
        remote = self._held.pop(sandbox_id, None)
        if remote is not None:
            ENVIRONMENT_COUNT.dec()
        else:
            remote = await self._get(sandbox_id)
            if remote is None:
                return
        if delete is None:
            delete = self.settings.release_action is ReleaseAction.DELETE
        try:
            if delete:
                await self._api.call("delete", lambda: remote.delete(timeout=self._rt))
            else:
                await self._api.call("stop", lambda: remote.stop(timeout=self.settings.start_timeout))
        except DaytonaError as exc:
            if exc.status_code not in (404, 410):
                message = self._api.one_line(f"Daytona release of {sandbox_id} failed: {exc}")
                raise BackendError(message) from exc

    async def touch(self, sandbox_id: str) -> bool:
        """Refresh a started sandbox's activity (its idle clock restarts); False when it is gone or not running."""
        remote = self._held.get(sandbox_id) or await self._get(sandbox_id)
        if remote is None:
            return False
        await self._control("activity", lambda: remote.refresh_activity(request_timeout=self._rt))
        await self._api.call("refresh", lambda: remote.refresh_data())
        return state_of(remote) == "started"

    async def warm_up(self) -> int:
        """Fill the warm pool now (e.g. at service start). Returns the sandboxes added by this process."""
        return await self.pool.refill() if self.pool is not None else 0

    async def aclose(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()
        ENVIRONMENT_COUNT.dec(len(self._held))
        self._held.clear()
        await self._api.aclose()
        if self._owns_store:
            await self._store.aclose()

    # ------------------------------------------------------------ lifecycle steps

    def _lease(self, remote: AsyncSandbox, *, fresh: bool) -> Lease:
        if remote.id not in self._held:
            ENVIRONMENT_COUNT.inc()
        self._held[remote.id] = remote
        sandbox = DaytonaSandbox(remote, self._api, self._sandbox_settings)
        return Lease(sandbox, fresh=fresh, backend=self.name)

    async def _existing(self, thread_id: str, sandbox_id: str | None) -> AsyncSandbox | None:
        """The thread's sandbox: the id from graph state first, else a lookup by labels (after a restart)."""
        if sandbox_id:
            remote = await self._get(sandbox_id)
            if remote is not None and remote.labels.get(THREAD_LABEL) == thread_id:
                return remote
            if remote is not None:
                log.warning("sandbox %s belongs to another thread; ignoring it", sandbox_id)
        query = ListSandboxesQuery(labels=self.settings.labels_for(thread_id))

        async def first() -> AsyncSandbox | None:
            found = [s async for s in self._api.client.list(query, request_timeout=self._rt)]
            found.sort(key=lambda s: state_of(s) != "started")
            return found[0] if found else None

        return await self._control("lookup", first)

    async def _ready(self, remote: AsyncSandbox) -> AsyncSandbox | None:
        """Started -> as is; stopped/archived -> started; starting -> waited for; gone or broken -> None."""
        state = state_of(remote)
        timeout = self.settings.start_timeout
        try:
            if state == "started":
                return remote
            if state == "stopping":
                await self._api.call("stop", lambda: remote.wait_for_sandbox_stop(timeout=timeout))
                state = state_of(remote)
            if state in STOPPED_STATES:
                await self._api.call("start", lambda: remote.start(timeout=timeout))
                return remote
            if state in STARTING_STATES:
                await self._api.call("start", lambda: remote.wait_for_sandbox_start(timeout=timeout))
                return remote
        except (DaytonaError, BackendError) as exc:
            reason = self._api.one_line(str(exc))
            log.warning("sandbox %s could not be started (%s); replacing it", remote.id, reason)
        if state not in ("destroyed", "destroying"):
            await self._delete_quietly(remote)
        return None

    async def _fresh(self, thread_id: str) -> AsyncSandbox:
        if self.pool is not None:
            claimed = await self.pool.claim(lambda sid: self._claim(sid, thread_id))
            if claimed is not None:
                return claimed
        return await self._create(self.settings.labels_for(thread_id) | {FILL_LABEL: FILL_PENDING})

    async def _claim(self, sandbox_id: str, thread_id: str) -> AsyncSandbox | None:
        remote = await self._get(sandbox_id)
        if remote is None or state_of(remote) != "started":
            return None
        kept = {k: v for k, v in remote.labels.items() if k != POOL_LABEL}
        labels = kept | self.settings.labels_for(thread_id) | {FILL_LABEL: FILL_PENDING}
        await self._control("labels", lambda: remote.set_labels(labels, request_timeout=self._rt))
        # Its idle clock restarts now: a sandbox claimed late in its pool life must not stop under the thread.
        await self._control("activity", lambda: remote.refresh_activity(request_timeout=self._rt))
        return remote

    async def _create_for_pool(self) -> str:
        labels = self.settings.labels_for() | {POOL_LABEL: self.settings.snapshot}
        return (await self._create(labels)).id

    async def _create(self, labels: dict[str, str]) -> AsyncSandbox:
        """Create from the snapshot; a timed-out create deletes its half-made sandbox; a retried create first
        adopts the sandbox an earlier attempt may have made (found by its one-off token label)."""
        s = self.settings
        token = uuid.uuid4().hex
        attempts = 0

        async def attempt() -> AsyncSandbox:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                query = ListSandboxesQuery(labels={CREATE_TOKEN_LABEL: token})
                async for orphan in self._api.client.list(query, request_timeout=s.request_timeout):
                    if state_of(orphan) == "started":
                        return orphan
                    await self._delete_quietly(orphan)
            params = CreateSandboxFromSnapshotParams(
                snapshot=s.snapshot,
                os_user=s.os_user,
                env_vars={},
                labels=labels | {CREATE_TOKEN_LABEL: token},
                auto_stop_interval=s.auto_stop_minutes,
                auto_delete_interval=s.auto_delete_minutes,
                network_block_all=s.network_block_all,
                language="python",
            )
            try:
                return await self._api.client.create(params, timeout=s.create_timeout)
            except DaytonaTimeoutError as exc:
                if exc.sandbox_id:
                    await self._delete_id(exc.sandbox_id)
                raise
            except DaytonaError as exc:
                if unreadable_answer(exc) is not None:  # it was created, but the SDK cannot read it: delete it
                    await self._delete_unreadable({CREATE_TOKEN_LABEL: token})
                raise

        return await self._control("create", attempt)

    async def _control(self, operation: str, fn: Callable[[], Awaitable[T]]) -> T:
        try:
            return await self._api.call(operation, fn)
        except DaytonaError as exc:
            raise BackendError(self._api.one_line(f"Daytona {operation} failed: {exc}")) from exc

    async def _get(self, sandbox_id: str) -> AsyncSandbox | None:
        try:
            client = self._api.client
            return await self._api.call("get", lambda: client.get(sandbox_id, request_timeout=self._rt))
        except DaytonaError as exc:
            if exc.status_code in (404, 410):
                return None
            raise BackendError(self._api.one_line(f"Daytona get of {sandbox_id} failed: {exc}")) from exc

    async def _delete_unreadable(self, labels: dict[str, str]) -> None:
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        try:
            deleted = await delete_by_labels(self._api.api_url, key, labels, timeout=self._rt)
            log.warning("deleted %d sandbox(es) whose creation answer could not be read", deleted)
        except Exception as exc:
            log.error("could not delete a sandbox whose creation answer was unreadable (%s): %s", labels, exc)

    async def _delete_id(self, sandbox_id: str) -> None:
        remote = await self._get(sandbox_id)
        if remote is not None:
            await self._delete_quietly(remote)

    async def _delete_quietly(self, remote: AsyncSandbox) -> None:
        try:
            await self._api.call("delete", lambda: remote.delete(timeout=self._rt))
        except Exception as exc:
            log.warning("deleting sandbox %s failed: %s", remote.id, self._api.one_line(str(exc)))
