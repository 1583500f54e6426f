"""Fixtures of the browser tests: one real server per module (the scripted model, two API keys, one allowed
browser origin), static servers that serve the page from other origins, and headless Chromium via Playwright."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.http.apikeys import hash_key
from agent.http.web import WEB_DIST
from tests.support.fixture_repo import FixtureRepo, ask_first_policy, create_fixture_repo
from tests.support.langgraph_server import LangGraphServer, running_server
from tests.support.net import free_port
from tests.support.scripted_openai import ScriptedOpenAI

ALICE_KEY = "osk_web_alice_0123456789abcdef"
BOB_KEY = "osk_web_bob_fedcba9876543210"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TICKET_TTL = 3.0


class StaticOrigin:
    """The page's bundle served from another origin (a separate front-end deployment): `/` and `/web/...`."""

    def __init__(self, root: Path) -> None:
        site = root / "site"
        shutil.copytree(WEB_DIST, site / "web")
        shutil.copy2(WEB_DIST / "index.html", site / "index.html")
        self.port = free_port()
        handler = partial(_QuietHandler, directory=str(site))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StaticOrigin:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def origins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StaticOrigin, StaticOrigin]]:
    """(allowed, refused): the same page from two other local origins; only the first is in CORS_ALLOW_ORIGINS."""
    root = tmp_path_factory.mktemp("origins")
    with StaticOrigin(root / "allowed") as allowed, StaticOrigin(root / "refused") as refused:
        yield allowed, refused


@pytest.fixture(scope="module")
def scripted_model() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(ask_first_policy) as server:
        yield server


@pytest.fixture(scope="module")
def server(
    scripted_model: ScriptedOpenAI,
    origins: tuple[StaticOrigin, StaticOrigin],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LangGraphServer]:
    root = tmp_path_factory.mktemp("web-service")
    env = {
        "OPENAI_BASE_URL": scripted_model.base_url,
        "OPENAI_API_KEY": "sk-scripted-web",
        "MODEL": "scripted",
        "API_KEYS": f"alice:{hash_key(ALICE_KEY)},bob:{hash_key(BOB_KEY)}",
        "OPEN_SWE_STATE_DIR": str(root / "state"),
        "OPEN_SWE_LOCAL_MODE": "true",
        "SANDBOX_WORKSPACE_MODE": "in_place",
        "SANDBOX_ISOLATION": "none",  # these tests are about the page; the sandbox's isolation has its own
        "CORS_ALLOW_ORIGINS": origins[0].url,
        "WS_TICKET_TTL": str(TICKET_TTL),
    }
    with running_server(root / "srv", env) as srv:
        yield srv


@pytest.fixture
def new_repo(tmp_path: Path) -> Iterator[FixtureRepo]:
    yield create_fixture_repo(tmp_path / "repo")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "the browser tests need Debian's chromium: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
