"""`flowvault init` and the progress/log helper."""

import io
import subprocess

from click.testing import CliRunner

from flowvault.cli import cli
from flowvault.ui import UI


def test_init_makes_a_vault_and_is_idempotent(tmp_path):
    target = tmp_path / "v"
    result = CliRunner().invoke(cli, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / ".git").is_dir() and (target / "snapshots").is_dir()
    text = (target / "flowvault.toml").read_text()
    assert "[vault]" in text
    (target / "flowvault.toml").write_text("# mine\n")
    result = CliRunner().invoke(cli, ["init", str(target)])
    assert result.exit_code == 0
    assert (target / "flowvault.toml").read_text() == "# mine\n"  # never overwritten
    assert "kept existing" in result.output


def test_init_template_is_a_valid_config(tmp_path):
    from flowvault.config import load_config

    assert CliRunner().invoke(cli, ["init", str(tmp_path / "v")]).exit_code == 0
    config = load_config(tmp_path / "v" / "flowvault.toml")
    assert config.vault.path == (tmp_path / "v").resolve()


def test_init_uses_the_enclosing_repository(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "flows")])
    assert result.exit_code == 0
    assert not (tmp_path / "flows" / ".git").exists()
    assert "using git repository" in result.output


def test_backup_without_a_repo_says_to_run_init(tmp_path, monkeypatch):
    (tmp_path / "flowvault.toml").write_text('[vault]\npath = "."\n\n[sources.idm]\ntype = "idm"\nurl = "http://idm.invalid/openidm"\n')
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "flowvault.toml"), "backup"])
    assert result.exit_code == 2  # not a vault yet: fix the set-up, like every other command says
    assert "flowvault init" in result.stderr


def test_plain_lines_off_a_terminal_and_warning_once():
    out = io.StringIO()
    ui = UI(out, interactive=False)
    with ui.progress("prod", total=2) as task:
        task.advance("Sign On")
        task.advance("Register")
    ui.warn("no key", once="k")
    ui.warn("no key", once="k")
    lines = out.getvalue().splitlines()
    assert lines == ["prod: 1/2 Sign On", "prod: 2/2 Register", "flowvault: warning: no key"]
    assert "\x1b[" not in out.getvalue()


def test_no_color_on_a_terminal(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    ui = UI(out, interactive=True)
    assert ui.color is False
    ui.warn("careful")
    assert "\x1b[3" not in out.getvalue() and "careful" in out.getvalue()
