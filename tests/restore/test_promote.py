"""Issue 17, "Must show": promotion from staging to prod in a sandbox serving `--environments staging,prod`."""

import json

import pytest

from tests.restore.restore_helpers import env_store, hook, writes

FLOW = "Sandbox API Success"  # the flow davinci-ok-prod's policy runs
FOLDER = "sandbox-api-success"
NEW_VARIABLE = {"name": "promotedGreeting##SK##company", "context": "company", "type": "property",
                "visibility": "private", "fields": {"type": "string", "displayName": "Promoted greeting",
                                                    "mutable": True, "value": "hello from staging"}}


def _flow_id(sb, env: str, name: str = FLOW) -> str:
    store = env_store(sb, env)
    [flow] = [f for f in store.flows() if store.current(f).get("name") == name]
    return flow["id"]


def _edit_in_staging(world, value: str, variables: list | None = None) -> None:
    edits = {"/graphData/elements/nodes/0/data/properties/leftValueA/value": value}
    if variables is not None:
        edits["/variables"] = variables
    hook(world.sb, f"/_sandbox/flows/{_flow_id(world.sb, 'staging')}/edit", edits)


def test_dry_run_of_a_promotion_shows_flow_and_connector_steps(envs):
    _edit_in_staging(envs, "edited in staging", [NEW_VARIABLE])
    envs.backup("--source", "staging")
    before = hook(envs.sb, "/_sandbox/stats")
    result = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    assert writes(before, hook(envs.sb, "/_sandbox/stats")) == {}
    steps = json.loads(result.stdout)["steps"]
    assert all({"kind", "name", "action"} <= set(s) for s in steps)
    by_kind = {}
    for s in steps:
        by_kind.setdefault(s["kind"], []).append(s)
    prod_flow = _flow_id(envs.sb, "prod")
    assert [(s["name"], s["action"], s["id"]) for s in by_kind["flow"]] == [(FLOW, "update", prod_flow)]
    prod_instances = {i["id"]: i for i in env_store(envs.sb, "prod").data["connectorInstances"]}
    assert all(s["action"] == "map" and s["to"] in prod_instances for s in by_kind["connector"])
    assert {(s["name"], prod_instances[s["to"]]["name"]) for s in by_kind["connector"]} == \
        {("Http", "Http"), ("Functions", "Functions")}
    assert [(s["name"], s["action"], s["via"]) for s in by_kind["variable"]] == \
        [("company/promotedGreeting", "create", "variables")]
    assert [(s["name"], s["action"], s["version"]) for s in by_kind["policy"]] == \
        [("Sandbox Smoke Tests/sandbox-ok", "unchanged", -1)]
    # the order they apply in
    assert [s["kind"] for s in steps] == ["connector"] * 2 + ["variable", "flow", "policy"]

    text = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--dry-run")
    assert text.exit_code == 0
    assert text.stdout.splitlines()[1].split() == ["kind", "action", "name", "detail"]


def test_ambiguous_name_without_from_lists_the_sources(envs):
    envs.backup()
    result = envs.run("restore", FLOW, "--to", "prod", "--dry-run")
    assert result.exit_code == 2
    # (the sandbox's secret is "sandbox", so the folder names show masked here)
    assert f"{FLOW!r} names 2 flows at HEAD" in result.stderr
    assert "pick the source with --from (prod, staging)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_promoted_flow_equals_staging_and_its_policy_passes(envs):
    _edit_in_staging(envs, "edited in staging", [NEW_VARIABLE])
    envs.backup()
    result = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--deploy")
    assert result.exit_code == 0, result.output
    assert "variable company/promotedGreeting: created" in result.stderr
    assert f"flow '{FLOW}': deployed" in result.stderr
    envs.backup("--source", "prod")
    diff = envs.run("diff", str(envs.vault / "snapshots/staging/flows" / FOLDER),
                    str(envs.vault / "snapshots/prod/flows" / FOLDER), "--level", "config", "--exit-code",
                    "--format", "json")
    assert diff.exit_code == 0, diff.output
    assert json.loads(diff.stdout)["changes"] == []
    launch = envs.run("launch", "davinci-ok-prod")
    assert launch.exit_code == 0, launch.output
    # prod's node uses prod's connector instance, not staging's
    prod_meta = json.loads((envs.vault / "snapshots/prod/flows" / FOLDER / "meta.json").read_text())
    prod_instances = {i["id"] for i in env_store(envs.sb, "prod").data["connectorInstances"]}
    assert {n["connectionId"] for n in prod_meta["nodes"].values()} <= prod_instances


def _files(world) -> dict:
    return {name: (world.vault / "snapshots/prod" / name).read_bytes()
            for name in (f"flows/{FOLDER}/flow.json", "variables.json", "applications.json")}


