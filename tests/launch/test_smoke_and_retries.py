"""`flowvault smoke` (JUnit, Markdown, JSON), start-is-never-retried, polls-are-retried, Ctrl-C, no secrets out."""

import json

import pytest
from click.testing import CliRunner
from junitparser import Error, Failure, JUnitXml, Skipped

from flowvault.cli import cli
from flowvault.launch.base import Result, RunOptions
from flowvault.launch.runner import check_expect
from flowvault.sandbox import smartflows as sb_smartflows
from flowvault.sandbox.server import Sandbox, fault_for


def run(config_file, *args):
    return CliRunner().invoke(cli, ["--config", str(config_file), *args])


def add_quote_launcher(config_file):
    import re

    url = re.search(r'url = "(http://[^"]+/smartflows)"', config_file.read_text()).group(1)
    config_file.write_text(config_file.read_text() + f'''
[launchers.quote]
type = "smartflows"
url = "{url}"
flow_id = "{sb_smartflows.INPUT_ID}"
api_key = "${{FLOWVAULT_SANDBOX_SECRET}}"
''')


def test_smoke_junit_has_one_testcase_per_launcher_with_the_right_kinds(config_file, tmp_path):
    add_quote_launcher(config_file)
    junit = tmp_path / "smoke.xml"
    names = ["invision-ok", "invision-fail", "smartflows-ok", "smartflows-fail", "idm-ok", "idm-fail", "quote"]
    result = run(config_file, "smoke", *names, "--junit", str(junit))
    assert result.exit_code == 1, result.output
    cases = {case.name: case for suite in JUnitXml.fromfile(str(junit)) for case in suite}
    assert sorted(cases) == sorted(names)
    for name in ("invision-ok", "smartflows-ok", "idm-ok"):
        assert cases[name].is_passed, name
    for name in ("invision-fail", "smartflows-fail", "idm-fail"):
        assert isinstance(cases[name].result[0], Failure), name
    assert isinstance(cases["quote"].result[0], Skipped)
    out = json.loads(cases["idm-ok"].system_out)
    assert out["run_id"] and out["status"] == "ended"
    assert cases["invision-ok"].classname == "flowvault.invision"


def test_smoke_junit_path_that_cannot_be_written_is_refused_before_any_launch(config_file, sandbox, tmp_path):
    import urllib.request

    def requests():
        with urllib.request.urlopen(f"{sandbox.url}/_sandbox/stats", timeout=10) as answer:
            return json.load(answer)["requests"]

    before = requests()
    missing = tmp_path / "no-such-dir" / "x.xml"
    result = run(config_file, "smoke", "invision-ok", "--junit", str(missing))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"flowvault: --junit {missing}: the folder {missing.parent} does not exist; create it or give another path"]
    folder = run(config_file, "smoke", "invision-ok", "--junit", str(tmp_path))
    assert folder.exit_code == 2 and "is a directory" in folder.stderr, folder.output
    assert requests() == before  # no launcher ran


def test_smoke_all_by_default_and_markdown_and_json(config_file):
    md = run(config_file, "smoke", "--format", "markdown")
    assert md.exit_code == 1
    assert "| launcher |" in md.stdout and "idm-fail" in md.stdout and "FAILED" in md.stdout
    js = run(config_file, "smoke", "invision-ok", "idm-ok", "--format", "json")
    assert js.exit_code == 0, js.output
    doc = json.loads(js.stdout)
    assert doc["summary"]["ok"] is True and [r["launcher"] for r in doc["results"]] == ["invision-ok", "idm-ok"]


def test_timeout_is_a_junit_error(config_file, tmp_path):
    config_file.write_text(config_file.read_text().replace("timeout = 30", "timeout = 0.5"))
    text = config_file.read_text()
    text = text.replace('key = "osgiProcess"', 'key = "contractorOnboarding"')
    config_file.write_text(text)
    junit = tmp_path / "j.xml"
    result = run(config_file, "smoke", "idm-ok", "--junit", str(junit))
    assert result.exit_code == 1
    case = next(iter(next(iter(JUnitXml.fromfile(str(junit))))))
    assert isinstance(case.result[0], Error) and case.result[0].type == "Timeout"


