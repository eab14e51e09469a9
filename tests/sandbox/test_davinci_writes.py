"""The writes a restore needs (variables, flow policies, connector instances, flows) and the versions a per-version
backup reads, as the Platform API documents them."""

from __future__ import annotations

import requests

from flowvault.sandbox.server import Sandbox
from tests.sandbox.sandbox_helpers import PingOne

FULL_BASIC = "c7062a8857740ee2185694bb855f8f21"  # versions 1..3, 2 deployed
SUCCESS_FLOW, FAIL_FLOW = "5b0c5a1d0c0ffee0000000000000a0c1", "5b0c5a1d0c0ffee0000000000000fa11"
SMOKE_APP = "a9d3c1f07e2b4c5d8e9f0a1b2c3d4e5f"
OK_POLICY = "e31c3b327523685b8e71ab9d76c8a0c1"
DEPLOY = "application/vnd.pingidentity.flow.deploy+json"
VALIDATE = "application/vnd.pingidentity.flow.validate+json"
REVERT = "application/vnd.pingidentity.flowversion.revert+json"
VAR = {"name": "greeting", "context": "company", "dataType": "string", "mutable": True, "value": "hello"}


def _start(sandbox, policy) -> requests.Response:
    from flowvault.sandbox.envs import ENV_ID

    return requests.post(f"{sandbox.url}/v1/company/{ENV_ID}/policy/{policy}/start",
                         headers={"X-SK-API-KEY": "sandbox"}, json={"userId": "u"}, timeout=5)


# --- variables


def test_variable_create_update_delete(p1):
    r = p1.post("/variables", "application/json", VAR)
    assert r.status_code == 201, r.text
    created = r.json()
    assert {k: created[k] for k in VAR} == VAR and created["id"] and created["environment"] == {"id": p1.env_id}
    assert p1.get(f"/variables/{created['id']}").json()["value"] == "hello"
    r = p1.put(f"/variables/{created['id']}", {**VAR, "value": "bonjour", "displayName": "Greeting"})
    assert r.status_code == 200 and r.json()["value"] == "bonjour" and r.json()["id"] == created["id"]
    assert r.json()["createdAt"] == created["createdAt"] and r.json()["updatedAt"] > created["updatedAt"]
    listed = p1.get("/variables", params={"limit": 500}).json()["_embedded"]["variables"]
    assert [v["value"] for v in listed if v["name"] == "greeting"] == ["bonjour"]
    assert p1.delete(f"/variables/{created['id']}").status_code == 204
    assert p1.get(f"/variables/{created['id']}").status_code == 404
    assert p1.delete(f"/variables/{created['id']}").status_code == 404


def test_variable_bodies_are_checked(p1):
    r = p1.post("/variables", "application/json", {k: v for k, v in VAR.items() if k != "dataType"})
    assert r.status_code == 400 and r.json()["details"][0] == {"code": "REQUIRED_VALUE", "target": "dataType",
                                                               "message": "dataType is required"}
    assert p1.post("/variables", "application/json", {**VAR, "context": "galaxy"}).status_code == 400
    assert p1.post("/variables", "application/json", {**VAR, "mutable": "yes"}).status_code == 400
    assert p1.post("/variables", "application/json", {**VAR, "context": "flow"}).status_code == 400  # needs flow.id
    assert p1.post("/variables", "text/plain", VAR).status_code == 415
    # (context, name) is unique: the seeded company variable companyName exists
    r = p1.post("/variables", "application/json", {**VAR, "name": "companyName"})
    assert r.status_code == 400 and r.json()["details"][0]["code"] == "UNIQUENESS_VIOLATION"
    assert p1.put("/variables/nope", VAR).status_code == 404