def test_a_refused_write_is_undone_and_prod_is_left_as_it_was(envs):
    _edit_in_staging(envs, "first promotion")
    envs.backup()
    assert envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--deploy").exit_code == 0
    envs.backup("--source", "prod")
    before = _files(envs)

    _edit_in_staging(envs, "second promotion", [NEW_VARIABLE])
    envs.backup("--source", "staging")
    # prod accepts two more writes (the preflight's validate, the new variable), then refuses one (the flow's replace)
    hook(envs.sb, "/_sandbox/faults", {"fail_writes": {"prod": {"after": 2, "times": 1}}})
    result = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--deploy")
    assert result.exit_code == 3, result.output
    assert "variable company/promotedGreeting: created" in result.stderr
    assert "undone: deleted variable company/promotedGreeting" in result.stderr
    assert "restore failed at flows" in result.stderr and "the target is as it was" in result.stderr
    # each thing once: what was undone on its own line only, the target named once in the error line
    assert result.output.count("deleted variable company/promotedGreeting") == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("flowvault: prod: restore failed at flows: PUT ") and last.count("prod: ") == 1, last
    envs.backup("--source", "prod")
    assert _files(envs) == before
    assert envs.run("launch", "davinci-ok-prod").exit_code == 0


@pytest.mark.parametrize("variables", [None, [NEW_VARIABLE]], ids=["flow only", "with a new variable"])
def test_prod_refusing_every_write_after_one_is_left_as_it_was(envs, variables):
    """Issue 17, "Must show", with fail_writes' plain semantics: prod accepts exactly one more admin write and
    refuses every write after it, undos included. The flow is validated against prod before the first write, so
    the write that fails is the first one that would change prod, and there is nothing to undo."""
    _edit_in_staging(envs, "first promotion")
    envs.backup()
    assert envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--deploy").exit_code == 0
    envs.backup("--source", "prod")
    before = _files(envs)

    _edit_in_staging(envs, "second promotion", variables)
    envs.backup("--source", "staging")
    hook(envs.sb, "/_sandbox/faults", {"fail_writes": {"prod": 1}})
    result = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--deploy")
    hook(envs.sb, "/_sandbox/faults", {"fail_writes": {}})
    assert result.exit_code == 3, result.output
    assert f"flow '{FLOW}': prod accepts it (validated before any write)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("; nothing had been written"), result.stderr
    envs.backup("--source", "prod")
    assert _files(envs) == before
    assert envs.run("launch", "davinci-ok-prod").exit_code == 0


def test_what_could_not_be_undone_is_named(envs):
    _edit_in_staging(envs, "promotion", [NEW_VARIABLE])
    envs.backup("--source", "staging")
    # the preflight's validate and the new variable pass; every write after them (the replace, the undo) is refused
    hook(envs.sb, "/_sandbox/faults", {"fail_writes": {"prod": 2}})
    result = envs.run("restore", FLOW, "--from", "staging", "--to", "prod")
    hook(envs.sb, "/_sandbox/faults", {"fail_writes": {}})
    assert result.exit_code == 3
    # what could not be undone reads as not done
    last = result.stderr.strip().splitlines()[-1]
    assert "could not delete variable company/promotedGreeting (" in last and "put that back by hand" in last, last
    assert "NOT undone" not in result.output and "undone: deleted" not in result.output, result.output


def test_unmatched_connector_instance_stops_a_dry_run_with_exit_1(envs):
    envs.backup("--source", "staging")
    prod = env_store(envs.sb, "prod")
    http = next(i for i in prod.data["connectorInstances"] if i["name"] == "Http")
    http["name"] = "Http (prod)"
    result = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--dry-run")
    assert result.exit_code == 1, result.output
    assert "UNMATCHED" in result.stdout and "--map-connection" in result.stderr
    before = hook(envs.sb, "/_sandbox/stats")
    refused = envs.run("restore", FLOW, "--from", "staging", "--to", "prod")
    assert refused.exit_code == 2 and writes(before, hook(envs.sb, "/_sandbox/stats")) == {}
    mapped = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--dry-run", "--format", "json",
                      "--map-connection", "Http=Http (prod)")
    assert mapped.exit_code == 0, mapped.output
    [step] = [s for s in json.loads(mapped.stdout)["steps"] if s["name"] == "Http"]
    assert (step["to"], step["via"]) == (http["id"], "--map-connection")


def test_restore_and_smoke_in_one_command(envs):
    _edit_in_staging(envs, "promoted and smoke-tested")
    envs.backup("--source", "staging")
    ok = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--deploy", "--smoke", "davinci-ok-prod")
    assert ok.exit_code == 0, ok.output
    assert "davinci-ok-prod" in ok.stdout
    failing = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--smoke", "davinci-ok-prod",
                       "--smoke", "davinci-fail-prod")
    assert failing.exit_code == 1, failing.output
    assert "1 of 2 smoke tests did not pass: davinci-fail-prod" in failing.stderr


def test_restore_and_smoke_as_json_is_one_document(envs):
    _edit_in_staging(envs, "promoted and smoke-tested as json")
    envs.backup("--source", "staging")
    ok = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--deploy", "--smoke", "davinci-ok-prod",
                  "--format", "json")
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)  # one document: the plan, with the smoke results in it
    assert doc["steps"] and doc["smoke"]["summary"]["passed"] == 1 and "error" not in doc, doc
    failing = envs.run("restore", FLOW, "--from", "staging", "--to", "prod", "--smoke", "davinci-fail-prod",
                       "--format", "json")
    assert failing.exit_code == 1, failing.output
    doc = json.loads(failing.stdout)
    assert doc["steps"] and doc["smoke"]["summary"]["failed"] == 1, doc
    assert doc["error"] == "restored, but 1 of 1 smoke tests did not pass: davinci-fail-prod"
    assert doc["exit_status"] == 1
