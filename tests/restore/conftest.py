"""Fixtures only: a sandbox with a vault whose config points at it, and a second sandbox as another target."""

import json

import pytest
from helpers import sandbox_and_vault

from flowvault.sandbox.server import Sandbox
from flowvault.sandbox.tomlw import dumps as toml_dumps
from tests.restore.restore_helpers import SUBFLOW_1, SUBFLOW_1_FILE, World


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Sandbox `davinci` (the seeded environment) and a vault initialised for it, backed up once."""
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "test-redaction-key-0001")
    monkeypatch.setenv("FLOWVAULT_LOCK_TIMEOUT", "5")
    with sandbox_and_vault(tmp_path) as (sb, vault):
        yield World(sb, vault)


@pytest.fixture
def other(world, tmp_path):
    """A second environment, source `other`: it has only 'subflow 1', under another id than in `davinci`."""
    from importlib import resources

    flows = tmp_path / "other-flows"
    flows.mkdir()
    doc = json.loads(resources.files("flowvault.sandbox").joinpath(f"data/davinci/{SUBFLOW_1_FILE}").read_text())
    assert doc["flowId"] == SUBFLOW_1
    doc["flowId"] = "0ther0000000000000000000000000s1"
    (flows / "subflow-1.json").write_text(json.dumps(doc))
    with Sandbox(port=0, flows_dir=flows) as sb:
        config = world.sb.config()
        config["sources"]["other"] = sb.config()["sources"]["davinci"]
        (world.vault / "flowvault.toml").write_text(toml_dumps(config), encoding="utf-8")
        yield sb


@pytest.fixture
def envs(tmp_path, monkeypatch):
    """A sandbox serving `--environments staging,prod` and a vault whose config is the one it writes."""
    from click.testing import CliRunner

    from flowvault.cli import cli

    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "test-redaction-key-0001")
    monkeypatch.setenv("FLOWVAULT_LOCK_TIMEOUT", "5")
    with Sandbox(port=0, environments=("staging", "prod")) as sb:
        vault = tmp_path / "vault"
        assert CliRunner().invoke(cli, ["init", str(vault)]).exit_code == 0
        (vault / "flowvault.toml").unlink()
        sb.write_config(vault / "flowvault.toml")
        yield World(sb, vault)
