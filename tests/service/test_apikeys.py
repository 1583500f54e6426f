"""API keys: hashing, parsing the configured entries, constant-time lookup, and what the auth layer answers."""

from __future__ import annotations

import pytest
from langgraph_sdk import Auth

from agent.http.apikeys import ApiKeyConfigError, _main, find_owner, hash_key, parse_api_keys
from agent.http.auth import LOCAL_USER, AuthConfig, presented_key, resolve_identity

KEY = "osk_test_key_123456"


def test_hash_is_sha256_hex_and_lookup_finds_the_owner():
    digest = hash_key(KEY)
    assert len(digest) == 64 and digest != KEY
    entries = parse_api_keys(f"alice:{digest}, bob:{hash_key('other-key-000')}")
    assert [e.name for e in entries] == ["alice", "bob"]
    assert find_owner(KEY, entries) == "alice"
    assert find_owner("wrong", entries) is None


def test_entries_from_the_file_add_to_the_environment_ones():
    file_text = f"# team keys\n\ncarol:{hash_key('carol-key-1')}\n"
    entries = parse_api_keys("", file_text=file_text)
    assert [e.name for e in entries] == ["carol"]
    assert find_owner("carol-key-1", entries) == "carol"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("alice", "expected 'name:sha256hex'"),
        ("alice:abc", "must be 64 hex characters"),
        (f"alice:{KEY}", "not the key itself"),
        (f"al ice:{hash_key(KEY)}", "expected 'name:sha256hex'"),
    ],
)
def test_malformed_entries_are_refused_without_echoing_secrets(value, fragment):
    with pytest.raises(ApiKeyConfigError) as refused:
        parse_api_keys(value)
    assert fragment in str(refused.value)
    assert KEY not in str(refused.value)


def test_key_is_read_from_x_api_key_or_bearer():
    assert presented_key({b"x-api-key": b" k1 "}) == "k1"
    assert presented_key({b"authorization": b"Bearer k2"}) == "k2"
    assert presented_key({b"authorization": b"Basic k3"}) is None
    assert presented_key({}) is None


def test_identity_resolution_and_refusals():
    config = AuthConfig(disabled=False, entries=tuple(parse_api_keys(f"alice:{hash_key(KEY)}")))
    assert resolve_identity(config, KEY) == "alice"
    for key, detail in ((None, "missing API key"), ("bad", "invalid API key")):
        with pytest.raises(Auth.exceptions.HTTPException) as refused:
            resolve_identity(config, key)
        assert refused.value.status_code == 401 and detail in refused.value.detail
    with pytest.raises(Auth.exceptions.HTTPException) as none_configured:
        resolve_identity(AuthConfig(disabled=False, entries=()), KEY)
    assert "no API keys are configured" in none_configured.value.detail


def test_auth_disabled_makes_everyone_the_local_user():
    assert resolve_identity(AuthConfig(disabled=True, entries=()), None) == LOCAL_USER


def test_cli_prints_a_new_key_and_its_entry(capsys):
    assert _main(["new", "dave"]) == 0
    out = capsys.readouterr().out
    key = out.split("it is not stored): ")[1].split()[0]
    assert f"dave:{hash_key(key)}" in out
    assert _main(["hash", "dave", key]) == 0
    assert capsys.readouterr().out.strip() == f"dave:{hash_key(key)}"
    assert _main(["bogus"]) == 2