def test_a_flows_variable_can_be_updated_and_deleted(p1):
    variables = p1.get("/variables", params={"limit": 500}).json()["_embedded"]["variables"]
    flow_var = next(v for v in variables if v.get("flow"))
    body = {k: flow_var[k] for k in ("name", "context", "dataType", "mutable")}
    r = p1.put(f"/variables/{flow_var['id']}", {**body, "flow": flow_var["flow"], "value": "changed"})
    assert r.status_code == 200 and p1.get(f"/variables/{flow_var['id']}").json()["value"] == "changed"
    after = p1.get("/variables", params={"limit": 500}).json()
    assert after["count"] == len(variables)  # replaced, not added
    assert p1.delete(f"/variables/{flow_var['id']}").status_code == 204
    assert p1.get(f"/variables/{flow_var['id']}").status_code == 404


# --- flow policies


def test_policy_replace_is_what_the_runtime_runs(sandbox, p1):
    assert _start(sandbox, OK_POLICY).status_code == 200
    path = f"/davinciApplications/{SMOKE_APP}/flowPolicies/{OK_POLICY}"
    before = p1.get(path).json()
    body = {"name": "sandbox-ok", "status": "enabled",
            "flowDistributions": [{"id": FAIL_FLOW, "version": -1, "weight": 100}]}
    r = p1.put(path, body)
    assert r.status_code == 200, r.text
    assert r.json()["flowDistributions"] == body["flowDistributions"] and r.json()["id"] == OK_POLICY
    assert r.json()["updatedAt"] != before["updatedAt"]
    assert p1.get(path).json()["flowDistributions"][0]["id"] == FAIL_FLOW
    assert _start(sandbox, OK_POLICY).status_code == 400  # now runs the failing flow
    assert p1.put(path, {"flowDistributions": body["flowDistributions"]}).status_code == 400  # name is required
    assert p1.put(path, {**body, "flowDistributions": [{"id": "nope", "version": -1}]}).status_code == 400
    assert p1.put(path, {**body, "status": "paused"}).status_code == 400


def test_a_policy_pinned_to_a_version_runs_that_version(sandbox, p1):
    # version 1 of the success flow answers success; an edit saved and deployed as version 2 answers a UI page
    p1.hook(f"flows/{SUCCESS_FLOW}/edit", {"/graphData/elements/nodes/0/data/capabilityName": "customHtmlMessage"})
    p1.post(f"/flows/{SUCCESS_FLOW}", DEPLOY, {})
    path = f"/davinciApplications/{SMOKE_APP}/flowPolicies/{OK_POLICY}"
    pinned = {"name": "sandbox-ok", "flowDistributions": [{"id": SUCCESS_FLOW, "version": 1, "weight": 100}]}
    assert p1.put(path, pinned).status_code == 200
    assert _start(sandbox, OK_POLICY).status_code == 200
    assert p1.put(path, {**pinned, "flowDistributions": [{"id": SUCCESS_FLOW, "version": -1}]}).status_code == 200
    assert _start(sandbox, OK_POLICY).status_code == 400
    assert p1.put(path, {**pinned, "flowDistributions": [{"id": SUCCESS_FLOW, "version": 99}]}).status_code == 400


def test_policy_create_and_delete(sandbox, p1):
    base = f"/davinciApplications/{SMOKE_APP}/flowPolicies"
    r = p1.post(base, "application/json", {"name": "new", "flowDistributions": [{"id": SUCCESS_FLOW, "version": -1}]})
    assert r.status_code == 201, r.text
    policy = r.json()
    assert policy["status"] == "enabled" and policy["application"] == {"id": SMOKE_APP}
    assert policy["id"] in {p["id"] for p in p1.get(base).json()["_embedded"]["flowPolicies"]}
    assert _start(sandbox, policy["id"]).status_code == 200
    assert p1.post(base, "application/json", {"name": "no flows"}).status_code == 400
    assert p1.delete(f"{base}/{policy['id']}").status_code == 204
    assert p1.get(f"{base}/{policy['id']}").status_code == 404
    assert _start(sandbox, policy["id"]).status_code == 404


# --- connector instances


