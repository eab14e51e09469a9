"""Fixtures only; helpers live in tests/helpers.py."""

import pytest


@pytest.fixture(autouse=True)
def _pinned_git_identity(monkeypatch, tmp_path_factory):
    """Git tests run with a pinned author/committer and no user config."""
    home = tmp_path_factory.mktemp("home")
    for key, value in {
        "GIT_AUTHOR_NAME": "flowvault test",
        "GIT_AUTHOR_EMAIL": "test@flowvault.invalid",
        "GIT_COMMITTER_NAME": "flowvault test",
        "GIT_COMMITTER_EMAIL": "test@flowvault.invalid",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(home),
        # a stray repository above the test folders (say /tmp/.git) is never taken for a test's vault
        "GIT_CEILING_DIRECTORIES": str(tmp_path_factory.getbasetemp().parent),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FLOWVAULT_CONFIG", raising=False)


@pytest.fixture(scope="session")
def cassette_vcr():
    """The suite's one vcr.VCR (tests/vcr_setup.py): cassettes/ replayed with record mode "none", secrets scrubbed."""
    from vcr_setup import VCR

    return VCR


@pytest.fixture
def instant_polls(monkeypatch):
    """Launchers poll without sleeping: a replay takes the cassette's poll sequence as fast as it can be read."""
    from flowvault.launch.base import Deadline

    slept = []
    monkeypatch.setattr(Deadline, "sleep", lambda self, interval: slept.append(interval))
    return slept
