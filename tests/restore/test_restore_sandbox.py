"""`flowvault restore` against the sandbox on 127.0.0.1, through the CLI and the config the sandbox writes."""

import json

from tests.restore.restore_helpers import (
    API_SUCCESS,
    FULL_BASIC,
    NODE_CALLING_SUBFLOW_2,
    SECRET_MARKERS,
    SUBFLOW_1,
    SUBFLOW_2,
    api,
    by_name,
    hook,
    row,
    stored,
    subflow_ids,
    writes,
)

DEPLOY = "application/vnd.pingidentity.flow.deploy+json"


def test_restore_puts_back_the_first_commit_and_its_policy_passes_again(world):
    """Issue 6's done-criterion: backup -> edit -> backup -> restore --at <first> --deploy -> backup -> no diff."""
    world.backup()
    first = world.git("rev-parse", "HEAD")
    assert world.run("launch", "davinci-ok").exit_code == 0
    # A designer changes a node property and turns the answer into an error, and deploys that.
    edited = hook(world.sb, f"/_sandbox/flows/{API_SUCCESS}/edit", {
        "/graphData/elements/nodes/0/data/properties/leftValueA/value": "edited by a designer",
        "/graphData/elements/nodes/2/data/capabilityName": "createErrorResponse",
    })
    api(world.sb, "POST", f"/flows/{API_SUCCESS}", {}, DEPLOY)
    assert world.run("launch", "davinci-ok").exit_code == 1
    world.backup()
    assert world.run("diff", first, "HEAD", "--exit-code").exit_code == 1

    result = world.run("restore", "Sandbox API Success", "--to", "davinci", "--at", first, "--deploy")
    assert result.exit_code == 0, result.output
    after = api(world.sb, "GET", f"/flows/{API_SUCCESS}")
    # replaced in place: same id (the policy still points at it), one new version, deployed
    assert after["currentVersion"] == edited["currentVersion"] + 1 == after["publishedVersion"]
    assert row(result.stdout, "flow", "Sandbox API Success") == (
        f"flow update Sandbox API Success {API_SUCCESS} v{edited['currentVersion']} -> v{after['currentVersion']}; "
        f"deployed v{after['currentVersion']}")
    assert row(result.stdout, "policy", "Sandbox Smoke Tests/sandbox-ok") == (
        f"policy unchanged Sandbox Smoke Tests/sandbox-ok runs 'Sandbox API Success': the latest deployed version "
        f"(v{edited['currentVersion']} -> v{after['currentVersion']})")

    world.backup()
    diff = world.run("diff", first, "HEAD", "--exit-code", "--flow", "Sandbox API Success")
    assert diff.exit_code == 0, diff.output
    assert world.run("diff", first, "HEAD", "--exit-code").exit_code == 0
    launch = world.run("launch", "davinci-ok")
    assert launch.exit_code == 0, launch.output


def test_dry_run_shows_the_plan_and_writes_nothing(world):
    world.backup()
    first = world.git("rev-parse", "HEAD")
    edited = hook(world.sb, f"/_sandbox/flows/{SUBFLOW_1}/edit",
                  {"/graphData/elements/nodes/0/data/properties/nodeTitle": {"value": "changed"}})
    before = hook(world.sb, "/_sandbox/stats")
    result = world.run("restore", "full-basic", "--to", "davinci", "--at", first, "--deploy", "--dry-run")
    assert result.exit_code == 0, result.output
    assert writes(before, hook(world.sb, "/_sandbox/stats")) == {}
    assert api(world.sb, "GET", f"/flows/{SUBFLOW_1}")["currentVersion"] == edited["currentVersion"]
    assert "dry run: nothing changed" in result.output
    assert row(result.stdout, "subflow", "subflow 1") == \
        f"subflow update subflow 1 {SUBFLOW_1} v{edited['currentVersion']} -> new version; would deploy"
    assert row(result.stdout, "subflow", "subflow 2").startswith(f"subflow unchanged subflow 2 {SUBFLOW_2}")
    assert f"calls 'subflow 1': {SUBFLOW_1} -> {SUBFLOW_1} (plan)" in result.stdout
    plan = json.loads(world.run("restore", "full-basic", "--to", "davinci", "--dry-run", "--format", "json").stdout)
    assert [(s["name"], s["action"]) for s in plan["steps"] if s["kind"] in ("flow", "subflow")] == \
        [("subflow 1", "update"), ("subflow 2", "unchanged"), ("full-basic", "unchanged")]
    assert writes(before, hook(world.sb, "/_sandbox/stats")) == {}


