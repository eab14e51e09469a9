"""The DaVinci Platform API emulation, driven through plain HTTP."""

from __future__ import annotations

import base64

import pytest
import requests

from flowvault.sandbox.server import Sandbox
from flowvault.sandbox.token import CLIENT_ID, ENV_ID
from tests.sandbox.sandbox_helpers import PingOne

FULL_BASIC = "c7062a8857740ee2185694bb855f8f21"  # 3 versions, version 2 deployed; calls subflow 1 and subflow 2
SUBFLOWS = {"00f66e8926ced6ef5b83619fde4a314a", "07503fed5c02849dbbd5ee932da654b2"}
EXPORT = "application/vnd.pingidentity.flowversion.export+json"
DEPLOY = "application/vnd.pingidentity.flow.deploy+json"
IMPORT_LEGACY = "application/vnd.pingidentity.flow.import.legacy+json"


# --- token


def test_token_client_secret_basic_and_post(sandbox):
    url = f"{sandbox.url}/{ENV_ID}/as/token"
    basic = requests.post(url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "sandbox"), timeout=5)
    post = requests.post(url, data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                    "client_secret": "sandbox"}, timeout=5)
    for r in (basic, post):
        assert r.status_code == 200
        body = r.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
    assert basic.json()["access_token"] != post.json()["access_token"]


@pytest.mark.parametrize("how", ["basic", "post", "client", "env"])
def test_token_bad_credentials_is_401_invalid_client(sandbox, how):
    url = f"{sandbox.url}/{ENV_ID}/as/token"
    if how == "basic":
        r = requests.post(url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "wrong"), timeout=5)
    elif how == "post":
        r = requests.post(url, data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                     "client_secret": "wrong"}, timeout=5)
    elif how == "client":
        r = requests.post(url, data={"grant_type": "client_credentials"}, auth=("someone-else", "sandbox"), timeout=5)
    else:
        r = requests.post(f"{sandbox.url}/00000000-0000-0000-0000-000000000000/as/token",
                          data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "sandbox"), timeout=5)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_token_accepts_only_the_configured_secret(monkeypatch):
    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "s3cret-from-env")
    with Sandbox() as sb:
        url = f"{sb.url}/{ENV_ID}/as/token"
        assert requests.post(url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "sandbox"),
                             timeout=5).status_code == 401
        assert requests.post(url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "s3cret-from-env"),
                             timeout=5).status_code == 200


