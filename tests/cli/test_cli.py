from click.testing import CliRunner

from flowvault.cli import cli

COMMANDS = ["init", "backup", "diff", "log", "show", "restore", "launch", "smoke", "sandbox", "demo"]


def test_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output


def test_every_command_help_has_an_example():
    for name in COMMANDS:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output, name