def test_subflows_are_remapped_to_the_targets_ids(world, other):
    """'subflow 1' exists in `other` under another id (reused by name); 'subflow 2' and the flow are imported."""
    world.backup("--source", "davinci")
    other_sub1 = by_name(other, "subflow 1")[0]["id"]
    assert other_sub1 != SUBFLOW_1 and not by_name(other, "full-basic")

    result = world.run("restore", "full-basic", "--to", "other", "--deploy", "--create-connections")
    assert result.exit_code == 0, result.output
    [main] = by_name(other, "full-basic")
    [sub2] = by_name(other, "subflow 2")
    assert sub2["id"] != SUBFLOW_2
    store = other.ctx.state["davinci"]
    calls = subflow_ids(store.current(main))
    assert set(calls.values()) == {other_sub1, sub2["id"]}
    assert calls[NODE_CALLING_SUBFLOW_2] == sub2["id"]
    assert len(by_name(other, "subflow 1")) == 1  # updated in place or kept, never duplicated
    assert main["publishedVersion"] and sub2["publishedVersion"]  # --deploy: subflows too
    assert f"{SUBFLOW_2} -> {sub2['id']} (plan)" in result.output

    # restoring again finds everything by name: nothing new is imported
    again = world.run("restore", "full-basic", "--to", "other")
    assert again.exit_code == 0, again.output
    assert " create " not in again.stdout and "created" not in again.stderr
    assert len(by_name(other, "full-basic")) == 1 and len(by_name(other, "subflow 2")) == 1


def test_redacted_values_are_never_sent(world, other):
    """Fingerprints stay in the vault: a replace keeps the target's secret, an import leaves it out."""
    secret = "SBXSECRET-node-api-key-5150"
    hook(world.sb, f"/_sandbox/flows/{API_SUCCESS}/edit", {
        "/graphData/elements/nodes/0/data/properties/apiKey": {"value": secret},
        "/variables": [{"name": "partnerSecret##SK##flowInstance", "context": "flowInstance", "type": "property",
                        "visibility": "private", "fields": {"type": "secret", "displayName": "Partner secret",
                                                            "mutable": True, "value": "SBXSECRET-flow-variable-77"}}],
    })
    world.backup("--source", "davinci")
    saved = (world.vault / "snapshots/davinci/flows/sandbox-api-success/flow.json").read_text()
    assert "hmac-sha256:" in saved and secret not in saved
    first = world.git("rev-parse", "HEAD")
    hook(world.sb, f"/_sandbox/flows/{API_SUCCESS}/edit",
         {"/graphData/elements/nodes/0/data/properties/leftValueA/value": "edited"})

    result = world.run("restore", API_SUCCESS, "--to", "davinci", "--at", first)
    assert result.exit_code == 0, result.output
    assert "secret graphData/elements/nodes/0/data/properties/apiKey/value: kept from the target" in result.output
    text = json.dumps(stored(world.sb)[API_SUCCESS])
    assert not any(marker in text for marker in SECRET_MARKERS)
    assert secret in text  # the target kept its value

    result = world.run("restore", API_SUCCESS, "--to", "other", "--at", first, "--create-connections")
    assert result.exit_code == 0, result.output
    assert "left out (not sent)" in result.output
    [copy] = by_name(other, "Sandbox API Success")
    text = json.dumps(copy)
    assert not any(marker in text for marker in SECRET_MARKERS)
    assert "SBXSECRET" not in text


