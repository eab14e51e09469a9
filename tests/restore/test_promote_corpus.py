"""Issue 17, "Must show": a restore of each multi-flow (flow + subflows) export of the corpus into an empty second
environment equals its source at `--level config`."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowvault.cli import cli
from flowvault.sandbox.server import Sandbox
from flowvault.sandbox.tomlw import dumps as toml_dumps

CORPUS = Path(__file__).parent.parent / "fixtures" / "davinci"  # copies of the shared corpus (see its SOURCES.md)
MULTI = sorted(p.name for p in CORPUS.glob("*.json")
               if isinstance(json.loads(p.read_text(encoding="utf-8")).get("flows"), list))


def test_the_corpus_has_multi_flow_exports():
    assert len(MULTI) >= 5, MULTI


@pytest.mark.parametrize("name", MULTI)
def test_a_multi_flow_export_restored_into_an_empty_environment_equals_its_source(name, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "test-redaction-key-0001")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "empty").mkdir()
    shutil.copy(CORPUS / name, tmp_path / "corpus" / name)
    vault = tmp_path / "vault"

    def run(*args):
        return CliRunner().invoke(cli, ["--config", str(vault / "flowvault.toml"), *args])

    with Sandbox(port=0, flows_dir=tmp_path / "corpus") as source, \
            Sandbox(port=0, flows_dir=tmp_path / "empty") as empty:
        assert CliRunner().invoke(cli, ["init", str(vault)]).exit_code == 0
        config = {"vault": {"path": "."}, "sources": {"corpus": source.config()["sources"]["davinci"],
                                                      "empty": empty.config()["sources"]["davinci"]}}
        (vault / "flowvault.toml").write_text(toml_dumps(config), encoding="utf-8")
        assert run("backup", "--source", "corpus").exit_code == 0
        flows = sorted(p.name for p in (vault / "snapshots/corpus/flows").iterdir())
        assert len(flows) >= 2
        for slug in flows:
            result = run("restore", slug, "--from", "corpus", "--to", "empty", "--create-connections")
            assert result.exit_code == 0, result.output
        # every node uses a connector instance of the target, every subflow call a flow of the target (or, as in
        # the export, none at all)
        store = empty.ctx.state["davinci"]
        instances = {i["id"] for i in store.data["connectorInstances"]}
        source_ids = set(source.ctx.state["davinci"].data["flows"])
        for flow in store.flows():
            for node in store.current(flow)["graphData"]["elements"]["nodes"]:
                data = node["data"]
                assert data.get("connectionId") in instances | {None}, (flow["name"], data["id"])
                sub = ((data.get("properties") or {}).get("subFlowId") or {}).get("value")
                if isinstance(sub, dict) and sub.get("value"):
                    assert sub["value"] in store.data["flows"] or sub["value"] not in source_ids, data["id"]
        backup = run("backup", "--source", "empty")
        assert backup.exit_code == 0, backup.output
        assert sorted(p.name for p in (vault / "snapshots/empty/flows").iterdir()) == flows
        for slug in flows:
            old, new = vault / "snapshots/corpus/flows" / slug, vault / "snapshots/empty/flows" / slug
            diff = run("diff", str(old), str(new), "--level", "config", "--exit-code", "--format", "json")
            assert diff.exit_code == 0, (slug, diff.output)