def test_no_secret_in_any_output(config_file, tmp_path, secret):
    junit = tmp_path / "smoke.xml"
    outputs = []
    for fmt in ("text", "json", "markdown"):
        result = run(config_file, "smoke", "--format", fmt, "--junit", str(junit))
        outputs += [result.stdout, result.stderr, junit.read_text()]
    for name in ("invision-ok", "idm-fail", "smartflows-ok"):
        outputs.append(run(config_file, "launch", name, "--format", "json").output)
    for text in outputs:
        assert secret not in text
        assert "SBXSECRET" not in text


def _seed_where(pattern):
    """A seed whose first faults (fault_rate 0.5) match `pattern` (None = no fault, "fault" = 500/502/503/drop)."""
    for seed in range(5000):
        kinds = [fault_for(seed, 0.5, n) for n in range(len(pattern))]
        if all((k is None) if p is None else (k in ("500", "502", "503", "drop"))
               for k, p in zip(kinds, pattern, strict=True)):
            return seed
    raise AssertionError("no seed found")


def test_a_start_is_never_retried_when_the_connection_drops(secret, tmp_path):
    seed = next(s for s in range(5000) if fault_for(s, 1.0, 0) == "drop")
    with Sandbox(secret=secret, fault_rate=1.0, seed=seed) as sb:
        config = sb.write_config(tmp_path / "flowvault.toml")
        result = run(config, "launch", "idm-ok")
        stats = sb.ctx.stats.snapshot()
    assert result.exit_code == 3, result.output
    assert "not retried" in result.output
    assert stats["requests"] == 1
    assert stats["by_route"] == {"POST /openidm/workflow/processinstance": 1}


def test_polls_are_retried(secret, tmp_path):
    seed = _seed_where([None, "fault", "fault", None, None, None, None, None, None, None])
    with Sandbox(secret=secret, fault_rate=0.5, seed=seed) as sb:
        config = sb.write_config(tmp_path / "flowvault.toml")
        result = run(config, "launch", "invision-ok")
        stats = sb.ctx.stats.snapshot()["by_route"]
    assert result.exit_code == 0, result.output
    assert stats["POST /invision/api/pub/v1/dataflows/{id}/start"] == 1
    assert stats["GET /invision/api/pub/v1/dataflows/{id}/runs/{runId}/status"] >= 3


def test_ctrl_c_cancels_the_smartflows_execution(sandbox, secret):
    from flowvault.launch.smartflows import Launcher, Settings

    class Interrupt:
        def update(self, status, message="", percentage=None):
            if status == "Running":  # the execution exists: the user presses Ctrl-C
                raise KeyboardInterrupt

    settings = Settings(url=sandbox.url + "/smartflows", flow_id=sb_smartflows.SLOW_ID, api_key=secret)
    launcher = Launcher("slow", settings)
    with pytest.raises(KeyboardInterrupt):
        launcher.run(RunOptions(input={"a": "1"}, timeout=30, progress=Interrupt()))
    import requests

    body = requests.get(f"{sandbox.url}/smartflows/api/v1/flows/executions/{launcher.run_id}",
                        headers={"X-API-Key": secret}).json()
    assert body["status"] == "Canceled"


@pytest.mark.parametrize("expect,status,outcome,want", [
    ({"status": "Success"}, "Success", "passed", "passed"),
    ({"status": "Success"}, "Error", "failed", "failed"),
    ({"status": "Failed"}, "Failed", "failed", "passed"),  # an expected failure passes
    ({"json": {"state": {"output": {"model": {"x": 1}}}}}, "Success", "passed", "failed"),
    ({"json": {"a": [1]}}, "Success", "passed", "passed"),
])
def test_expect(expect, status, outcome, want):
    output = {"a": [1, 2], "state": {"output": {"model": {"x": 2}}}}
    result = check_expect(Result("n", "t", outcome, status=status, output=output), expect)
    assert result.outcome == want
