"""`flowvault backup` end to end against the sandbox on 127.0.0.1: what a nightly job would see."""

import json
import subprocess
import urllib.request

from backup_helpers import backup, call, git
from click.testing import CliRunner
from helpers import sandbox_token

from flowvault.cli import cli
from flowvault.sandbox.server import Sandbox

MAX_UNCHANGED_REQUESTS = 8  # per source, whatever the number of flows (issue #4)


def requests_by_prefix(sb, before: dict, prefix: str) -> int:
    after = call(sb, "GET", "/_sandbox/stats")["by_route"]
    return sum(n - before.get(route, 0) for route, n in after.items()
               if route.split(" ", 1)[1].startswith(prefix))


def seeded_flows(sb):
    from flowvault.sandbox import davinci

    env_id = davinci.ENV_ID
    token = sandbox_token(sb, env_id)
    req = urllib.request.Request(f"{sb.url}/v1/environments/{env_id}/flows",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as resp:
        return {f["id"]: f["name"] for f in json.load(resp)["_embedded"]["flows"]}


def index(vault, source="davinci"):
    return json.loads((vault / "snapshots" / source / "index.json").read_text())


def test_first_backup_commits_every_flow_second_commits_nothing_and_costs_few_requests(env):
    sb, vault = env
    flows = seeded_flows(sb)
    before = call(sb, "GET", "/_sandbox/stats")["by_route"]
    result = backup(vault, "--source", "davinci")
    assert result.exit_code == 0, result.output
    full_cost = requests_by_prefix(sb, before, "")
    idx = index(vault)
    assert set(idx["flows"]) == set(flows)
    committed = git(vault, "show", "--name-only", "--format=", "HEAD").split()
    for entry in idx["flows"].values():
        for name in ("flow.json", "layout.json", "meta.json"):
            assert f"snapshots/davinci/flows/{entry['slug']}/{name}" in committed
    assert "snapshots/davinci/variables.json" in committed and "snapshots/davinci/applications.json" in committed
    assert len(git(vault, "log", "--format=%H").split()) == 1

    before = call(sb, "GET", "/_sandbox/stats")["by_route"]
    result = backup(vault, "--source", "davinci")
    assert result.exit_code == 0, result.output
    assert "nothing changed; no commit" in result.stdout
    assert len(git(vault, "log", "--format=%H").split()) == 1
    unchanged_cost = requests_by_prefix(sb, before, "")
    assert unchanged_cost <= MAX_UNCHANGED_REQUESTS
    assert unchanged_cost < full_cost
    print(f"davinci requests: full {full_cost}, unchanged {unchanged_cost}")


def test_an_edit_yields_one_commit_touching_only_that_flow(env):
    sb, vault = env
    assert backup(vault, "--source", "davinci").exit_code == 0
    idx = index(vault)
    flow_id, entry = sorted(idx["flows"].items())[0]
    call(sb, "POST", f"/_sandbox/flows/{flow_id}/edit", {"/description": "edited by a designer"})
    result = backup(vault, "--source", "davinci")
    assert result.exit_code == 0, result.output
    assert len(git(vault, "log", "--format=%H").split()) == 2
    touched = git(vault, "show", "--name-only", "--format=", "HEAD").split()
    folder = f"snapshots/davinci/flows/{entry['slug']}/"
    assert f"{folder}flow.json" in touched
    assert all(p.startswith(folder) or p == "snapshots/davinci/index.json" for p in touched), touched
    message = git(vault, "log", "-1", "--format=%B")
    assert f"davinci: changed {entry['name'].strip()}" in message
    assert json.loads((vault / folder / "flow.json").read_text())["description"] == "edited by a designer"


def test_a_failing_export_keeps_the_flow_names_it_and_exits_4(env):
    sb, vault = env
    assert backup(vault, "--source", "davinci").exit_code == 0
    idx = index(vault)
    (bad_id, bad), (good_id, good) = sorted(idx["flows"].items())[:2]
    kept = (vault / "snapshots/davinci/flows" / bad["slug"] / "flow.json").read_bytes()
    call(sb, "POST", f"/_sandbox/flows/{bad_id}/edit", {"/description": "edited"})
    call(sb, "POST", f"/_sandbox/flows/{good_id}/edit", {"/description": "edited"})
    call(sb, "POST", "/_sandbox/faults", {"fail": [bad_id]})
    result = backup(vault, "--source", "davinci", "--latest-only")  # one commit for the run, naming the failure
    assert result.exit_code == 4, result.output
    assert bad["name"].strip() in result.stderr and "previous copy kept" in result.stderr
    assert (vault / "snapshots/davinci/flows" / bad["slug"] / "flow.json").read_bytes() == kept
    message = git(vault, "log", "-1", "--format=%B")
    assert f"FAILED {bad['name'].strip()}" in message and f"changed {good['name'].strip()}" in message
    # Cleared: the next run picks the flow up.
    call(sb, "POST", "/_sandbox/faults", {"fail": []})
    result = backup(vault, "--source", "davinci")
    assert result.exit_code == 0, result.output
    assert (vault / "snapshots/davinci/flows" / bad["slug"] / "flow.json").read_bytes() != kept


def test_no_commit_and_full(env):
    sb, vault = env
    result = backup(vault, "--source", "davinci", "--no-commit", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["committed"] is False and data["changes"]
    assert subprocess.run(["git", "-C", str(vault), "rev-parse", "HEAD"], capture_output=True).returncode != 0
    assert backup(vault, "--source", "davinci").exit_code == 0
    before = call(sb, "GET", "/_sandbox/stats")["by_route"]
    result = backup(vault, "--source", "davinci", "--full", "--format", "json")
    assert result.exit_code == 0
    exports = requests_by_prefix(sb, before, "/v1/environments/{envID}/flows/{flowID}/versions")
    assert exports == len(index(vault)["flows"])
    assert json.loads(result.stdout)["committed"] is False  # same content: still no commit


def test_two_clean_backups_are_identical(env, tmp_path):
    sb, vault = env
    assert backup(vault, "--source", "davinci").exit_code == 0
    with Sandbox(port=0) as sb2:
        other = tmp_path / "other"
        assert CliRunner().invoke(cli, ["init", str(other)]).exit_code == 0
        (other / "flowvault.toml").unlink()
        sb2.write_config(other / "flowvault.toml")
        assert backup(other, "--source", "davinci").exit_code == 0
    # Byte for byte, except the HAL links in meta.json, which name the sandbox's (random) port.
    def files(root):
        out = {}
        for path in sorted((root / "snapshots").rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if path.name == "meta.json":
                    data = json.dumps({k: v for k, v in json.loads(data).items() if k != "_links"}).encode()
                elif path.name == "index.json":
                    doc = json.loads(data)
                    for entry in doc["flows"].values():
                        entry["files"].pop("meta.json")
                    data = json.dumps(doc).encode()
                out[path.relative_to(root).as_posix()] = data
        return out

    mine, theirs = files(vault), files(other)
    assert mine.keys() == theirs.keys()
    assert [p for p in mine if mine[p] != theirs[p]] == []


def test_secrets_never_land(env):
    sb, vault = env
    assert backup(vault, "--source", "davinci").exit_code == 0
    for path in (vault / "snapshots").rglob("*"):
        if path.is_file():
            assert "SBXSECRET" not in path.read_text("utf-8", errors="replace"), path


def test_unknown_source_exits_2_listing_valid_names(env):
    sb, vault = env
    result = backup(vault, "--source", "nope")
    assert result.exit_code == 2
    assert "valid sources: davinci, idm" in result.stderr


def test_idm_first_backup_commits_every_workflow_then_nothing(env):
    sb, vault = env
    result = backup(vault, "--source", "idm")
    assert result.exit_code == 0, result.output
    deployed = call_idm(sb)
    idx = index(vault, "idm")
    assert set(idx["workflows"]) >= {d["key"] for d in deployed}
    for entry in idx["workflows"].values():
        assert (vault / "snapshots/idm/workflows" / f"{entry['slug']}.json").is_file()
    assert list((vault / "snapshots/idm/workflows").glob("*.bpmn20.xml"))
    before = call(sb, "GET", "/_sandbox/stats")["by_route"]
    result = backup(vault, "--source", "idm")
    assert result.exit_code == 0 and "nothing changed" in result.stdout
    assert requests_by_prefix(sb, before, "") <= MAX_UNCHANGED_REQUESTS


def call_idm(sb):
    req = urllib.request.Request(f"{sb.url}/openidm/workflow/processdefinition?_queryFilter=true",
                                 headers={"Authorization": "Bearer sandbox"})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)["result"]


def test_refused_credentials_fail_the_run_as_a_whole_and_change_nothing(env, monkeypatch):
    sb, vault = env
    assert backup(vault, "--source", "davinci").exit_code == 0
    head = git(vault, "rev-parse", "HEAD")
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "wrong-secret")
    result = backup(vault, "--source", "davinci")
    assert result.exit_code == 3, result.output
    assert "FLOWVAULT_SANDBOX_SECRET" in result.stderr and "wrong-secret" not in result.stderr
    assert git(vault, "rev-parse", "HEAD") == head
    assert git(vault, "status", "--porcelain", "--", "snapshots") == ""


def test_a_first_run_whose_every_source_fails_commits_nothing(env, monkeypatch):
    sb, vault = env
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "wrong-secret")
    result = backup(vault)
    assert result.exit_code == 3, result.output
    assert subprocess.run(["git", "-C", str(vault), "rev-parse", "--verify", "-q", "HEAD"],
                          capture_output=True).returncode != 0  # still no commit at all


def test_exports_normalized_in_worker_processes_are_the_same_as_in_the_threads(env):
    # flowvault.backup.workers: a DaVinci export's body is parsed, split, redacted and serialized in another process.
    import os
    import time

    from helpers import pid_of_caller

    from flowvault.backup.workers import Workers
    from flowvault.config import load_config
    from flowvault.normalize.redact import Redactor
    from flowvault.sources.davinci import Source

    sb, vault = env
    settings = load_config(vault / "flowvault.toml").sources["davinci"].settings
    redactor = Redactor.from_environment()
    with Workers(2) as workers:
        workers.start()
        deadline = time.monotonic() + 30
        while workers.call(pid_of_caller) == os.getpid():
            assert time.monotonic() < deadline, "no worker process came up"
            time.sleep(0.02)
        remote = Source("davinci", settings, redactor=redactor, call=workers.call)
        local = Source("davinci", settings, redactor=redactor)
        try:
            items = sorted(local.list().values(), key=lambda it: it.id)
            assert len(items) >= 5
            for item in items:
                assert remote.export(item) == local.export(item), item.name
        finally:
            remote.close()
            local.close()
