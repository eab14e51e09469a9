"""Reading the vault (diff, log, show) needs the [vault] table only, not the sources' secrets."""

import json

from click.testing import CliRunner

from flowvault.cli import cli
from flowvault.vault.repo import Vault

CONFIG = """
[vault]
path = "."

[sources.prod]
type = "davinci"
environment_id = "env"
client_id = "client"
client_secret = "${FLOWVAULT_TEST_UNSET_SECRET}"
"""


def test_diff_and_log_work_when_a_source_secret_is_unset(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWVAULT_TEST_UNSET_SECRET", raising=False)
    (tmp_path / "flowvault.toml").write_text(CONFIG)
    vault, _ = Vault.init(tmp_path)
    flow = {"name": "f", "nodes": {}, "edges": {}, "variables": {}}
    for version in (1, 2):
        flow["settings"] = {"logLevel": version}
        vault.write("prod/flows/f/flow.json", json.dumps(flow))
        vault.write("prod/flows/f/meta.json", json.dumps({"flowId": "abc"}))
        vault.commit(f"backup {version}")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["diff", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"]["changes"] == 1
    assert CliRunner().invoke(cli, ["log"]).exit_code == 0
    # commands that talk to the source still refuse, naming the variable
    result = CliRunner().invoke(cli, ["backup"])
    assert result.exit_code == 2 and "FLOWVAULT_TEST_UNSET_SECRET" in result.output
