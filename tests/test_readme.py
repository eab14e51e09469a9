"""The README stays true: its configuration example is valid, and its set-up test command is what CI runs."""

import re
from pathlib import Path

import pytest

from flowvault.config import parse_config

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_configuration_example_is_a_valid_flowvault_toml():
    section = README.split("## Configuration", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    names = set(re.findall(r"\$\{(\w+)\}", example))
    config = parse_config(example, ROOT / "flowvault.toml", env={name: f"value-of-{name}" for name in names})
    assert {"prod", "idm"} <= set(config.sources)
    assert {"davinci", "invision", "smartflows", "idm"} == {launcher.type for launcher in config.launchers.values()}


def test_ci_runs_the_readme_test_command():
    command = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line][0].strip()
    assert command in README


def test_the_library_api_of_the_readme_works_against_the_sandbox(tmp_path, monkeypatch):
    # README "As a library": load_config, run_backup, load_snapshot + diff_snapshots, run_launcher, restore_flow.
    import shutil
    import subprocess

    import flowvault
    import flowvault.restore.run  # noqa: F401 - imported first, as a long-lived process will have: no name clash
    from flowvault.sandbox.server import Sandbox

    assert "## As a library" in README and "flowvault.run_backup(config" in README
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "k" * 32)
    for var, value in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@example.com"),
                       ("GIT_COMMITTER_NAME", "t"), ("GIT_COMMITTER_EMAIL", "t@example.com")):
        monkeypatch.setenv(var, value)
    vault = tmp_path / "vault"
    subprocess.run(["git", "init", "-q", str(vault)], check=True)
    with Sandbox(port=0) as sb:
        sb.write_config(vault / "flowvault.toml")
        monkeypatch.chdir(vault)
        config = flowvault.load_config("flowvault.toml")
        result = flowvault.run_backup(config, ".")
        assert result.commit and not any(s.error for s in result.sources)
        shutil.copytree("snapshots", tmp_path / "before")
        (vault / "snapshots" / "davinci" / "variables.json").unlink()
        records = flowvault.diff_snapshots(flowvault.load_snapshot(tmp_path / "before"),
                                           flowvault.load_snapshot("snapshots"))
        assert records.summary["environment_removed"] > 0 and records.changes
        assert flowvault.run_launcher(config.launchers["davinci-ok"], config).outcome == "passed"
        with pytest.raises(flowvault.FlowvaultError) as info:
            flowvault.restore_flow(config, ".", "no such flow", to="davinci", dry_run=True)
        assert info.value.exit_status == flowvault.ExitStatus.USAGE
