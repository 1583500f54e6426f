"""Output capping and secret handling shared by every backend."""

from __future__ import annotations

import logging

import pytest

from sandbox.output import OutputCap, cap_text, decode
from sandbox.secrets import REDACTED, RedactingFilter, command_env, redact, secret_values


def test_output_cap_keeps_head_and_tail_with_marker() -> None:
    cap = OutputCap(limit=10)
    for chunk in (b"HEAD-", b"x" * 1000, b"-TAIL"):
        cap.feed(chunk)
    text = cap.text()
    assert cap.truncated and cap.total == 1010
    assert text.startswith("HEAD-") and text.endswith("-TAIL")
    assert "[... 1000 bytes omitted ...]" in text


def test_output_cap_below_limit_is_verbatim() -> None:
    cap = OutputCap(limit=100)
    cap.feed(b"hello\n")
    assert not cap.truncated and cap.text() == "hello\n"


def test_decode_replaces_invalid_utf8_and_nul() -> None:
    assert decode(b"ok \xff\xfe \x00 end") == "ok \ufffd\ufffd \ufffd end"


def test_cap_text() -> None:
    text, truncated = cap_text("a" * 100, limit=20)
    assert truncated and "omitted" in text
    assert cap_text("short", limit=20) == ("short", False)


def test_command_env_drops_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    env = command_env({"FOO": "bar"}, allowlist=("PATH", "OPENAI_API_KEY"))
    assert env["FOO"] == "bar" and env["PATH"] == "/usr/bin:/bin"
    assert "OPENAI_API_KEY" not in env
    with pytest.raises(ValueError, match="GITHUB_TOKEN"):
        command_env({"GITHUB_TOKEN": "ghp_x"})


def test_redact_known_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAYTONA_API_KEY", "dtn_supersecret_123")
    assert "dtn_supersecret_123" in secret_values()
    assert redact("key is dtn_supersecret_123!") == f"key is {REDACTED}!"


def test_redacting_filter_scrubs_log_records(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-abcdefgh12345")
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("calling with %s", "sk-live-abcdefgh12345")
    assert "sk-live-abcdefgh12345" not in caplog.text and REDACTED in caplog.text
