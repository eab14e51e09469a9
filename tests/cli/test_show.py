"""`flowvault show` and `log --format json`: JSON with no raw bidi or control character from names or messages."""

import json

from click.testing import CliRunner

from benchmarks.bench_log import _git, build_vault
from flowvault.cli import cli

HOSTILE = "renamed\nflowvault: FAILED\u202e\u2066 x\x85"


def test_show_escapes_bidi_and_control_characters_and_keeps_the_json(tmp_path):
    vault = build_vault(tmp_path / "vault", flows=1, edits=0)
    flow_json = vault / "snapshots" / "prod" / "flows" / "flow-000" / "flow.json"
    doc = json.loads(flow_json.read_text("utf-8"))
    doc["name"] = HOSTILE
    next(iter(doc["nodes"].values())).setdefault("properties", {})["nodeTitle"] = {"value": "node\u202e"}
    flow_json.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    _git(vault, "commit", "-qam", "hostile rename")
    result = CliRunner().invoke(cli, ["--vault", str(vault), "show", HOSTILE])
    assert result.exit_code == 0, result.output
    for char in ("\u202e", "\u2066", "\x85"):
        assert char not in result.stdout
    assert "\\u202e" in result.stdout and "\\u0085" in result.stdout
    assert json.loads(result.stdout) == doc  # the same JSON value, escapes and all


def test_log_json_escapes_bidi_marks_from_commit_messages(tmp_path):
    vault = build_vault(tmp_path / "vault", flows=1, edits=1)
    _git(vault, "commit", "-q", "--amend", "-m", "edit \u202eflow\u2066")
    result = CliRunner().invoke(cli, ["--vault", str(vault), "log", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "\u202e" not in result.stdout and "\u2066" not in result.stdout
    assert json.loads(result.stdout)[0]["message"] == "edit \u202eflow\u2066"
