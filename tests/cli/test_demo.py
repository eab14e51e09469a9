"""`flowvault demo` runs the whole story on the built-in sandbox and exits 0."""

import json

import git
from click.testing import CliRunner

from flowvault.cli import cli


def test_demo_keeps_a_vault_with_the_story_in_its_history(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "demo-test-secret-7f3a9c")
    keep = tmp_path / "vault"
    result = CliRunner().invoke(cli, ["demo", "--keep", str(keep)])
    assert result.exit_code == 0, result.output
    commits = list(git.Repo(keep).iter_commits())
    assert len(commits) >= 3  # first backup, the designer's edit, the restore
    assert (keep / "snapshots" / "davinci" / "flows").is_dir()
    markdown = (keep / "flow-diff.md").read_text()
    assert "Sandbox API Success" in markdown and len(markdown) < 65_536
    assert (keep / "sandbox-api-success.mmd").read_text().startswith("flowchart")
    # the restore brought the first version back: the flow.json of the first and last commit are equal
    flow = "snapshots/davinci/flows/sandbox-api-success/flow.json"
    first, last = commits[-1], commits[0]
    assert json.loads(first.tree[flow].data_stream.read()) == json.loads(last.tree[flow].data_stream.read())


def test_demo_refuses_a_non_empty_keep_folder(tmp_path):
    (tmp_path / "something").write_text("x")
    result = CliRunner().invoke(cli, ["demo", "--keep", str(tmp_path)])
    assert result.exit_code == 3
    assert "not empty" in result.output


def test_the_demo_leaves_the_environment_as_it_found_it(monkeypatch):
    # It runs its commands in this process with a secret of its own; a caller (or the next test) must not inherit it.
    import os

    from flowvault.cli.demo import run_demo

    monkeypatch.delenv("FLOWVAULT_SANDBOX_SECRET", raising=False)
    monkeypatch.delenv("FLOWVAULT_REDACT_KEY", raising=False)
    run_demo(None, lambda line: None)
    assert "FLOWVAULT_SANDBOX_SECRET" not in os.environ and "FLOWVAULT_REDACT_KEY" not in os.environ
