"""What a first-time user sees: help that fits, one-line errors that say what to do, exit codes of DESIGN.md,
no colour or animation off a terminal, NO_COLOR, shell completion, Ctrl-C."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import run_in_terminal

from flowvault.cli import cli

COMMANDS = ["init", "backup", "status", "diff", "log", "show", "restore", "launch", "smoke", "sandbox", "demo"]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "davinci"
OLD_EXPORT = FIXTURES / "dvclientgo__davinci_test_flows_full-basic.json"
NEW_EXPORT = FIXTURES / "dvclientgo__davinci_test_flows_full-basic-additionalproperties.json"
ANSI = re.compile(r"\x1b\[")
COLOUR = re.compile(r"\x1b\[(3[0-7]|9[0-7]|38;)")  # a foreground colour; bold/italic are not colour (no-color.org)

IDM_LAUNCHER_CONFIG = """
[vault]
path = "."

[sources.idm]
type = "idm"
url = "http://127.0.0.1:1/openidm"
username = "${FLOWVAULT_UX_USER}"
password = "${FLOWVAULT_UX_SECRET}"

[launchers.idm-ok]
type = "idm"
url = "http://127.0.0.1:1/openidm"
username = "openidm-admin"
password = "${FLOWVAULT_UX_SECRET}"
key = "osgiProcess"
"""


def run(args, **kwargs):
    result = CliRunner().invoke(cli, args, **kwargs)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def idm_config(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWVAULT_UX_USER", "openidm-admin")
    monkeypatch.setenv("FLOWVAULT_UX_SECRET", "ux-secret-value")
    path = tmp_path / "flowvault.toml"
    path.write_text(IDM_LAUNCHER_CONFIG)
    return path


def _commands_section(text: str) -> list[str]:
    return [line for line in text.split("Commands:", 1)[1].splitlines() if line.strip()]


# --- help --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("columns", ["80", "60"])
def test_help_lists_every_command_with_a_whole_summary(columns):
    result = run(["--help"], env={"COLUMNS": columns})
    assert result.exit_code == 0
    rows = _commands_section(result.output)
    assert sorted(line.split()[0] for line in rows if not line.startswith("    ")) == sorted(COMMANDS)
    assert not any(line.rstrip().endswith("...") for line in rows), rows  # click cuts long first lines with "..."


def test_summaries_fit_on_one_line_of_an_80_column_terminal():
    for name, command in cli.commands.items():
        assert len(command.get_short_help_str(limit=1000)) <= 60, name


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_explained_and_help_has_an_example(name):
    result = run([name, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    for param in cli.commands[name].params:
        if getattr(param, "param_type_name", "") == "option":
            assert param.help, f"{name} {param.opts[0]} has no help text"


def test_no_arguments_shows_the_help():
    result = run([])
    assert "Commands:" in result.output


# --- click's usage errors: one line with where to look ---------------------------------------------------------


@pytest.mark.parametrize(("args", "line"), [
    (["--bogus"], "flowvault: no such option '--bogus' (did you mean '--verbose'?); see `flowvault --help`"),
    (["bakup"], "flowvault: no such command 'bakup' (did you mean 'backup'?); see `flowvault --help`"),
    (["backup", "--sourcee", "x"],
     "flowvault: no such option '--sourcee' (did you mean '--source'?); see `flowvault backup --help`"),
    (["launch"], "flowvault: missing argument 'NAME'; see `flowvault launch --help`"),
    (["restore", "f"], "flowvault: missing option '--to'; see `flowvault restore --help`"),
    (["backup", "--jobs", "0"],
     "flowvault: invalid value for '--jobs' / '-j': 0 is not in the range 1<=x<=64; see `flowvault backup --help`"),
    (["diff", "--format", "xml"], "flowvault: invalid value for '--format': 'xml' is not one of 'text', 'markdown', "
                                  "'json'; see `flowvault diff --help`"),
    (["diff", "a", "b", "c"], "flowvault: got unexpected extra argument (c); see `flowvault diff --help`"),
])
def test_usage_errors_are_one_line_and_exit_2(args, line):
    result = run(args)
    assert result.exit_code == 2
    assert result.stderr == line + "\n"
    assert result.stdout == ""


# --- init ----------------------------------------------------------------------------------------------------------


def test_init_makes_the_vault_given_by_global_vault_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(["--vault", str(tmp_path / "v"), "init"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "v" / ".git").is_dir() and (tmp_path / "v" / "flowvault.toml").is_file()
    assert not (tmp_path / ".git").exists() and not (tmp_path / "flowvault.toml").exists()


def test_init_where_no_folder_can_be_made_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("x")
    result = run(["init", str(tmp_path / "file" / "v")])
    assert result.exit_code == 2
    assert result.stderr == (f"flowvault: {tmp_path / 'file' / 'v'}: cannot create the vault folder (Not a directory); "
                             "give a folder you can write to\n")


def test_init_json_for_scripts(tmp_path):
    result = run(["init", str(tmp_path / "v"), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data == {"repository": str((tmp_path / "v").resolve()), "created_repository": True,
                    "config": str(tmp_path / "v" / "flowvault.toml"), "config_written": True,
                    "snapshots": str((tmp_path / "v" / "snapshots").resolve())}
    again = json.loads(run(["init", str(tmp_path / "v"), "--format", "json"]).stdout)
    assert again["created_repository"] is False and again["config_written"] is False


# --- diff, show, log -------------------------------------------------------------------------------------------------


def test_diff_names_the_file_that_is_not_an_export(tmp_path):
    (tmp_path / "obj.json").write_text('{"a": 1}')
    result = run(["diff", str(OLD_EXPORT), str(tmp_path / "obj.json")])
    assert result.exit_code == 2
    assert result.stderr == (f"flowvault: {tmp_path / 'obj.json'}: not a DaVinci export: expected flowId/graphData, "
                             "flows, flowInfo or a Platform flow object\n")


def test_diff_of_an_unreadable_file_is_an_input_error(tmp_path, monkeypatch):
    target = tmp_path / "locked.json"
    target.write_text("{}")
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "locked.json":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = run(["diff", str(target), str(OLD_EXPORT)])
    assert result.exit_code == 2
    assert result.stderr == (f"flowvault: {target}: cannot read (Permission denied); check the path and its "
                             "permissions\n")


@pytest.mark.parametrize("args", [["diff"], ["diff", "HEAD"], ["show", "f"]])
def test_reading_a_vault_without_commits_says_to_back_up_first(tmp_path, args):
    assert run(["init", str(tmp_path)]).exit_code == 0
    result = run(["--vault", str(tmp_path), *args])
    assert result.exit_code == 2
    assert result.stderr == f"flowvault: the vault {tmp_path} has no commits yet; run `flowvault backup` first\n"


def test_log_of_a_vault_without_commits(tmp_path):
    assert run(["init", str(tmp_path)]).exit_code == 0
    result = run(["--vault", str(tmp_path), "log", "--format", "json"])
    assert result.exit_code == 2  # as diff and show (issue 19)
    assert json.loads(result.stdout)["exit_status"] == 2
    assert result.stderr == f"flowvault: the vault {tmp_path} has no commits yet; run `flowvault backup` first\n"


def test_log_leaves_out_commits_that_did_not_touch_snapshots(tmp_path):
    from flowvault.vault.repo import Vault

    vault, _ = Vault.init(tmp_path)
    vault.write("prod/flows/f/flow.json", json.dumps({"name": "f", "nodes": {}, "edges": {}}))
    vault.commit("backup 1")
    (tmp_path / "README.md").write_text("the team's own file\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "README.md"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-qm", "docs: readme"], check=True)
    result = run(["--vault", str(tmp_path), "log", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert [row["message"] for row in json.loads(result.stdout)] == ["backup 1"]


def test_diff_not_a_git_repository(tmp_path):
    result = run(["--vault", str(tmp_path), "diff"])
    assert result.exit_code == 2
    assert result.stderr == f"flowvault: {tmp_path}: not a git repository; run `flowvault init {tmp_path}`\n"


def test_unknown_ref(tmp_path):
    from flowvault.vault.repo import Vault

    vault, _ = Vault.init(tmp_path)
    vault.write("prod/flows/f/flow.json", json.dumps({"name": "f", "nodes": {}, "edges": {}}))
    vault.commit("backup 1")
    result = run(["--vault", str(tmp_path), "show", "f", "--at", "nosuchref"])
    assert result.exit_code == 2
    assert result.stderr == f"flowvault: 'nosuchref' is not a file, a folder or a commit of the vault {tmp_path}\n"


# --- launch, smoke, backup -----------------------------------------------------------------------------------------


def test_launch_input_file_that_is_not_text(idm_config, tmp_path):
    (tmp_path / "in.json").write_bytes(b"\x00\xff\xfe")
    result = run(["--config", str(idm_config), "launch", "idm-ok", "--input-file", str(tmp_path / "in.json")])
    assert result.exit_code == 2
    assert result.stderr == (f"flowvault: {tmp_path / 'in.json'}: not UTF-8 text; give a JSON object (or XML for "
                             "Smart Flows)\n")


def test_launch_error_names_the_launcher_once(idm_config):
    result = run(["--config", str(idm_config), "launch", "idm-ok"])
    assert result.exit_code == 3  # unreachable: the remote failed the command as a whole
    last = result.stderr.splitlines()[-1]
    assert last.startswith("flowvault: launcher idm-ok: POST /openidm/workflow/processinstance -> unreachable")
    assert last.count("idm-ok") == 1
    assert result.stdout.startswith("idm-ok: error in ") and result.stdout.count("idm-ok") == 1


def test_unknown_launcher_lists_the_configured_ones(idm_config):
    for command in ("launch", "smoke"):
        result = run(["--config", str(idm_config), command, "nope"])
        assert result.exit_code == 2
        assert result.stderr == "flowvault: unknown launcher 'nope'; configured launchers: idm-ok\n"


def test_missing_config_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWVAULT_CONFIG", raising=False)
    for args in (["backup"], ["launch", "x"], ["smoke"], ["restore", "f", "--to", "prod"]):
        result = run(args)
        assert result.exit_code == 2, args
        assert result.stderr == "flowvault: flowvault.toml: no such file; run `flowvault init` or pass --config FILE\n"


def test_backup_push_without_a_remote_fails_before_exporting(idm_config, tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    started = time.monotonic()
    result = run(["--config", str(idm_config), "backup", "--push"])
    assert time.monotonic() - started < 5  # the source is unreachable: exporting first would retry for a minute
    assert result.exit_code == 2
    assert result.stderr == (f"flowvault: {idm_config}: --push needs [vault].remote; "
                             'add remote = "origin" to [vault]\n')


def test_unknown_source(idm_config):
    result = run(["--config", str(idm_config), "backup", "--source", "nope"])
    assert result.exit_code == 2
    assert result.stderr == "flowvault: unknown source 'nope'; valid sources: idm\n"


def test_interrupt_exits_130_with_one_line(monkeypatch):
    import flowvault.vault.snapshot

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(flowvault.vault.snapshot, "resolve", interrupted)
    result = run(["diff"])
    assert result.exit_code == 130
    assert result.stderr == "flowvault: interrupted\n"


# --- rendering: no colour off a terminal, NO_COLOR on one -------------------------------------------------------------


def test_report_line_does_not_repeat_the_launcher():
    from flowvault.launch.base import ERROR, Result
    from flowvault.launch.report import result_line

    result = Result(launcher="sign-on", type="davinci", outcome=ERROR, duration=0.25,
                    message="launcher sign-on: POST /start -> 401: check DV_KEY")
    assert result_line(result) == "sign-on: error in 0.2 s: POST /start -> 401: check DV_KEY"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _smoke_results():
    from flowvault.launch.base import FAILED, PASSED, Result

    return [Result(launcher="ok", type="idm", outcome=PASSED, duration=0.1, message="ran"),
            Result(launcher="bad", type="idm", outcome=FAILED, duration=0.1, message="said no")]


def test_smoke_table_has_colour_on_a_terminal_and_none_with_no_color(monkeypatch):
    from flowvault.launch.report import table

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    tty = _Terminal()
    table(_smoke_results(), tty)
    assert COLOUR.search(tty.getvalue())
    monkeypatch.setenv("NO_COLOR", "1")
    tty = _Terminal()
    table(_smoke_results(), tty)
    assert "said no" in tty.getvalue() and not COLOUR.search(tty.getvalue())


def test_smoke_table_off_a_terminal_is_plain_text():
    from flowvault.launch.report import table

    text = table(_smoke_results(), io.StringIO())
    assert not ANSI.search(text)
    assert text.splitlines()[-1] == "1 passed, 1 failed, 0 blocked, 0 errors"


def test_no_progress_bar_in_ci_even_on_a_terminal(monkeypatch):
    from flowvault.launch.progress import LineProgress, progress_for
    from flowvault.ui import UI

    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("TERM", raising=False)
    assert UI(_Terminal()).interactive is False
    assert isinstance(progress_for("x", _Terminal()), LineProgress)


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI", "TERM", "FORCE_COLOR")}
    env.update(TERM="xterm-256color", **extra)
    return env


def test_diff_is_coloured_on_a_terminal_and_not_with_no_color():
    args = ["diff", str(OLD_EXPORT), str(NEW_EXPORT)]
    assert COLOUR.search(run_in_terminal(args, _env()))
    plain = run_in_terminal(args, _env(NO_COLOR="1"))
    assert "full-basic" in plain and not COLOUR.search(plain)


@pytest.mark.parametrize("args", [
    ["diff", str(OLD_EXPORT), str(NEW_EXPORT)],
    ["diff", str(OLD_EXPORT), str(NEW_EXPORT), "--format", "markdown"],
    ["--help"],
    ["diff", "--format", "xml"],
])
def test_piped_output_has_no_escape_codes(args):
    proc = subprocess.run([sys.executable, "-m", "flowvault", *args], capture_output=True, text=True, env=_env(),
                          timeout=60)
    assert proc.stdout or proc.stderr
    assert not ANSI.search(proc.stdout) and not ANSI.search(proc.stderr)


# --- shell completion ----------------------------------------------------------------------------------------------


def _complete(words: str, env_extra: dict | None = None) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(cword), "_FLOWVAULT_COMPLETE": "bash_complete",
           **(env_extra or {})}
    proc = subprocess.run([sys.executable, "-m", "flowvault"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if line.startswith("plain,")]


def test_completion_script_for_bash():
    env = {**os.environ, "_FLOWVAULT_COMPLETE": "bash_source"}
    proc = subprocess.run([sys.executable, "-m", "flowvault"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0
    assert "complete -o nosort -F _flowvault_completion flowvault" in proc.stdout


def test_completion_of_commands_and_choices():
    assert _complete("flowvault ba") == ["backup"]
    assert _complete("flowvault s") == ["sandbox", "show", "smoke", "status"]
    assert _complete("flowvault diff --format ") == ["text", "markdown", "json"]


def test_completion_of_configured_names(idm_config):
    assert _complete(f"flowvault --config {idm_config} launch ") == ["idm-ok"]
    assert _complete(f"flowvault --config {idm_config} smoke i") == ["idm-ok"]
    assert _complete(f"flowvault --config {idm_config} backup --source ") == ["idm"]
    assert _complete("flowvault --config /nonexistent.toml launch ") == []  # no traceback in the user's shell


# --- Ctrl-C during a real backup ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _slow_sandbox(tmp_path, env, latency_ms):
    """The path of the flowvault.toml of a `flowvault sandbox` subprocess answering after `latency_ms`."""
    config = tmp_path / "sb.toml"
    sandbox = subprocess.Popen([sys.executable, "-m", "flowvault", "sandbox", "--port", "0", "--latency-ms",
                                str(latency_ms), "--write-config", str(config)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not config.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert config.exists()
        yield config
    finally:
        sandbox.send_signal(signal.SIGINT)
        try:
            sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.kill()


def test_sigint_during_backup_exits_130_and_leaves_the_vault_clean(tmp_path):
    env = {**_env(), "FLOWVAULT_SANDBOX_SECRET": "sbx-ux-interrupt", "FLOWVAULT_REDACT_KEY": "k" * 32}
    with _slow_sandbox(tmp_path, env, 400) as config:
        vault = tmp_path / "vault"
        assert run(["init", str(vault)]).exit_code == 0
        args = [sys.executable, "-m", "flowvault", "--config", str(config), "--vault", str(vault), "backup"]
        # One export at a time, so that the backup is surely still running when interrupted, whatever the default
        # concurrency (with --jobs 16 the sandbox's flows take one round of 400 ms).
        backup = subprocess.Popen([*args, "--jobs", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        time.sleep(2.0)
        assert backup.poll() is None, "the backup ended before it could be interrupted"
        backup.send_signal(signal.SIGINT)
        out, err = backup.communicate(timeout=60)
        assert backup.returncode == 130, err
        assert err.splitlines()[-1] == "flowvault: interrupted"
        assert "Traceback" not in err
        git = ["git", "-C", str(vault)]
        assert subprocess.run([*git, "rev-parse", "--verify", "-q", "HEAD"], capture_output=True).returncode != 0
        assert subprocess.run([*git, "diff", "--cached", "--name-only"], capture_output=True,
                              text=True).stdout == ""
        assert not [p for p in vault.rglob("*") if ".fvtmp-" in p.name]
        again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert "committed" in again.stdout


def test_sigint_stops_sources_that_run_side_by_side_promptly(tmp_path):
    # Not on a terminal, with --jobs > 1, the sources run in threads of their own; Ctrl-C reaches the main thread
    # only, and used to wait until every export of every source was done.
    env = {**_env(), "FLOWVAULT_SANDBOX_SECRET": "sbx-ux-interrupt", "FLOWVAULT_REDACT_KEY": "k" * 32}
    with _slow_sandbox(tmp_path, env, 600) as config:
        vault = tmp_path / "vault"
        assert run(["init", str(vault)]).exit_code == 0
        # Two exports in flight: the sandbox's 9 listed flows take 5 rounds of 600 ms after the token and listing.
        args = [sys.executable, "-m", "flowvault", "--config", str(config), "--vault", str(vault), "backup",
                "--jobs", "2"]
        api = re.search(r'api_url = "(http://[^/]+)', config.read_text()).group(1)

        def exports() -> tuple[int, dict]:
            with urllib.request.urlopen(f"{api}/_sandbox/stats", timeout=5) as answer:
                routes = json.load(answer)["by_route"]
            return sum(n for route, n in routes.items() if route.startswith("POST") and "/versions/" in route), routes

        backup = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30  # a loaded machine starts the process slowly: wait for the first export
        while exports()[0] == 0 and backup.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert backup.poll() is None, "the backup ended before it could be interrupted"
        backup.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        out, err = backup.communicate(timeout=60)
        assert backup.returncode == 130, err
        assert time.monotonic() - interrupted < 3.0  # what was in flight ends (exports, the applications chain)
        started, routes = exports()
        assert 0 < started < 9, routes  # started before Ctrl-C, and no more: the sandbox lists 9 flows


# --- the console-script entry point (ends with os._exit once output is flushed) -----------------------------------


def test_entry_point_flushes_output_and_keeps_exit_codes(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "flowvault", "--help"], capture_output=True, text=True, env=_env(),
                        timeout=60)
    assert ok.returncode == 0 and "Usage: flowvault" in ok.stdout
    assert "Commands:" in ok.stdout and "sandbox" in ok.stdout.split("Commands:")[1]  # the whole help, flushed
    bad = subprocess.run([sys.executable, "-m", "flowvault", "--no-such-option"], capture_output=True, text=True,
                         env=_env(), timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no such option" in bad.stderr
    missing = subprocess.run([sys.executable, "-m", "flowvault", "--vault", str(tmp_path / "nowhere"), "log"],
                             capture_output=True, text=True, env=_env(), timeout=60)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_entry_point_with_a_closed_pipe_is_quiet():
    proc = subprocess.Popen([sys.executable, "-m", "flowvault", "--help"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    proc.stdout.close()  # the reader went away (`flowvault ... | head -0`)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 1) and b"Traceback" not in err and b"Exception ignored" not in err