def test_connector_instances_read_create_replace_delete(p1):
    listed = p1.get("/connectorInstances").json()["_embedded"]["connectorInstances"]
    assert {i["connector"]["id"] for i in listed} >= {"httpConnector", "flowConnector", "pingOneSSOConnector"}
    one = p1.get(f"/connectorInstances/{listed[0]['id']}").json()
    assert one["id"] == listed[0]["id"] and one["name"] and one["environment"] == {"id": p1.env_id}
    assert len({(i["connector"]["id"], i["name"]) for i in listed}) == len(listed)  # restore maps by these
    assert p1.get("/connectorInstances/nope").status_code == 404
    r = p1.post("/connectorInstances", "application/json", {"name": "My Http", "connector": {"id": "httpConnector"}})
    assert r.status_code == 201 and r.json()["properties"] == {}
    new = r.json()["id"]
    r = p1.put(f"/connectorInstances/{new}", {"name": "Renamed", "connector": {"id": "httpConnector"},
                                              "properties": {"a": {"value": 1}}})
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
    assert p1.post("/connectorInstances", "application/json", {"name": "x"}).status_code == 400
    assert p1.delete(f"/connectorInstances/{new}").status_code == 204
    assert p1.get(f"/connectorInstances/{new}").status_code == 404


# --- flows: validate, deploy, delete


def test_validate_reports_and_changes_nothing(p1):
    before = p1.get(f"/flows/{FULL_BASIC}").json()
    r = p1.post(f"/flows/{FULL_BASIC}", VALIDATE, {})
    assert r.status_code == 200 and r.json()["dvlinterErrorCount"] == 0
    graph = p1.export(FULL_BASIC, 3).json()["graphData"]
    graph["elements"]["nodes"][0]["data"]["connectionId"] = "not-an-instance-here"
    r = p1.post(f"/flows/{FULL_BASIC}", VALIDATE, {"graphData": graph})
    assert r.status_code == 200 and r.json()["dvlinterErrorCount"] == 1
    [finding] = r.json()["graphData"]["allLinterErrors"]
    assert finding["nodeId"] == graph["elements"]["nodes"][0]["data"]["id"] and finding["flowId"] == FULL_BASIC
    assert p1.get(f"/flows/{FULL_BASIC}").json()["currentVersion"] == before["currentVersion"]
    assert p1.post(f"/flows/{FULL_BASIC}", "application/json", {}).status_code == 415


def test_deploy_sets_the_deployed_version_and_only_it_carries_deployed_at(p1):
    r = p1.post(f"/flows/{FULL_BASIC}", DEPLOY, {})
    assert r.status_code == 201 and r.json()["publishedVersion"] == 3
    versions = p1.get(f"/flows/{FULL_BASIC}/versions").json()["_embedded"]["versions"]
    assert [v["version"] for v in versions if "deployedAt" in v] == [3]
    assert p1.get(f"/flows/{FULL_BASIC}").json()["deployedAt"] == versions[0]["deployedAt"]


def test_delete_flow(p1):
    assert p1.delete(f"/flows/{FULL_BASIC}").status_code == 204
    assert p1.get(f"/flows/{FULL_BASIC}").status_code == 404
    assert FULL_BASIC not in {f["id"] for f in p1.get("/flows").json()["_embedded"]["flows"]}
    assert p1.delete(f"/flows/{FULL_BASIC}").status_code == 404


# --- versions


def test_versions_carry_alias_dates_and_deployed_at(p1):
    p1.hook(f"flows/{FULL_BASIC}/edit", {"/description": "four", "alias": "release-4"})
    p1.hook(f"flows/{FULL_BASIC}/edit", {"/description": "five"})
    versions = p1.get(f"/flows/{FULL_BASIC}/versions").json()["_embedded"]["versions"]
    assert [v["version"] for v in versions] == [5, 4, 3, 2, 1]
    by_number = {v["version"]: v for v in versions}
    assert by_number[4]["alias"] == "release-4" and "alias" not in by_number[5]
    created = [v["createdAt"] for v in reversed(versions)]
    assert created == sorted(created) and len(set(created)) == 5
    assert [n for n, v in by_number.items() if "deployedAt" in v] == [2]
    assert all(v["updatedAt"] and v["flow"]["id"] == FULL_BASIC for v in versions)
    flow = p1.get(f"/flows/{FULL_BASIC}").json()
    assert (flow["currentVersion"], flow["publishedVersion"]) == (5, 2)


