"""Issue 15, "Must show": a review of a backed-up vault sees environment-wide changes, shows the changed lines of a
code property, and no flow name can forge an output line."""

import json
import re
import shutil

import pytest
from click.testing import CliRunner
from helpers import sandbox_and_vault

from flowvault.cli import cli

SIGN_ON = "pingone-sign-on-with-registration-password-reset-and-recovery"
EVIL_NAME = "renamed\nflowvault: FAILED injected line\u202e[click](https://evil.example)"


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory):
    """snapshots/ of one clean backup of the sandbox (read-only for the tests: copy before editing)."""
    tmp = tmp_path_factory.mktemp("review")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
        mp.setenv("FLOWVAULT_REDACT_KEY", "test-redaction-key-0001")
        for role in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{role}_NAME", "flowvault test")
            mp.setenv(f"GIT_{role}_EMAIL", "test@example.invalid")
        with sandbox_and_vault(tmp) as (_sb, vault):
            result = CliRunner().invoke(cli, ["--config", str(vault / "flowvault.toml"), "backup"])
            assert result.exit_code == 0, result.output
    return vault / "snapshots"


def _edit_json(path, change):
    doc = json.loads(path.read_text("utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@pytest.fixture
def edited(backed_up, tmp_path):
    old, new = tmp_path / "a", tmp_path / "b"
    shutil.copytree(backed_up, old)
    shutil.copytree(backed_up, new)
    src = new / "davinci"

    def variable(doc):
        doc["variables"]["company/companyName"]["value"] = "Evil Corp"

    def policy(doc):
        app = next(a for a in doc["applications"].values() if a["name"] == "Sandbox Sign On")
        (pol,) = app["flowPolicies"].values()
        pol["flowDistributions"][0]["version"] = 7

    def flow(doc):
        doc["name"] = EVIL_NAME
        doc["nodes"]["gd0euu4nbl"]["properties"]["code"]["value"] += "\n// appended by the reviewer test"

    _edit_json(src / "variables.json", variable)
    _edit_json(src / "applications.json", policy)
    _edit_json(src / "flows" / SIGN_ON / "flow.json", flow)
    return old, new


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_environment_records_are_in_the_json(edited):
    out = run("diff", *edited, "--format", "json").output
    doc = json.loads(out)
    records = {(c["category"], c["target"]): c for c in doc["changes"]}
    var = records[("variable", "company/companyName")]
    assert var["flow"] is None and (var["old"], var["new"]) == ("Sandbox Inc.", "Evil Corp")
    pol = records[("policy", "Sandbox Sign On/PingOne Session")]
    assert pol["flow"] is None and (pol["old"], pol["new"]) == (-1, 7)
    assert pol["label"] == "PingOne Session Main Flow" or pol["label"]  # the distribution's flow, by name
    assert doc["summary"]["environment_changed"] == 2 and doc["summary"]["flows_changed"] == 1
    assert ("flow", "name") in records  # a changed flow field targets the field
    assert "\u202e" not in out  # the name's bidi mark is a JSON escape, never raw
    assert doc["changes"][0]["flow"] is None or EVIL_NAME in {c["flow"] for c in doc["changes"]}


def test_exit_code_is_1_for_environment_changes_alone(backed_up, tmp_path):
    old, new = tmp_path / "a", tmp_path / "b"
    shutil.copytree(backed_up, old)
    shutil.copytree(backed_up, new)
    assert run("diff", old, new, "--exit-code").exit_code == 0
    _edit_json(new / "davinci" / "variables.json",
               lambda doc: doc["variables"]["company/companyName"].update(value="Evil Corp"))
    result = run("diff", old, new, "--exit-code", "--level", "all")
    assert result.exit_code == 1
    assert "davinci environment: company variable companyName: `value` changed: 'Sandbox Inc.' -> 'Evil Corp'" \
        in result.output


def test_text_shows_the_appended_line_and_no_forged_line(edited):
    result = run("diff", *edited, "--exit-code")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "    +// appended by the reviewer test" in lines
    assert not any(line.startswith(("flowvault", "renamed", "[click]")) for line in lines)
    assert "\u202e" not in result.output and "\\u202e" in result.output
    assert "renamed\\nflowvault: FAILED injected line" in result.output


def test_markdown_keeps_the_name_in_its_row_and_links_nothing(edited):
    out = run("diff", *edited, "--format", "markdown").output
    assert "\u202e" not in out
    assert not any(line.startswith("flowvault: FAILED") for line in out.splitlines())
    # outside fenced blocks (shown literally), the link is escaped text
    prose = re.sub(r"(?ms)^ *(`{3,})[a-z]*\n.*?^ *\1\n", "", out)
    assert "](https://evil.example)" not in prose and "\\[click\\]" in prose
    assert "+// appended by the reviewer test" in out  # in a collapsible diff block


def test_a_hostile_rename_in_the_designer_reads_safely_end_to_end(tmp_path, monkeypatch):
    """Backup, a rename through the designer (the sandbox's edit hook) to a name with a newline and U+202E, backup
    -v again: diff, log, the backup's progress and the Markdown show the name on one line, escaped."""
    from tests.reliability.reliability_helpers import call

    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "test-redaction-key-0001")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "flowvault test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.invalid")
    with sandbox_and_vault(tmp_path) as (sb, vault):
        config = ["--config", str(vault / "flowvault.toml")]
        assert run(*config, "backup", "--source", "davinci").exit_code == 0
        index = json.loads((vault / "snapshots" / "davinci" / "index.json").read_text("utf-8"))
        flow_id = next(fid for fid, entry in index["flows"].items() if entry["slug"] == SIGN_ON)
        call(sb.url, "POST", f"/_sandbox/flows/{flow_id}/edit", {"/name": EVIL_NAME})
        backup = run(*config, "-v", "backup", "--source", "davinci")
        assert backup.exit_code == 0, backup.output
        outputs = {
            "backup -v": backup.output,
            "diff": run(*config, "diff").output,
            "diff markdown": run(*config, "diff", "--format", "markdown").output,
            "log": run(*config, "log").output,
        }
    assert "renamed\\nflowvault: FAILED injected line\\u202e" in outputs["diff"]
    assert "flow `name` changed: '" in outputs["diff"]
    assert "renamed\\\\nflowvault\\: FAILED injected line\\\\u202e" in outputs["diff markdown"]
    assert "renamed\\nflowvault: FAILED injected line\\u202e" in outputs["backup -v"]  # the progress line
    for what, out in outputs.items():
        assert not re.search("[\u202e\u2066-\u2069\x00-\x09\x0b-\x1f\x7f-\x9f]", out), (what, out)
        for line in out.splitlines():
            assert not line.strip(" +-~>").startswith(("flowvault: FAILED", "[click]")), (what, line)
