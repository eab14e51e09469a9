"""The example vault content in the project's snapshots/ is exactly what a backup of the built-in sandbox produces.

Regenerate after an intended change of the canonical form or of the sandbox's seed data with
`FLOWVAULT_UPDATE_GOLDEN=1 python3 -m pytest tests/test_golden_snapshots.py` and review the diff like code.
"""

import os
import shutil
from pathlib import Path

from click.testing import CliRunner

from flowvault.cli import cli
from flowvault.sandbox.server import Sandbox

GOLDEN = Path(__file__).parent.parent / "snapshots"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_backup_of_the_sandbox_reproduces_the_golden_snapshots(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "golden-test-secret-51c2")
    monkeypatch.delenv("FLOWVAULT_REDACT_KEY", raising=False)  # unkeyed: {"redacted": true}, reproducible anywhere
    vault = tmp_path / "vault"
    vault.mkdir()
    with Sandbox(port=0) as sandbox:
        sandbox.write_config(vault / "flowvault.toml")
        config = str(vault / "flowvault.toml")
        assert CliRunner().invoke(cli, ["--config", config, "init", str(vault)]).exit_code == 0
        result = CliRunner().invoke(cli, ["--config", config, "backup"])
        assert result.exit_code == 0, result.output
    produced = _files(vault / "snapshots")
    if os.environ.get("FLOWVAULT_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(vault / "snapshots", GOLDEN)
    golden = _files(GOLDEN)
    assert sorted(produced) == sorted(golden)
    for path, data in produced.items():
        assert data == golden[path], f"snapshots/{path} differs from a fresh backup of the sandbox"
