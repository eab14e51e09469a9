"""Fixtures only; helpers live in backup_helpers.py."""

import pytest
from helpers import sandbox_and_vault


@pytest.fixture
def env(tmp_path, monkeypatch):
    """(sandbox, vault folder): a running sandbox and a vault whose flowvault.toml points at it."""
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "test-redaction-key-0001")
    monkeypatch.setenv("FLOWVAULT_LOCK_TIMEOUT", "5")
    # Exports of a faulted flow answer 500 every time: do not spend the real backoff on them.
    monkeypatch.setattr("flowvault.http.retry.Policy.backoff", lambda self, attempt: 0.0)
    with sandbox_and_vault(tmp_path) as (sb, vault):
        yield sb, vault