def test_dangling_reference_is_fatal_only_when_the_node_runs(world, other):
    world.backup("--source", "davinci")
    world.git("rm", "-rq", "snapshots/davinci/flows/subflow-2")
    world.git("commit", "-qm", "drop subflow 2")
    before = hook(other, "/_sandbox/stats")
    result = world.run("restore", "full-basic", "--to", "other")
    assert result.exit_code == 2
    assert "'subflow 2'" in result.output and SUBFLOW_2 in result.output
    assert "restore that subflow first" in result.output
    assert writes(before, hook(other, "/_sandbox/stats")) == {}
    assert not by_name(other, "full-basic")

    # switched off in the designer: reported, not fatal
    nodes = api(world.sb, "GET", f"/flows/{FULL_BASIC}")["graphData"]["elements"]["nodes"]
    index = next(i for i, n in enumerate(nodes) if n["data"]["id"] == NODE_CALLING_SUBFLOW_2)
    hook(world.sb, f"/_sandbox/flows/{FULL_BASIC}/edit", {f"/graphData/elements/nodes/{index}/data/isDisabled": True})
    world.backup("--source", "davinci")
    world.git("rm", "-rq", "snapshots/davinci/flows/subflow-2")
    world.git("commit", "-qm", "drop subflow 2 again")
    result = world.run("restore", "full-basic", "--to", "other", "--create-connections")
    assert result.exit_code == 0, result.output
    assert f"dangling: 'full-basic' node {NODE_CALLING_SUBFLOW_2} calls 'subflow 2' ({SUBFLOW_2})" in result.output
    assert "not fatal" in result.output
    assert len(by_name(other, "full-basic")) == 1


def test_unknown_flow_or_source_is_one_line_and_exit_2(world, other):
    world.backup()
    for args, expected in (
        (["no such flow", "--to", "davinci"], "no flow 'no such flow' in the vault at HEAD"),
        (["full-basic", "--to", "nowhere"],
         "unknown source 'nowhere' for --to; configured DaVinci sources: davinci, other"),
        (["full-basic", "--to", "idm"], "source 'idm' is of type 'idm'"),
    ):
        result = world.run("restore", *args)
        assert result.exit_code == 2, result.output
        assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_restore_finds_a_flow_as_show_does_and_suggests_close_names(world, other):
    world.backup()
    found = world.run("restore", "FULL-BASIC", "--to", "davinci", "--dry-run")  # case ignored when unique
    assert found.exit_code == 0, found.output
    typo = world.run("restore", "full-basci", "--to", "davinci")
    assert typo.exit_code == 2, typo.output
    assert typo.stderr.strip().splitlines() == [
        "flowvault: no flow 'full-basci' in the vault at HEAD; did you mean 'full-basic'?"], typo.stderr


def test_a_name_saved_from_two_sources_asks_which(world, other):
    world.backup()
    result = world.run("restore", "subflow 1", "--to", "davinci")
    assert result.exit_code == 2
    assert "pick one of: davinci/subflow-1, other/subflow-1" in result.stderr
    ok = world.run("restore", "other/subflow-1", "--to", "davinci", "--dry-run")
    assert ok.exit_code == 0, ok.output


def test_a_listing_page_without_its_list_fails_in_one_line_and_creates_nothing(world, tmp_path):
    # A broken answer to the flow listing must not read as an empty environment: a restore would create every flow
    # anew (issue 14). The target answers the token request, then a page without _embedded.flows.
    from helpers import ScriptedServer

    from flowvault.sandbox.tomlw import dumps as toml_dumps

    world.backup()
    server = ScriptedServer()
    try:
        env = "0b7e0000-0000-4000-8000-000000000001"
        server.script(f"/{env}/as/token", (200, {}, {"access_token": "t0ken", "token_type": "Bearer",
                                                     "expires_in": 3600}))
        server.script(f"/v1/environments/{env}/flows", (200, {}, {"_links": {"self": {"href": "x"}}, "count": 0}))
        config = world.sb.config()
        config["sources"]["broken"] = {**config["sources"]["davinci"], "api_url": server.url + "/v1",
                                       "auth_url": server.url, "environment_id": env}
        (world.vault / "flowvault.toml").write_text(toml_dumps(config), encoding="utf-8")
        result = world.run("restore", "Sandbox API Success", "--to", "broken")
    finally:
        server.stop()
    assert result.exit_code == 3, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("flowvault:")]
    assert len(lines) == 1 and "_embedded.flows" in lines[0], result.stderr
    assert [r for r in server.requests if r["method"] in ("POST", "PUT", "PATCH", "DELETE")
            and not r["path"].endswith("/as/token")] == []
