"""`flowvault launch` against the sandbox: exit codes, the result record, timeouts, blocked runs, retries."""

import json

import pytest
from click.testing import CliRunner

from flowvault.cli import cli
from flowvault.sandbox import idm as sb_idm
from flowvault.sandbox import invision as sb_invision
from flowvault.sandbox import smartflows as sb_smartflows

TYPES = ("invision", "smartflows", "idm")


def run(config_file, *args):
    result = CliRunner().invoke(cli, ["--config", str(config_file), *args])
    return result


def add_launcher(config_file, name, table):
    lines = [f"\n[launchers.{name}]"]
    for key, value in table.items():
        lines.append(f"{key} = {json.dumps(value)}")
    config_file.write_text(config_file.read_text() + "\n".join(lines) + "\n")


@pytest.mark.parametrize("kind", TYPES)
def test_ok_launcher_exits_0_and_reports_its_run(config_file, kind):
    result = run(config_file, "launch", f"{kind}-ok", "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["outcome"] == "passed"
    assert record["launcher"] == f"{kind}-ok" and record["type"] == kind
    assert record["run_id"]
    assert record["status"] in ("Succeeded", "Success", "ended")


@pytest.mark.parametrize("kind", TYPES)
def test_fail_launcher_exits_1_with_the_flows_message(config_file, kind):
    result = run(config_file, "launch", f"{kind}-fail")
    assert result.exit_code == 1, result.output
    assert f"{kind}-fail: failed" in result.stdout


def test_idm_fail_carries_the_script_error(config_file):
    result = run(config_file, "launch", "idm-fail", "--format", "json")
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record["outcome"] == "failed"
    assert "no such user; cannot provision the account" in record["message"]


def test_unknown_launcher_is_a_config_error_listing_valid_names(config_file):
    result = run(config_file, "launch", "nope")
    assert result.exit_code == 2
    assert "unknown launcher 'nope'" in result.stderr
    assert "idm-ok" in result.stderr and "invision-fail" in result.stderr


def test_bad_credentials_are_a_service_failure_exit_3(config_file, monkeypatch):
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "wrong-SBXSECRET-key")
    result = run(config_file, "launch", "invision-ok")
    assert result.exit_code == 3, result.output
    assert "401" in result.output
    assert "wrong-SBXSECRET-key" not in result.output


def test_idm_suspended_is_followed_until_it_ends(config_file):
    add_launcher(config_file, "approval", {"type": "idm", "url": _url(config_file, "idm"),
                                           "key": sb_idm.APPROVAL_KEY, "username": "openidm-admin",
                                           "password": "${FLOWVAULT_SANDBOX_SECRET}", "poll_interval": 0.2})
    result = run(config_file, "launch", "approval", "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "ended" and record["output"]["endActivityId"] == "end"


def test_idm_timeout_exits_1_naming_the_step_it_waits_on(config_file):
    add_launcher(config_file, "onboarding", {"type": "idm", "url": _url(config_file, "idm"),
                                             "key": sb_idm.WAITING_KEY, "username": "openidm-admin",
                                             "password": "${FLOWVAULT_SANDBOX_SECRET}", "poll_interval": 0.2})
    result = run(config_file, "launch", "onboarding", "--timeout", "0.8", "--format", "json")
    assert result.exit_code == 1, result.output
    record = json.loads(result.stdout)
    assert record["timed_out"] is True and record["outcome"] == "error"
    assert "decideApprovalTask" in record["waiting_on"]
    assert "Approve Contractor" in record["message"]


def test_invision_timeout_exits_1_with_run_id(config_file):
    add_launcher(config_file, "cube", {"type": "invision", "url": _url(config_file, "invision"),
                                       "dataflow_id": sb_invision.SLOW_ID, "api_key": "${FLOWVAULT_SANDBOX_SECRET}",
                                       "poll_interval": 0.2})
    result = run(config_file, "launch", "cube", "--timeout", "1")
    assert result.exit_code == 1, result.output
    assert "did not finish within 1 s" in result.stdout
    assert "run " in result.stdout


def test_smartflows_user_input_is_blocked_not_a_hang(config_file):
    add_launcher(config_file, "quote", {"type": "smartflows", "url": _url(config_file, "smartflows"),
                                        "flow_id": sb_smartflows.INPUT_ID, "api_key": "${FLOWVAULT_SANDBOX_SECRET}"})
    result = run(config_file, "launch", "quote", "--format", "json", "--timeout", "20")
    assert result.exit_code == 1, result.output
    record = json.loads(result.stdout)
    assert record["outcome"] == "blocked" and record["status"] == "UserInput"
    assert record["duration"] < 5


def test_smartflows_renders_input_pairs_as_xml(config_file, sandbox):
    result = run(config_file, "launch", "smartflows-ok", "--input", "note=a<b & c", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["output"]["state"]["inputData"]["data"]
    assert data["note"] == "a<b & c" and data["invoiceNumber"] == "INV-1001"


def test_smartflows_xml_input_file_is_sent_as_is(config_file, tmp_path):
    body = tmp_path / "in.xml"
    body.write_text("<invoice><number>7</number></invoice>")
    result = run(config_file, "launch", "smartflows-ok", "--input-file", str(body), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"]["state"]["inputData"] == {"invoice": {"number": "7"}}


def test_no_wait_returns_the_run_id_at_once(config_file):
    add_launcher(config_file, "cube", {"type": "invision", "url": _url(config_file, "invision"),
                                       "dataflow_id": sb_invision.SLOW_ID, "api_key": "${FLOWVAULT_SANDBOX_SECRET}"})
    result = run(config_file, "launch", "cube", "--no-wait", "--format", "json")
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["run_id"] and record["status"] == "Pending"


def _url(config_file, kind):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(config_file.read_text())["launchers"][f"{kind}-ok"]["url"]


def test_run_launcher_from_a_script_sends_the_configured_input(monkeypatch):
    # The README's library call, run_launcher(cfg, config), sends the launcher's `input` as `smoke` does.
    from flowvault.launch import runner

    seen = {}

    class Launcher:
        def run(self, options):
            seen["input"] = options.input
            from flowvault.launch.base import PASSED, Result

            return Result("x", "davinci", PASSED)

    monkeypatch.setattr(runner, "make_launcher", lambda cfg: Launcher())
    cfg = type("Cfg", (), {"input": {"userId": "u-1"}, "settings": object(), "timeout": 5.0, "expect": {},
                           "type": "davinci", "name": "x"})()
    runner.run_launcher(cfg, None, apply_expect=False)
    assert seen["input"] == {"userId": "u-1"}
