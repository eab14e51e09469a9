"""Fixtures for the sandbox tests; every server listens on 127.0.0.1, port 0, and is stopped after the test."""

from __future__ import annotations

import pytest

from flowvault.sandbox.server import Sandbox
from tests.sandbox.sandbox_helpers import PingOne


@pytest.fixture
def sandbox(monkeypatch):
    monkeypatch.delenv("FLOWVAULT_SANDBOX_SECRET", raising=False)
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def p1(sandbox):
    return PingOne(sandbox.url)


@pytest.fixture
def two_envs(monkeypatch):
    """A sandbox serving environments `staging` and `prod`."""
    monkeypatch.delenv("FLOWVAULT_SANDBOX_SECRET", raising=False)
    with Sandbox(environments=["staging", "prod"]) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _default_secret(monkeypatch):
    """Every sandbox of these tests accepts "sandbox" (PingOne's default), whatever another test left set."""
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
