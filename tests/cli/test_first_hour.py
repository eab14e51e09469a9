"""Issue 19, the first hour: a command needs only the secrets it uses, says each thing once, shows its waits,
finds flows by the names people type, and its closing hints work."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from helpers import run_in_terminal

from flowvault.cli import cli

SECRET = "firsthour-SBXSECRET-51c2"


def run(args, **kwargs):
    result = CliRunner().invoke(cli, args, **kwargs)
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture
def sandbox(monkeypatch):
    from flowvault.sandbox.server import Sandbox

    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", SECRET)
    with Sandbox(port=0, secret=SECRET) as sb:
        yield sb


@pytest.fixture
def vault(sandbox, tmp_path):
    """A vault whose sources take their secrets from their own variables (as in the README), launchers from
    FLOWVAULT_SANDBOX_SECRET (as examples/github/smoke-after-deploy.yml sets only the launchers')."""
    path = tmp_path / "vault"
    assert run(["init", str(path)]).exit_code == 0
    config = path / "flowvault.toml"
    sandbox.write_config(config)
    text = config.read_text()
    text = re.sub(r'(\[sources\.davinci\][^\[]*?client_secret = )"\$\{FLOWVAULT_SANDBOX_SECRET\}"',
                  r'\1"${FLOWVAULT_PROD_CLIENT_SECRET}"', text)
    text = re.sub(r'(\[sources\.idm\][^\[]*?bearer_token = )"\$\{FLOWVAULT_SANDBOX_SECRET\}"',
                  r'\1"${IDM_TOKEN}"', text)
    assert "FLOWVAULT_PROD_CLIENT_SECRET" in text and "IDM_TOKEN" in text
    config.write_text(text)
    return path


# --- secrets: only those in use ----------------------------------------------------------------------------------


def test_smoke_needs_only_the_launchers_secrets(vault, monkeypatch):
    monkeypatch.delenv("FLOWVAULT_PROD_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("IDM_TOKEN", raising=False)
    result = run(["--config", str(vault / "flowvault.toml"), "smoke", "davinci-ok", "invision-ok"])
    assert result.exit_code == 0, result.output
    launch = run(["--config", str(vault / "flowvault.toml"), "launch", "davinci-ok"])
    assert launch.exit_code == 0, launch.output


def test_backup_of_one_source_needs_only_its_secret(vault, monkeypatch):
    monkeypatch.delenv("FLOWVAULT_PROD_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("IDM_TOKEN", SECRET)
    result = run(["--config", str(vault / "flowvault.toml"), "backup", "--source", "idm"])
    assert result.exit_code == 0, result.output
    assert "FLOWVAULT_PROD_CLIENT_SECRET" not in result.output
    # the source that is used still needs its variable: exit 2, naming it, before anything is contacted
    other = run(["--config", str(vault / "flowvault.toml"), "backup", "--source", "davinci"])
    assert other.exit_code == 2
    assert other.stderr.strip().splitlines() == [
        f"flowvault: {vault / 'flowvault.toml'}: [sources.davinci] client_secret: environment variable "
        "FLOWVAULT_PROD_CLIENT_SECRET is not set"]


def test_tables_not_in_use_are_still_validated(vault, monkeypatch):
    config = vault / "flowvault.toml"
    config.write_text(config.read_text().replace('bearer_token = "${IDM_TOKEN}"', 'bearer_token = "literal-token"'))
    result = run(["--config", str(config), "smoke", "davinci-ok"])
    assert result.exit_code == 2 and "bearer_token is a secret" in result.stderr
    config.write_text(config.read_text().replace('bearer_token = "literal-token"', 'bearer_tokn = "${IDM_TOKEN}"'))
    result = run(["--config", str(config), "smoke", "davinci-ok"])
    assert result.exit_code == 2 and "did you mean 'bearer_token'" in result.stderr


def test_lazy_config_keeps_unset_variables_until_the_table_is_used():
    from pathlib import Path

    from flowvault.config import parse_config
    from flowvault.errors import ConfigError

    text = ('[sources.prod]\ntype = "davinci"\nenvironment_id = "e"\nclient_id = "${CLIENT_ID}"\n'
            'client_secret = "${FLOWVAULT_PROD_CLIENT_SECRET}"\n')
    config = parse_config(text, Path("/cfg/flowvault.toml"), env={}, lazy=True)
    with pytest.raises(ConfigError, match=r"^/cfg/flowvault.toml: \[sources.prod\] client_id: environment variable "
                                          r"CLIENT_ID is not set$"):
        config.sources["prod"].require()
    with pytest.raises(ConfigError, match="CLIENT_ID is not set"):
        parse_config(text, Path("/cfg/flowvault.toml"), env={})  # strict by default


# --- sandbox --write-config --------------------------------------------------------------------------------------


def test_write_config_leaves_an_existing_file_untouched(tmp_path):
    config = tmp_path / "flowvault.toml"
    config.write_text("# my own config\n")
    result = run(["sandbox", "--port", "0", "--write-config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"flowvault: {config} exists; --write-config leaves it as it is: give another file, or --force"]
    assert config.read_text() == "# my own config\n"


def test_sandbox_write_config_force_replaces_the_file(tmp_path):
    import os
    import subprocess
    import sys
    import time

    config = tmp_path / "flowvault.toml"
    config.write_text("# my own config\n")
    proc = subprocess.Popen([sys.executable, "-m", "flowvault", "sandbox", "--port", "0", "--write-config",
                             str(config), "--force"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "FLOWVAULT_SANDBOX_SECRET": SECRET})
    try:
        deadline = time.monotonic() + 20
        while "[sources.davinci]" not in config.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "[sources.davinci]" in config.read_text()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


# --- each message once; waits said ---------------------------------------------------------------------------------


def repeated(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    return sorted({line for line in lines if lines.count(line) > 1})


def test_a_backup_repeats_no_line(vault, monkeypatch):
    monkeypatch.setenv("FLOWVAULT_PROD_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("IDM_TOKEN", SECRET)
    config = str(vault / "flowvault.toml")
    first = run(["--config", config, "backup"])  # result.output: stdout and stderr as a terminal shows them
    assert first.exit_code == 0 and repeated(first.output) == [], first.output
    assert "davinci: 9 listed, 9 exported, 0 unchanged" in first.stdout
    again = run(["--config", config, "backup"])
    assert again.exit_code == 0 and repeated(again.output) == [], again.output
    monkeypatch.setenv("FLOWVAULT_PROD_CLIENT_SECRET", "wrong-secret-value")
    monkeypatch.setenv("IDM_TOKEN", "wrong-secret-value")
    wrong = run(["--config", config, "backup"])
    assert wrong.exit_code == 3 and repeated(wrong.output) == [], wrong.output
    assert wrong.output.count("check FLOWVAULT_PROD_CLIENT_SECRET") == 1, wrong.output
    assert wrong.output.count("check IDM_TOKEN") == 1, wrong.output


def test_a_backup_waiting_on_the_lock_says_so(vault, monkeypatch):
    import subprocess
    import sys
    import time

    monkeypatch.setenv("FLOWVAULT_PROD_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("IDM_TOKEN", SECRET)
    lock = vault / ".git" / "flowvault.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import os, sys, time, filelock\n"
        f"lock = filelock.FileLock({str(lock)!r}); lock.acquire()\n"
        f"open({str(lock) + '.pid'!r}, 'w').write(str(os.getpid()))\n"
        "print('held', flush=True); time.sleep(2.5)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        result = run(["--config", str(vault / "flowvault.toml"), "backup", "--source", "idm"])
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert result.exit_code == 0, result.output
    assert waited >= 1.5
    assert f"waiting for the run holding .git/flowvault.lock (pid {holder.pid})" in result.stderr, result.stderr


# --- NO_COLOR on a terminal -----------------------------------------------------------------------------------------


def test_no_color_on_a_terminal_means_no_escape_codes_and_no_animation(vault):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TERM", "FORCE_COLOR", "GITHUB_ACTIONS")}
    env.update(TERM="xterm-256color", NO_COLOR="1", FLOWVAULT_PROD_CLIENT_SECRET=SECRET, IDM_TOKEN=SECRET,
               COLUMNS="120")
    config = str(vault / "flowvault.toml")
    for args in (["backup"], ["smoke", "davinci-ok", "invision-ok", "invision-fail"], ["log"]):
        seen = run_in_terminal(["--config", config, *args], env)
        assert "\x1b" not in seen, (args, seen)
        assert "\r" not in seen.replace("\r\n", "\n"), (args, seen)  # the terminal's own \r\n aside
        assert seen.strip(), args


# --- finding flows by the names people type -------------------------------------------------------------------------


@pytest.fixture
def backed_up(vault, monkeypatch):
    monkeypatch.setenv("FLOWVAULT_PROD_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("IDM_TOKEN", SECRET)
    assert run(["--config", str(vault / "flowvault.toml"), "backup"]).exit_code == 0
    return vault


def test_show_finds_a_flow_by_its_name_in_lower_case(backed_up):
    import json

    result = run(["--vault", str(backed_up), "show", "sandbox api success"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "Sandbox API Success"
    log = run(["--vault", str(backed_up), "log", "SANDBOX API SUCCESS"])
    assert log.exit_code == 0 and log.stdout.strip(), log.output


def test_show_suggests_close_names_for_an_unknown_one(backed_up):
    result = run(["--vault", str(backed_up), "show", "PingOne Sign On"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "flowvault: no flow named 'PingOne Sign On' in the vault at HEAD; did you mean "
        "'PingOne Sign On with Registration, Password Reset and Recovery'"), lines
    typo = run(["--vault", str(backed_up), "show", "Sandbox API Sucess"])
    assert typo.exit_code == 2 and "did you mean 'Sandbox API Success'" in typo.stderr, typo.stderr
    log = run(["--vault", str(backed_up), "log", "sandbox api sucess"])
    assert log.exit_code == 2 and "did you mean 'Sandbox API Success'" in log.stderr, log.stderr


def test_a_name_that_differs_only_in_case_from_two_flows_names_both():
    from flowvault.vault.snapshot import FlowDoc, FlowEntry, find_entries

    same, upper = (FlowEntry("dv", slug, FlowDoc({"name": name, "id": slug})) for slug, name in
                   (("same", "same"), ("same-2", "SAME")))
    assert find_entries([same, upper], "SAME") == [upper]  # exact wins
    assert find_entries([same, upper], "Same") == [same, upper]  # ambiguous ignoring case: both, for the message
    assert find_entries([same, upper], "dv/same-2") == [upper]


def test_shell_completion_of_flow_names(backed_up):
    import os
    import subprocess
    import sys

    words = f"flowvault --vault {backed_up} show sandbox"
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1),
           "_FLOWVAULT_COMPLETE": "bash_complete"}
    proc = subprocess.run([sys.executable, "-m", "flowvault"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [line.split(",", 1)[1] for line in proc.stdout.splitlines()] == [
        "Sandbox API Failure", "Sandbox API Success", "Sandbox failing script"]


# --- launch and smoke -------------------------------------------------------------------------------------------------


def test_an_unreachable_service_is_exit_3_for_launch_and_smoke(vault):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    config = vault / "flowvault.toml"
    config.write_text(re.sub(r"http://127\.0\.0\.1:\d+", dead, config.read_text()))
    launch = run(["--config", str(config), "launch", "invision-ok"])
    assert launch.exit_code == 3, launch.output
    assert "unreachable" in launch.stderr and "may have run" not in launch.output  # nothing was sent
    smoke = run(["--config", str(config), "smoke", "davinci-ok", "invision-ok"])
    assert smoke.exit_code == 3, smoke.output
    assert smoke.stderr.strip().splitlines()[-1].startswith("flowvault: no smoke test could run")


def test_smoke_that_ran_and_failed_is_still_exit_1(vault):
    result = run(["--config", str(vault / "flowvault.toml"), "smoke", "davinci-ok", "davinci-fail"])
    assert result.exit_code == 1, result.output


def test_smoke_and_launch_say_each_result_once(vault, monkeypatch):
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "wrong-secret-value")
    smoke = run(["--config", str(vault / "flowvault.toml"), "smoke", "davinci-ok", "invision-fail"])
    assert smoke.exit_code == 3 and repeated(smoke.output) == [], smoke.output
    assert smoke.output.count("check FLOWVAULT_SANDBOX_SECRET (1999: Invalid API key)") == 1, smoke.output
    launch = run(["--config", str(vault / "flowvault.toml"), "launch", "davinci-ok"])
    assert launch.exit_code == 3 and launch.output.count("check FLOWVAULT_SANDBOX_SECRET") == 1, launch.output


def test_launch_no_wait_says_started(vault):
    result = run(["--config", str(vault / "flowvault.toml"), "launch", "invision-ok", "--no-wait"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("invision-ok: started (") and "passed" not in result.stdout, result.stdout


# --- demo --keep: every closing hint works ---------------------------------------------------------------------------


def test_every_hint_of_demo_keep_works(tmp_path, monkeypatch):
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "placeholder")
    monkeypatch.delenv("FLOWVAULT_SANDBOX_SECRET")  # the demo makes its own secret, as for a new user
    keep = tmp_path / "demo vault"
    result = run(["demo", "--keep", str(keep)])
    assert result.exit_code == 0, result.output
    said = result.stderr

    files = re.search(r"The PR comment version is in (.+); the flow as a Mermaid picture in (.+)\.\n", said)
    assert files, said
    assert all(os.path.getsize(path) > 0 for path in files.groups())

    hints = [line.strip().split("    #")[0] for line in said.splitlines() if line.startswith("  cd ")]
    assert len(hints) == 4, said
    env = {k: v for k, v in os.environ.items() if k not in ("FLOWVAULT_SANDBOX_SECRET", "FLOWVAULT_CONFIG")}
    env["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}"
    (tmp_path / "bin").mkdir()
    shim = tmp_path / "bin" / "flowvault"  # this checkout's flowvault, whatever is installed
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m flowvault "$@"\n')
    shim.chmod(0o755)

    def shell(command):
        return subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=120)

    log, diff, sandbox, smoke = hints
    assert "flowvault log" in log and "flowvault sandbox" in sandbox and "flowvault smoke" in smoke
    for command in (log, diff):  # every printed hint exits 0 (the sandbox's and the smoke one below too)
        done = shell(command)
        assert done.returncode == 0 and done.stdout.strip(), (command, done.stderr)
    port = int(re.search(r"--port (\d+)", sandbox).group(1))
    server = subprocess.Popen(["bash", "-c", sandbox], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        done = shell(smoke)
        # as the hint says: each launcher it names passes; none errors (secret, port, state right)
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert done.stdout.strip().splitlines()[-1] == "4 passed, 0 failed, 0 blocked, 0 errors", done.stdout
        # the -fail launchers are said apart, as failing on purpose, and they do
        failing = re.search(r"^The (.+) launchers fail on purpose: `(flowvault smoke [\w-]+)` there exits 1\.$",
                            said, re.M)
        assert failing and failing.group(1) == "davinci-fail, invision-fail, smartflows-fail, idm-fail", said
        on_purpose = shell(smoke.split("flowvault smoke")[0] + failing.group(2))
        assert on_purpose.returncode == 1 and "1 failed" in on_purpose.stdout, on_purpose.stderr
    finally:
        os.killpg(server.pid, signal.SIGINT)
        _, stopped = server.communicate(timeout=30)
    assert server.returncode == 0, stopped  # Ctrl-C is how the sandbox hint ends: not a failure


# --- local first; retries said ----------------------------------------------------------------------------------------


def _requests(sandbox) -> int:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/stats", timeout=10) as answer:
        return json.load(answer)["requests"]


def test_backup_checks_the_vault_and_the_push_remote_before_contacting_the_service(sandbox, vault, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.setenv("FLOWVAULT_PROD_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("IDM_TOKEN", SECRET)
    config = vault / "flowvault.toml"
    config.write_text(config.read_text().replace('path = "."', 'path = "."\nremote = "origin"', 1))
    push = run(["--config", str(config), "backup", "--push"])
    assert push.exit_code == 3 and "no git remote 'origin'" in push.stderr, push.output
    outside = tmp_path / "elsewhere" / "flowvault.toml"
    outside.parent.mkdir()
    outside.write_text(config.read_text().replace('path = "."', 'path = "../no-such-vault"', 1))
    missing = run(["--config", str(outside), "backup"])
    assert missing.exit_code == 2 and "[vault] path of" in missing.stderr, missing.output
    assert _requests(sandbox) == 0  # not even a token was asked for


def test_retries_are_said_once_per_call_at_default_verbosity(vault, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("IDM_TOKEN", SECRET)
    config = vault / "flowvault.toml"
    config.write_text(re.sub(r"http://127\.0\.0\.1:\d+", dead, config.read_text()))
    result = run(["--config", str(config), "backup", "--source", "idm"])
    assert result.exit_code == 3, result.output
    retrying = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert len(retrying) == 1, result.stderr
    assert retrying[0].startswith("idm: retrying GET /openidm/workflow/processdefinition (1/3) after "), retrying
    assert "refused" in retrying[0]


def _dead_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _unreachable_backup(config, monkeypatch, *args):
    monkeypatch.setenv("FLOWVAULT_PROD_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("IDM_TOKEN", SECRET)
    config.write_text(re.sub(r"http://127\.0\.0\.1:\d+", _dead_url(), config.read_text()))
    return run(["--config", str(config), "backup", *args])


def test_an_unreachable_backup_says_each_failure_once(vault, monkeypatch):
    result = _unreachable_backup(vault / "flowvault.toml", monkeypatch)
    assert result.exit_code == 3, result.output
    assert repeated(result.output) == [], result.output  # the token was asked for (and retried) by one thread
    retrying = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert sorted(line.split(":")[0] for line in retrying) == ["davinci", "idm"], result.stderr
    for name in ("davinci", "idm"):  # one line per failed source, carrying the reason
        lines = [line for line in result.output.splitlines() if line.startswith(f"{name}: ") and "retrying" not in line]
        assert len(lines) == 1 and "FAILED" in lines[0] and "unreachable" in lines[0], result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "flowvault: every source failed, nothing changed: davinci, idm; see the lines above for why")
    assert "--no-commit" not in result.output and result.stdout == "", result.output


def test_an_unreachable_backup_in_a_plain_git_repo_names_the_network_not_git(vault, tmp_path, monkeypatch):
    import subprocess

    plain = tmp_path / "plain"
    subprocess.run(["git", "init", "-q", str(plain)], check=True)
    config = plain / "flowvault.toml"
    config.write_text((vault / "flowvault.toml").read_text())
    result = _unreachable_backup(config, monkeypatch, "--source", "davinci")
    assert result.exit_code == 3, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("flowvault: davinci: POST ") and "unreachable" in last, result.output
    assert "git" not in result.output and repeated(result.output) == [], result.output


# --- --format json on failure ---------------------------------------------------------------------------------------


def _json_commands():
    import click

    return sorted(name for name, command in cli.commands.items()
                  if any(p.name == "fmt" and isinstance(p.type, click.Choice) and "json" in p.type.choices
                         for p in command.params))


@pytest.mark.parametrize("name", _json_commands())
def test_format_json_prints_json_with_the_error_on_failure(name, tmp_path):
    import json

    (tmp_path / "a-file").write_text("")
    args = {"init": [str(tmp_path / "a-file" / "vault")], "show": ["x"], "restore": ["x", "--to", "davinci"],
            "launch": ["x"]}.get(name, [])
    result = run(["--config", str(tmp_path / "missing.toml"), "--vault", str(tmp_path / "missing"), name, *args,
                  "--format", "json"])
    assert result.exit_code == 2, result.output
    doc = json.loads(result.stdout)
    assert doc["exit_status"] == 2 and doc["error"] and result.stderr.startswith("flowvault: "), result.output


def test_json_is_the_error_only_when_format_json_was_asked_for(backed_up):
    """`show`'s default format is json: its error on a terminal was printed twice, as a line and as JSON."""
    import json

    result = run(["--vault", str(backed_up), "show", "no such flow"])
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    asked = run(["--vault", str(backed_up), "show", "no such flow", "--format", "json"])
    assert asked.exit_code == 2 and json.loads(asked.stdout)["exit_status"] == 2, asked.output


def test_verbose_is_accepted_after_the_command_too(backed_up):
    import logging

    for args in (["-v", "log"], ["log", "-v"], ["log", "--verbose"]):
        result = run(["--vault", str(backed_up), *args])
        assert result.exit_code == 0, (args, result.output)
        assert logging.getLogger("flowvault").level == logging.INFO, args
    both = run(["--vault", str(backed_up), "-v", "log", "-v"])  # -v twice: -vv
    assert both.exit_code == 0 and logging.getLogger("flowvault").level == logging.DEBUG, both.output
    quiet = run(["--vault", str(backed_up), "log"])
    assert quiet.exit_code == 0 and logging.getLogger("flowvault").level == logging.WARNING


# --- small items ---------------------------------------------------------------------------------------------------


def test_log_of_an_empty_vault_exits_2_like_diff_and_show(tmp_path):
    assert run(["init", str(tmp_path)]).exit_code == 0
    for args in (["log"], ["diff"], ["show", "x"]):
        assert run(["--vault", str(tmp_path), *args]).exit_code == 2, args


def test_init_template_does_not_list_the_default_patterns_as_extras(tmp_path):
    from flowvault.normalize.redact import DEFAULT_PATTERNS

    assert run(["init", str(tmp_path)]).exit_code == 0
    line = next(line for line in (tmp_path / "flowvault.toml").read_text().splitlines() if "redact =" in line)
    assert not any(pattern in line.split("#", 2)[1] for pattern in DEFAULT_PATTERNS), line


def test_restore_to_a_non_davinci_source_reads_well(vault, monkeypatch):
    monkeypatch.setenv("IDM_TOKEN", SECRET)
    result = run(["--config", str(vault / "flowvault.toml"), "restore", "x", "--to", "idm"])
    assert result.exit_code == 2 and "a idm" not in result.stderr and "of type 'idm'" in result.stderr, result.stderr


def test_smoke_table_keeps_run_ids_whole_at_120_columns(monkeypatch):
    import io

    from flowvault.launch.base import PASSED, Result
    from flowvault.launch.report import table

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.delenv("NO_COLOR", raising=False)
    run_id = "53aea559-70cb-56ff-b828-0de62c554de1"
    results = [Result(launcher="smartflows-ok", type="smartflows", outcome=PASSED, run_id=run_id, status="Success",
                      duration=0.4, message="the flow execution succeeded " * 3)]
    tty = Terminal()
    table(results, tty)
    assert run_id in tty.getvalue(), tty.getvalue()


def test_canonical_format_doc_cites_only_what_users_have():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "canonical-format.md").read_text()
    assert "DESIGN.md" not in text and "unkeyed" not in text.replace("unkeyed hash", "")


# --- GitHub Actions --------------------------------------------------------------------------------------------------


def test_in_github_actions_smoke_and_diff_annotate_and_write_the_step_summary(vault, tmp_path, monkeypatch):
    from pathlib import Path

    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    smoke = run(["--config", str(vault / "flowvault.toml"), "smoke", "davinci-ok", "davinci-fail"])
    assert smoke.exit_code == 1, smoke.output
    errors = [line for line in smoke.stderr.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1
    assert errors[0].startswith("::error title=flowvault smoke%3A davinci-fail::davinci-fail: failed"), errors
    assert "::" not in smoke.stdout
    assert summary.read_text().startswith("### flowvault smoke: FAILED")
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "davinci"
    diff = run(["diff", str(fixtures / "dvclientgo__davinci_test_flows_full-basic.json"),
                str(fixtures / "dvclientgo__davinci_test_flows_full-basic-additionalproperties.json"), "--exit-code"])
    assert diff.exit_code == 1
    assert any(line.startswith("::warning title=flowvault diff::") for line in diff.stderr.splitlines()), diff.stderr
    assert summary.read_text().count("\n") > 5 and "full-basic" in summary.read_text()


def test_outside_github_actions_no_workflow_commands(vault, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    smoke = run(["--config", str(vault / "flowvault.toml"), "smoke", "davinci-fail"])
    assert smoke.exit_code == 1 and "::error" not in smoke.output


# --- packaging and the CI examples -----------------------------------------------------------------------------------


def test_examples_install_flowvault_from_a_pinned_git_url():
    from pathlib import Path

    examples = sorted((Path(__file__).resolve().parents[2] / "examples" / "github").glob("*.yml"))
    assert examples
    for path in examples:
        installs = [line for line in path.read_text().splitlines() if "pip install" in line]
        pinned = r'"flowvault @ git\+https://\S+@v\d+\.\d+\.\d+"'
        assert installs and all(re.search(pinned, line) for line in installs), (path.name, installs)


def test_package_metadata_is_complete_for_sdist_and_wheel():
    import sys
    from pathlib import Path

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    for key in ("name", "description", "readme", "requires-python", "license", "dependencies", "classifiers",
                "keywords", "scripts"):
        assert project.get(key), key
    assert isinstance(project["license"], str)  # an SPDX expression (PEP 639), not the deprecated table
