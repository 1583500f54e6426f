"""Browser access settings (agent/http/cors.py) and how `python -m agent.serve` hands them to LangGraph's server."""

from __future__ import annotations

import json

import pytest
import typer

from agent.http.cors import BrowserSettings, cors_config, normalize_origin, origin_allowed, parse_origins
from agent.serve import server_env
from tests.support.langgraph_server import REPO_ROOT


def test_origins_are_normalized():
    assert normalize_origin("HTTPS://App.Example.com/") == "https://app.example.com"
    assert normalize_origin("https://app.example.com:443") == "https://app.example.com"
    assert normalize_origin("http://localhost:5173") == "http://localhost:5173"


@pytest.mark.parametrize("bad", ["app.example.com", "ftp://x", "https://x/path", "https://x?q=1", "https://u@x"])
def test_anything_but_an_origin_is_refused(bad):
    with pytest.raises(ValueError, match="not an origin"):
        normalize_origin(bad)


def test_a_wildcard_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="takes credentials"):
        parse_origins("https://a.example, *")


def test_empty_means_same_origin_only(monkeypatch):
    monkeypatch.delenv("CORS_ALLOW_ORIGINS", raising=False)
    assert BrowserSettings(_env_file=None).origins == ()
    assert cors_config(())["allow_origins"] == []


def test_the_configuration_never_combines_origins_with_credentials():
    config = cors_config(("https://a.example",))
    assert config["allow_origins"] == ["https://a.example"]
    assert config["allow_credentials"] is False
    assert "*" not in config["allow_origins"]


def test_websocket_origins():
    allowed = ("https://app.example.com",)
    assert origin_allowed(None, "api.example.com", allowed)  # not a browser
    assert origin_allowed("https://app.example.com", "api.example.com", allowed)
    assert origin_allowed("http://127.0.0.1:2024", "127.0.0.1:2024", allowed)  # same origin
    assert origin_allowed("https://api.example.com", "api.example.com", allowed)  # behind a TLS proxy
    assert not origin_allowed("http://127.0.0.1:9999", "127.0.0.1:2024", allowed)
    assert not origin_allowed("https://evil.example", "api.example.com", allowed)
    assert not origin_allowed("null", "api.example.com", allowed)
    assert not origin_allowed("https://evil.example", None, allowed)


def test_serve_passes_the_origins_to_langgraphs_cors_middleware(monkeypatch):
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://a.example/,http://localhost:5173")
    monkeypatch.delenv("CORS_CONFIG", raising=False)
    config = json.loads(server_env(None)["CORS_CONFIG"])
    assert config["allow_origins"] == ["https://a.example", "http://localhost:5173"]
    assert config["allow_credentials"] is False


def test_serve_defaults_to_same_origin_only(monkeypatch):
    monkeypatch.delenv("CORS_ALLOW_ORIGINS", raising=False)
    monkeypatch.delenv("CORS_CONFIG", raising=False)
    monkeypatch.chdir("/")  # no .env
    assert json.loads(server_env(None)["CORS_CONFIG"])["allow_origins"] == []


def test_serve_keeps_an_explicit_cors_config(monkeypatch):
    monkeypatch.setenv("CORS_CONFIG", '{"allow_origins": ["https://b.example"]}')
    assert json.loads(server_env(None)["CORS_CONFIG"]) == {"allow_origins": ["https://b.example"]}


def test_serve_refuses_a_wildcard(monkeypatch, capsys):
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "*")
    monkeypatch.delenv("CORS_CONFIG", raising=False)
    with pytest.raises(typer.Exit) as exit_info:
        server_env(None)
    assert exit_info.value.exit_code == 2
    assert "CORS_ALLOW_ORIGINS='*' is refused" in capsys.readouterr().err


def test_langgraph_json_allows_no_other_origin_by_default():
    """Deployed without `agent.serve` (LangGraph Platform), LangGraph reads `http.cors`; its default would be '*'."""
    cors = json.loads((REPO_ROOT / "langgraph.json").read_text())["http"]["cors"]
    assert cors["allow_origins"] == [] and cors["allow_credentials"] is False
