"""Test helpers shared by several test modules."""

import contextlib
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


@contextlib.contextmanager
def sandbox_and_vault(tmp_path):
    """(sandbox, vault): a sandbox on 127.0.0.1 and a fresh vault whose flowvault.toml is the sandbox's config."""
    from click.testing import CliRunner

    from flowvault.cli import cli
    from flowvault.sandbox.server import Sandbox

    with Sandbox(port=0) as sb:
        vault = tmp_path / "vault"
        result = CliRunner().invoke(cli, ["init", str(vault)])
        assert result.exit_code == 0, result.output
        (vault / "flowvault.toml").unlink()
        sb.write_config(vault / "flowvault.toml")
        yield sb, vault