def test_unsupported_grant_type(sandbox):
    r = requests.post(f"{sandbox.url}/{ENV_ID}/as/token", data={"grant_type": "password"}, auth=(CLIENT_ID, "sandbox"),
                      timeout=5)
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_missing_unknown_and_expired_tokens_are_401(sandbox, p1):
    api = p1.api
    r = requests.get(f"{api}/flows", timeout=5)
    # UnauthorizedError: ACCESS_FAILED is the spec's only top-level code; INVALID_TOKEN is a detail code
    assert r.status_code == 401 and r.json()["code"] == "ACCESS_FAILED" and "id" in r.json()
    assert r.json()["details"][0]["code"] == "INVALID_TOKEN"
    r = requests.get(f"{api}/flows", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert r.status_code == 401
    assert p1.get("/flows").status_code == 200
    p1.hook("clock", {"advance": 3601})
    assert p1.get("/flows").status_code == 401


def test_token_for_another_environment_is_403(sandbox, p1):
    r = requests.get(f"{sandbox.url}/v1/environments/11111111-2222-3333-4444-555555555555/flows", headers=p1.headers,
                     timeout=5)
    assert r.status_code == 403


# --- flows and versions


def test_flows_list_has_versions_and_dates(p1):
    body = p1.get("/flows").json()
    flows = {f["id"]: f for f in body["_embedded"]["flows"]}
    assert body["count"] == len(flows) >= 7
    fb = flows[FULL_BASIC]
    assert fb["currentVersion"] == 3 and fb["publishedVersion"] == 2 and fb["updatedAt"] and fb["deployedAt"]
    assert fb["environment"] == {"id": ENV_ID}
    names = p1.get("/flows", params={"attributes": "name"}).json()["_embedded"]["flows"]
    assert set(names[0]) == {"_links", "id", "name", "environment"}  # the schema requires environment


def test_unknown_ids_are_404(p1):
    for path in ("/flows/nope", f"/flows/{FULL_BASIC}/versions/99", "/flows/nope/versions",
                 "/davinciApplications/nope", "/davinciApplications/nope/flowPolicies", "/variables/nope"):
        r = p1.get(path)
        assert r.status_code == 404, path
        assert r.json()["code"] == "NOT_FOUND"
    assert p1.export("nope", 1).status_code == 404


def test_versions_list_and_read(p1):
    versions = p1.get(f"/flows/{FULL_BASIC}/versions").json()["_embedded"]["versions"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    one = p1.get(f"/flows/{FULL_BASIC}/versions/2").json()
    assert one["flow"]["id"] == FULL_BASIC and one["version"] == 2 and "deployedAt" in one
    assert "flow.export" in one["_links"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", DEPLOY])
def test_export_with_wrong_content_type_is_415(p1, content_type):
    r = p1.post(f"/flows/{FULL_BASIC}/versions/1", content_type, {"includeSubFlows": True})
    assert r.status_code == 415
    assert set(r.json()) >= {"id", "code", "message"}


def test_deploy_and_import_with_wrong_content_type_are_415(p1):
    assert p1.post(f"/flows/{FULL_BASIC}", "application/json", {}).status_code == 415
    assert p1.post("/flows", "text/plain", {"name": "x"}).status_code == 415


def test_export_without_options_has_no_subflows_and_no_values(p1):
    r = p1.export(FULL_BASIC, 3)
    assert r.status_code == 200
    body = r.json()
    assert "_embedded" not in body
    assert body["flow"] == {"id": FULL_BASIC, "name": "full-basic"} and body["version"] == 3
    assert body["publishedVersion"] == 2
    assert body["variables"] and all("value" not in v["fields"] for v in body["variables"])


def test_export_with_subflows_and_values(p1):
    body = p1.export(FULL_BASIC, 3, includeSubFlows=True, includeVariableValues=True).json()
    assert {sub["flow"]["id"] for sub in body["_embedded"]} == SUBFLOWS
    values = {v["name"].split("##")[0]: v["fields"]["value"] for v in body["variables"]}
    assert values == {"fdgdfgfdg": "thisisastring", "test123": "10"}


def test_an_export_without_values_leaves_the_stored_values_alone(p1):
    # Exports share the store's objects (no deep copy): leaving values out must not remove them from the store.
    p1.export(FULL_BASIC, 3, includeSubFlows=True, includeVariableValues=False)
    body = p1.export(FULL_BASIC, 3, includeSubFlows=True, includeVariableValues=True).json()
    assert {v["name"].split("##")[0]: v["fields"]["value"] for v in body["variables"]} == {
        "fdgdfgfdg": "thisisastring", "test123": "10"}


def test_export_body_is_optional_and_typed(p1):
    r = requests.post(f"{p1.api}/flows/{FULL_BASIC}/versions/1", headers={**p1.headers, "Content-Type": EXPORT},
                      timeout=5)
    assert r.status_code == 200
    assert p1.export(FULL_BASIC, 1, includeSubFlows="yes").status_code == 400


SEED_002 = {
    "_links": {"self": {"href": "https://api.pingone.com/v1/environments/abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6/flows/e76dbc4ab5378a337f0a696ddb93c049/versions/1"},
               "environment": {"href": "https://api.pingone.com/v1/environments/abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"}},
    "flow": {"id": "e76dbc4ab5378a337f0a696ddb93c049", "name": "PingOne Session Main Flow2"},
    "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
    "description": "Last Updated: January 8th, 2025", "version": 1, "enabled": True, "publishedVersion": 1,
    "connectors": [{"id": "annotationConnector"}, {"id": "flowConnector"}],
    "settings": {"intermediateLoadingScreenCSS": "", "debugMode": False, "logLevel": 2, "pingOneFlow": True},
    "color": "#ff661c",
    "graphData": {"elements": {"nodes": [{"data": {"id": "z98ot8mzk7", "nodeType": "CONNECTION",
                                                   "connectorId": "flowConnector",
                                                   "capabilityName": "startUiSubFlow",
                                                   "properties": {"subFlowId": {"value": {
                                                                      "label": "x",
                                                                      "value": "c638b49db6c72b396b132be1a88dec3d"}},
                                                                  "subFlowVersionId": {"value": -1}}},
                                          "position": {"x": 1, "y": 2}}], "edges": []}},
    "trigger": {"type": "AUTHENTICATION"},
    "createdAt": "2025-04-03T22:39:04.603Z", "updatedAt": "2025-04-03T22:39:04.661Z",
    "_embedded": [{
        "_links": {"self": {"href": "https://api.pingone.com/v1/environments/abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6/flows/c638b49db6c72b396b132be1a88dec3d/versions/1"},
                   "environment": {"href": "https://api.pingone.com/v1/environments/abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"}},
        "flow": {"id": "c638b49db6c72b396b132be1a88dec3d",
                 "name": "PingOne Sign On with Registration, Password Reset and Recovery2"},
        "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
        "description": "Imported on Thu Apr 03 2025 22:39:03 GMT+0000 (Coordinated Universal Time)", "version": 1,
        "variables": [{"context": "flowInstance", "createdDate": 1742585405223,
                       "fields": {"type": "string", "displayName": "Url for company's logo image", "mutable": True,
                                  "min": 0, "max": 2000},
                       "id": "1acaa3d9-8625-4581-83bd-69e87e733d96", "type": "property", "visibility": "private",
                       "name": "companyLogo##SK##flowInstance", "companyId": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"}],
        "enabled": True, "publishedVersion": 1, "connectors": [{"id": "httpConnector"}],
        "settings": {"logLevel": 2}, "color": "#CACED3", "graphData": {"elements": {"nodes": [], "edges": []}},
        "createdAt": "2025-04-03T22:39:04.146Z", "updatedAt": "2025-04-03T22:39:04.491Z"}],
}


def test_seed_002_example_round_trips_through_the_export_shape(tmp_path):
    import json

    (tmp_path / "seed002.json").write_text(json.dumps(SEED_002))
    with Sandbox(flows_dir=tmp_path) as sb:
        p1 = PingOne(sb.url)
        flows = p1.get("/flows").json()["_embedded"]["flows"]
        assert {f["id"] for f in flows} == {"e76dbc4ab5378a337f0a696ddb93c049", "c638b49db6c72b396b132be1a88dec3d"}
        body = p1.export("e76dbc4ab5378a337f0a696ddb93c049", 1, includeSubFlows=True, includeVariableValues=True).json()
    assert set(body) == set(SEED_002)
    assert list(body) == list(SEED_002)  # the example's field order, too
    assert set(body["_embedded"][0]) == set(SEED_002["_embedded"][0])
    assert body["graphData"] == SEED_002["graphData"] and body["settings"] == SEED_002["settings"]
    assert body["_embedded"][0]["variables"][0]["name"] == "companyLogo##SK##flowInstance"


def test_flows_dir_reads_every_legacy_shape(tmp_path):
    import json
    from importlib import resources

    data = resources.files("flowvault.sandbox").joinpath("data/davinci")
    sub1 = json.loads(data.joinpath("tfprovider__internal_acctest_flows_full-basic-subflow-1.json").read_text())
    sub2 = json.loads(data.joinpath("tfprovider__internal_acctest_flows_full-basic-subflow-2.json").read_text())
    main = json.loads(data.joinpath("tfprovider__internal_acctest_flows_full-basic.json").read_text())
    (tmp_path / "multi.json").write_text(json.dumps({"flows": [main, sub1], "companyId": "c", "customerId": "d"}))
    (tmp_path / "wrapped.json").write_text(json.dumps({"name": "x", "flowInfo": sub2, "flowNameMapping": {}}))
    (tmp_path / "notes.json").write_text("[1, 2]")
    with Sandbox(flows_dir=tmp_path) as sb:
        p1 = PingOne(sb.url)
        ids = {f["id"] for f in p1.get("/flows").json()["_embedded"]["flows"]}
        body = p1.export(FULL_BASIC, 1, includeSubFlows=True).json()
    assert ids == {FULL_BASIC} | SUBFLOWS
    assert {s["flow"]["id"] for s in body["_embedded"]} == SUBFLOWS


# --- variables, applications, policies


def test_variables_are_paged_with_cursor(p1):
    first = p1.get("/variables").json()
    assert first["size"] == 10 and first["count"] > 10 and "next" in first["_links"]
    seen, url, pages = [], f"{p1.api}/variables?limit=3", 0
    while url:
        body = requests.get(url, headers=p1.headers, timeout=5).json()
        assert body["size"] == len(body["_embedded"]["variables"]) <= 3
        seen += [v["id"] for v in body["_embedded"]["variables"]]
        url = body["_links"].get("next", {}).get("href")
        pages += 1
    assert len(seen) == len(set(seen)) == first["count"] and pages == -(-first["count"] // 3)
    everything = p1.get("/variables", params={"limit": 500}).json()
    assert "next" not in everything["_links"] and everything["size"] == first["count"]
    assert p1.get("/variables", params={"limit": 501}).status_code == 400
    assert p1.get("/variables", params={"limit": 0}).status_code == 400


def test_variables_include_secret_values_with_the_marker(p1):
    variables = p1.get("/variables", params={"limit": 500}).json()["_embedded"]["variables"]
    secrets = [v for v in variables if v["dataType"] == "secret"]
    assert secrets and all("SBXSECRET" in v["value"] for v in secrets)
    assert {"company", "flow", "flowInstance"} <= {v["context"] for v in variables}


def test_applications_and_flow_policies(p1):
    apps = p1.get("/davinciApplications").json()["_embedded"]["davinciApplications"]
    assert len(apps) == 2
    for app in apps:
        assert "SBXSECRET" in app["apiKey"]["value"] and "SBXSECRET" in app["oauth"]["clientSecret"]
        assert p1.get(f"/davinciApplications/{app['id']}").json()["id"] == app["id"]
    policies = p1.get(f"/davinciApplications/{apps[0]['id']}/flowPolicies").json()["_embedded"]["flowPolicies"]
    assert {p["name"] for p in policies} == {"sandbox-ok", "sandbox-fail", "sandbox-ui"}
    flows = {f["id"] for f in p1.get("/flows").json()["_embedded"]["flows"]}
    assert all(d["id"] in flows for p in policies for d in p["flowDistributions"])
    one = p1.get(f"/davinciApplications/{apps[0]['id']}/flowPolicies/{policies[0]['id']}").json()
    assert one["application"] == {"id": apps[0]["id"]}


# --- import, replace, deploy


def test_import_then_deploy_is_visible_to_the_next_call(p1):
    import json
    from importlib import resources

    data = resources.files("flowvault.sandbox").joinpath("data/davinci")
    main = json.loads(data.joinpath("tfprovider__internal_acctest_flows_full-basic.json").read_text())
    sub1 = json.loads(data.joinpath("tfprovider__internal_acctest_flows_full-basic-subflow-1.json").read_text())
    body = {"name": "restored full-basic", "description": "restored", "flowInfo": {"flows": [main, sub1]},
            "flowNameMapping": {main["flowId"]: "restored full-basic", sub1["flowId"]: "restored subflow 1"}}
    r = p1.post("/flows", IMPORT_LEGACY, body)
    assert r.status_code == 201
    created = r.json()
    new_id = created["flow"]["id"]
    assert new_id != FULL_BASIC and created["flow"]["name"] == "restored full-basic"
    sub_id = created["_embedded"][0]["flow"]["id"]
    flows = {f["id"]: f for f in p1.get("/flows").json()["_embedded"]["flows"]}
    assert flows[new_id]["currentVersion"] == 1 and "publishedVersion" not in flows[new_id]
    assert flows[sub_id]["name"] == "restored subflow 1"
    # the main flow now calls the imported subflow 1, not the original; subflow 2 was not imported, so the
    # reference to the environment's existing subflow 2 stays
    exported = p1.export(new_id, 1, includeSubFlows=True).json()
    assert {s["flow"]["id"] for s in exported["_embedded"]} == {sub_id, "07503fed5c02849dbbd5ee932da654b2"}

    r = p1.post(f"/flows/{new_id}", DEPLOY, {})
    assert r.status_code == 201 and r.json()["publishedVersion"] == 1
    assert p1.get(f"/flows/{new_id}").json()["publishedVersion"] == 1


def test_import_requires_name_and_flow_info(p1):
    assert p1.post("/flows", IMPORT_LEGACY, {"flowInfo": {}}).status_code == 400
    assert p1.post("/flows", IMPORT_LEGACY, {"name": "x"}).status_code == 400
    assert p1.post("/flows", IMPORT_LEGACY, {"name": "x", "flowInfo": {"nothing": 1}}).status_code == 400


def test_replace_saves_a_new_version(p1):
    r = requests.put(f"{p1.api}/flows/{FULL_BASIC}", headers=p1.headers,
                     json={"name": "full-basic", "color": "#000000"}, timeout=5)
    assert r.status_code == 200 and r.json()["currentVersion"] == 4 and r.json()["color"] == "#000000"


# --- hooks


def test_edit_hook_saves_a_new_version(p1):
    before = p1.get(f"/flows/{FULL_BASIC}").json()
    r = p1.hook(f"flows/{FULL_BASIC}/edit", {"/description": "edited", "/graphData/elements/nodes/0/position/x": 999})
    assert r.status_code == 200
    after = p1.get(f"/flows/{FULL_BASIC}").json()
    assert after["currentVersion"] == before["currentVersion"] + 1
    assert after["updatedAt"] > before["updatedAt"]
    assert after["publishedVersion"] == before["publishedVersion"]
    body = p1.export(FULL_BASIC, after["currentVersion"]).json()
    assert body["description"] == "edited" and body["graphData"]["elements"]["nodes"][0]["position"]["x"] == 999
    old = p1.export(FULL_BASIC, before["currentVersion"]).json()
    assert old["description"] != "edited"
    assert old["graphData"]["elements"]["nodes"][0]["position"]["x"] != 999  # the edit did not reach the old version
    assert p1.hook(f"flows/{FULL_BASIC}/edit", {"/no/such/path": 1}).status_code == 400
    assert p1.hook("flows/nope/edit", {"/description": "x"}).status_code == 404


def test_faults_hook_fails_exports_until_cleared(p1):
    assert p1.hook("faults", {"fail": [FULL_BASIC]}).status_code == 200
    assert p1.export(FULL_BASIC, 1).status_code == 500
    assert p1.export("00f66e8926ced6ef5b83619fde4a314a", 1).status_code == 200
    p1.hook("faults", {"fail": []})
    assert p1.export(FULL_BASIC, 1).status_code == 200


def test_stats_count_platform_routes(p1):
    p1.get("/flows")
    p1.get("/flows")
    p1.export(FULL_BASIC, 1)
    stats = requests.get(f"{p1.url}/_sandbox/stats", timeout=5).json()
    assert stats["by_route"]["GET /v1/environments/{envID}/flows"] == 2
    assert stats["by_route"]["POST /v1/environments/{envID}/flows/{flowID}/versions/{versionID}"] == 1
    assert stats["by_route"]["POST /{envID}/as/token"] == 1
    assert stats["requests"] == 4


def test_pingone_429_fault_has_request_limited_body():
    from flowvault.sandbox.server import fault_for

    with Sandbox(fault_rate=0.5, seed=11) as sb:
        n = next(i for i in range(100) if fault_for(11, 0.5, i) == "429")
        for _ in range(n):
            try:
                requests.get(f"{sb.url}/v1/environments/{ENV_ID}/flows", timeout=5)
            except requests.exceptions.RequestException:
                pass
        r = requests.get(f"{sb.url}/v1/environments/{ENV_ID}/flows", timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["code"] == "REQUEST_LIMITED" and r.json()["details"][0]["innerError"]["retryAfter"]


# --- state and determinism


def test_state_dir_survives_restart(tmp_path):
    with Sandbox(state_dir=tmp_path) as sb:
        p1 = PingOne(sb.url)
        p1.hook(f"flows/{FULL_BASIC}/edit", {"/description": "persisted"})
        p1.post(f"/flows/{FULL_BASIC}", DEPLOY, {})
    with Sandbox(state_dir=tmp_path) as sb:
        p1 = PingOne(sb.url)
        flow = p1.get(f"/flows/{FULL_BASIC}").json()
    assert flow["currentVersion"] == 4 and flow["publishedVersion"] == 4 and flow["description"] == "persisted"


def test_two_sandboxes_started_alike_serve_identical_data():
    def snapshot():
        with Sandbox(seed=5) as sb:
            p1 = PingOne(sb.url)
            p1.hook(f"flows/{FULL_BASIC}/edit", {"/description": "same"})
            out = [p1.get("/flows").text, p1.get("/variables", params={"limit": 500}).text,
                   p1.export(FULL_BASIC, 4, includeSubFlows=True, includeVariableValues=True).text]
            return [t.replace(sb.url, "URL") for t in out]

    assert snapshot() == snapshot()


def test_cursor_is_opaque_base64(p1):
    nxt = p1.get("/variables", params={"limit": 2}).json()["_links"]["next"]["href"]
    cursor = nxt.split("cursor=")[1]
    assert base64.urlsafe_b64decode(cursor + "==") == b"2"


def test_edit_hook_renames_the_flow_as_the_designer_does(p1):
    name = "renamed\nflowvault: FAILED injected line\u202e"
    assert p1.hook(f"flows/{FULL_BASIC}/edit", {"/name": name}).status_code == 200
    flow = p1.get(f"/flows/{FULL_BASIC}").json()
    assert flow["name"] == name
    listed = {f["id"]: f["name"] for f in p1.get("/flows").json()["_embedded"]["flows"]}
    assert listed[FULL_BASIC] == name
    export = p1.export(FULL_BASIC, flow["currentVersion"]).json()
    assert export["flow"]["name"] == name and "name" not in export  # the export's shape is unchanged
    assert p1.hook(f"flows/{FULL_BASIC}/edit", {"/name": " "}).status_code == 400
