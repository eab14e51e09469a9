"""Fixtures for the reliability tests: a distinctive sandbox secret, a redaction key, short lock waits."""

from __future__ import annotations

import pytest

from tests.reliability.reliability_helpers import REDACT_KEY, SECRET


@pytest.fixture(autouse=True)
def _secrets(monkeypatch):
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", SECRET)
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", REDACT_KEY)
    monkeypatch.setenv("FLOWVAULT_LOCK_TIMEOUT", "5")


@pytest.fixture
def no_backoff(monkeypatch):
    """Retries without the real backoff sleeps (for items that fail every time)."""
    monkeypatch.setattr("flowvault.http.retry.Policy.backoff", lambda self, attempt: 0.0)
