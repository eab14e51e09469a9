"""`flowvault diff`, `log` and `show` through the CLI, on export files, snapshot folders and a git vault."""

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowvault import canonical
from flowvault.cli import cli
from tests.diff.diff_helpers import DAVINCI, flows_of, raw, summary

BASIC = "tfprovider__internal_acctest_flows_full-basic.json"
OLD = "tfprovider__internal_acctest_flows_full-basic__at_8209afb6.json"


def run(*args, cwd=None):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_snapshots(root: Path, doc: dict, source: str = "prod") -> None:
    for flow in flows_of(doc):
        folder = root / "snapshots" / source / "flows" / flow.flow["name"].replace(" ", "-")
        folder.mkdir(parents=True, exist_ok=True)
        for name, part in (("flow.json", flow.flow), ("layout.json", flow.layout), ("meta.json", flow.meta)):
            (folder / name).write_text(canonical.dumps(part), encoding="utf-8")


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def vault(tmp_path):
    """A vault with two commits: the old full-basic, then the new one (a variable value added)."""
    git(tmp_path, "init", "-q")
    write_snapshots(tmp_path, raw(OLD))
    git(tmp_path, "add", "snapshots")
    git(tmp_path, "commit", "-qm", "backup 1")
    write_snapshots(tmp_path, raw(BASIC))
    git(tmp_path, "add", "snapshots")
    git(tmp_path, "commit", "-qm", "backup 2")
    return tmp_path


def test_diff_of_two_export_files_and_exit_code():
    result = run("diff", DAVINCI / OLD, DAVINCI / BASIC, "--exit-code")
    assert result.exit_code == 1
    assert "full-basic: flow variable fdgdfgfdg: `fields/value` added: 'thisisastring'" in result.output
    assert run("diff", DAVINCI / BASIC, DAVINCI / BASIC, "--exit-code").exit_code == 0
    assert run("diff", DAVINCI / OLD, DAVINCI / BASIC).exit_code == 0  # changes, but no --exit-code


def test_diff_json_of_two_files():
    result = run("diff", DAVINCI / OLD, DAVINCI / BASIC, "--format", "json")
    doc = json.loads(result.output)
    assert doc["summary"] == summary(flows_changed=1, changes=1)
    assert doc["changes"][0]["path"] == "/variables/flow~1fdgdfgfdg/fields/value"


def test_diff_of_two_snapshot_folders(tmp_path):
    write_snapshots(tmp_path / "a", raw(OLD))
    write_snapshots(tmp_path / "b", raw(BASIC))
    result = run("diff", tmp_path / "a" / "snapshots", tmp_path / "b" / "snapshots", "--format", "json")
    (change,) = json.loads(result.output)["changes"]
    assert change["source"] == "prod" and change["category"] == "variable"
    flow_dir = tmp_path / "b" / "snapshots" / "prod" / "flows" / "full-basic"
    assert run("diff", flow_dir, DAVINCI / BASIC, "--exit-code").exit_code == 0


def test_diff_in_a_git_vault(vault):
    assert run("--vault", vault, "diff", "HEAD", "HEAD", "--exit-code").exit_code == 0
    default = run("--vault", vault, "diff", "--exit-code")
    assert default.exit_code == 1 and "fdgdfgfdg" in default.output
    assert run("--vault", vault, "diff", "HEAD~1", "HEAD", "--exit-code").exit_code == 1
    # one ref: against the working tree (unchanged)
    assert run("--vault", vault, "diff", "HEAD", "--exit-code").exit_code == 0
    md = run("--vault", vault, "diff", "--format", "markdown")
    assert "<details>" in md.output and "```mermaid" not in md.output  # a variable is not in the picture


def test_unknown_ref_or_path_is_a_usage_error(vault):
    result = CliRunner().invoke(cli, ["--vault", str(vault), "diff", "nosuchref", "HEAD"])
    assert result.exit_code == 2
    assert "'nosuchref' is not a file, a folder or a commit of the vault" in result.output
    result = CliRunner().invoke(cli, ["--vault", str(vault), "diff", "HEAD", "HEAD", "--flow", "nope"])
    assert result.exit_code == 2 and "no flow named 'nope'" in result.output


def test_diff_flow_finds_a_flow_as_show_does(vault):
    # name, folder or id, case ignored when unique; a close name suggested for a typo (issue 19)
    for name in ("full-basic", "FULL-BASIC", " Full-Basic "):
        result = run("--vault", vault, "diff", "HEAD~1", "HEAD", "--flow", name, "--format", "json")
        assert json.loads(result.output)["summary"]["flows_changed"] == 1, name
    typo = CliRunner().invoke(cli, ["--vault", str(vault), "diff", "HEAD~1", "HEAD", "--flow", "full-basci"])
    assert typo.exit_code == 2
    assert typo.stderr.strip().splitlines() == [
        "flowvault: no flow named 'full-basci' in either snapshot; did you mean 'full-basic'?"], typo.stderr


def test_log_lists_commits_with_semantic_summaries(vault):
    result = run("--vault", vault, "log")
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert "1 flow changed: 1 variable changed  (backup 2)" in lines[0]
    assert "1 flow added  (backup 1)" in lines[1]
    doc = json.loads(run("--vault", vault, "log", "full-basic", "-n", "1", "--format", "json").output)
    assert len(doc) == 1 and doc[0]["message"] == "backup 2"
    assert doc[0]["summary"] == "1 flow changed: 1 variable changed"


def test_show_prints_json_and_a_flowchart(vault):
    doc = json.loads(run("--vault", vault, "show", "full-basic").output)
    assert doc["name"] == "full-basic" and "1u2m5vzr49" in doc["nodes"]
    chart = run("--vault", vault, "show", "full-basic", "--format", "mermaid").output
    assert chart.startswith("flowchart LR")
    assert '-->|"anyTriggersFalse"|' in chart and "calls subflow 2" in chart
    result = CliRunner().invoke(cli, ["--vault", str(vault), "show", "nope"])
    assert result.exit_code == 2


def test_a_broken_file_given_as_dot_slash_is_named_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.json").write_text(json.dumps(raw(BASIC)), encoding="utf-8")
    (tmp_path / "bad.json").write_text('{"flows": ', encoding="utf-8")
    result = CliRunner().invoke(cli, ["diff", "./old.json", "./bad.json"])
    assert result.exit_code == 2
    assert result.output.startswith("flowvault: bad.json: not valid JSON (") and result.output.count("bad.json") == 1