def test_edit_dates_are_the_sandbox_clock_not_the_wall_clock():
    def dates():
        with Sandbox(seed=1) as sb:
            p1 = PingOne(sb.url)
            p1.hook(f"flows/{FULL_BASIC}/edit", {"/description": "x"})
            return [v["createdAt"] for v in p1.get(f"/flows/{FULL_BASIC}/versions").json()["_embedded"]["versions"]]

    first = dates()
    assert first == dates() and first[0].startswith("2026-01-01T00:")


def test_alias_route(p1):
    r = p1.put(f"/flows/{FULL_BASIC}/versions/2/alias", {"alias": "golden"})
    assert r.status_code == 200 and r.json()["alias"] == "golden" and "flowVersion" in r.json()["_links"]
    assert p1.get(f"/flows/{FULL_BASIC}/versions/2").json()["alias"] == "golden"
    assert p1.put(f"/flows/{FULL_BASIC}/versions/2/alias", {}).status_code == 400
    assert p1.put(f"/flows/{FULL_BASIC}/versions/9/alias", {"alias": "x"}).status_code == 404


def test_version_details(p1):
    r = p1.get(f"/flows/{FULL_BASIC}/versions/1/details")
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 1 and body["flow"]["id"] == FULL_BASIC
    assert body["graphData"] == p1.export(FULL_BASIC, 1).json()["graphData"]
    node_links = [k for k in body["_links"] if k.startswith("connectorInstances.")]
    assert node_links
    href = body["_links"][node_links[0]]["href"]
    assert requests.get(href, headers=p1.headers, timeout=5).status_code == 200  # the node's instance exists
    assert p1.get(f"/flows/{FULL_BASIC}/versions/9/details").status_code == 404


def test_revert_saves_the_old_version_as_a_new_one(p1):
    r = p1.post(f"/flows/{FULL_BASIC}/versions/1", REVERT, {})
    assert r.status_code == 201 and r.json()["version"] == 4 and r.json()["clonedFrom"] == 1
    assert p1.export(FULL_BASIC, 4).json()["graphData"] == p1.export(FULL_BASIC, 1).json()["graphData"]
    flow = p1.get(f"/flows/{FULL_BASIC}").json()
    assert (flow["currentVersion"], flow["publishedVersion"]) == (4, 2)
    listed = {v["version"]: v for v in p1.get(f"/flows/{FULL_BASIC}/versions").json()["_embedded"]["versions"]}
    assert listed[4]["clonedFrom"] == 1 and "clonedFrom" not in listed[3]


def test_at_most_100_versions_are_kept_never_dropping_the_deployed_one(p1):
    for i in range(100):
        p1.hook(f"flows/{FULL_BASIC}/edit", {"/description": f"edit {i}"})
    numbers = [v["version"] for v in p1.get(f"/flows/{FULL_BASIC}/versions").json()["_embedded"]["versions"]]
    assert len(numbers) == 100 and numbers[0] == 103
    assert 2 in numbers and 1 not in numbers and 3 not in numbers  # 2 is deployed
    assert p1.export(FULL_BASIC, 1).status_code == 404


def test_deploy_hook_sets_any_version(p1):
    r = p1.hook(f"flows/{FULL_BASIC}/deploy", {"version": 1})
    assert r.status_code == 200 and r.json()["publishedVersion"] == 1
    versions = p1.get(f"/flows/{FULL_BASIC}/versions").json()["_embedded"]["versions"]
    assert [v["version"] for v in versions if "deployedAt" in v] == [1]
    assert p1.hook(f"flows/{FULL_BASIC}/deploy", {}).json()["publishedVersion"] == 3
    assert p1.hook(f"flows/{FULL_BASIC}/deploy", {"version": 42}).status_code == 404
    assert p1.hook("flows/nope/deploy", {}).status_code == 404
    stats = requests.get(f"{p1.url}/_sandbox/stats", timeout=5).json()
    assert not any("_sandbox" in route for route in stats["by_route"])
