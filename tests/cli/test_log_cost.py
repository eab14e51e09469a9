"""Issue 15: `log` costs what changed. On a 100-flow vault with 31 commits it reads only the changed blobs, says
"1 flow changed" for a description edit, counts workflows as workflows, and runs within 4x one `diff HEAD~1 HEAD`."""

import statistics
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from benchmarks.bench_log import build_vault
from flowvault.cli import cli


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    return build_vault(tmp_path_factory.mktemp("log") / "vault", flows=100, edits=30)


def test_log_lines_count_flows_workflows_and_environment_items(vault):
    result = CliRunner().invoke(cli, ["--vault", str(vault), "log"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 31
    assert all(" 1 flow changed: 1 flow field added  (backup " in line for line in lines[:-1])
    assert "100 flows added, 9 workflows added, 1 environment item added" in lines[-1]


def test_log_never_reads_a_whole_tree(vault, monkeypatch):
    from flowvault.vault.repo import Vault

    def refuse(*args, **kwargs):
        raise AssertionError("log read a whole tree")

    monkeypatch.setattr(Vault, "read_tree", refuse)
    result = CliRunner().invoke(cli, ["--vault", str(vault), "log", "-n", "5", "--format", "json"])
    assert result.exit_code == 0, result.output


def _seconds(*args) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flowvault", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def test_log_of_31_commits_within_4x_one_diff(vault):
    log, diff = [], []
    for _ in range(3):
        log.append(_seconds("--vault", str(vault), "log"))
        diff.append(_seconds("--vault", str(vault), "diff", "HEAD~1", "HEAD"))
    assert statistics.median(log) <= 4 * statistics.median(diff), (log, diff)


def test_a_commit_with_only_layout_changes_says_so(tmp_path, monkeypatch):
    # A designer moved a node: at --level config nothing changed, but "no changes" would read as an empty commit.
    import json
    import subprocess

    from click.testing import CliRunner

    from flowvault.cli import cli
    from flowvault.sandbox.server import Sandbox

    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "k" * 32)
    vault = tmp_path / "v"
    with Sandbox(port=0) as sb:
        assert CliRunner().invoke(cli, ["init", str(vault)]).exit_code == 0
        (vault / "flowvault.toml").unlink()
        sb.write_config(vault / "flowvault.toml")
        run = lambda *a: CliRunner().invoke(cli, ["--config", str(vault / "flowvault.toml"), *a])  # noqa: E731
        assert run("backup", "--source", "davinci").exit_code == 0
        layout = next((vault / "snapshots" / "davinci" / "flows").glob("*/layout.json"))
        doc = json.loads(layout.read_text("utf-8"))
        doc["zoom"] = 3
        layout.write_text(json.dumps(doc), "utf-8")
        subprocess.run(["git", "-C", str(vault), "commit", "-qam", "moved"], check=True,
                       env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@e", "PATH": __import__("os").environ["PATH"]})
        result = run("log", "-n", "1")
    assert result.exit_code == 0, result.output
    assert "layout or metadata only" in result.stdout and "no changes" not in result.stdout
