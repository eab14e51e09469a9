"""Fixtures for the launcher tests: a sandbox on 127.0.0.1 (port 0) and its written flowvault.toml."""

import pytest

SECRET = "launch-SBXSECRET-7f3a"


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", SECRET)
    return SECRET


@pytest.fixture
def sandbox(secret):
    from flowvault.sandbox.server import Sandbox

    with Sandbox(secret=secret) as sb:
        yield sb


@pytest.fixture
def config_file(sandbox, tmp_path):
    path = tmp_path / "flowvault.toml"
    sandbox.write_config(path)
    return path
