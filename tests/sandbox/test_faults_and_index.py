"""fail_writes per environment, 503 Retry-After, the index at GET / and statistics of the new routes."""

from __future__ import annotations

import requests

from flowvault.sandbox.server import Sandbox, fault_for
from tests.sandbox.sandbox_helpers import client_for

VAR = {"name": "v", "context": "company", "dataType": "string", "mutable": True}
FULL_BASIC = "c7062a8857740ee2185694bb855f8f21"
DEPLOY = "application/vnd.pingidentity.flow.deploy+json"


def _create(client, n: int) -> requests.Response:
    return client.post("/variables", "application/json", {**VAR, "name": f"v{n}"})


def test_fail_writes_admits_n_writes_then_500_until_cleared(two_envs):
    staging, prod = client_for(two_envs, "staging"), client_for(two_envs, "prod")
    r = staging.hook("faults", {"fail_writes": {"prod": 2}})
    assert r.status_code == 200 and r.json()["fail_writes"] == {"prod": 2}
    assert [_create(prod, n).status_code for n in range(4)] == [201, 201, 500, 500]
    failed = _create(prod, 9)
    assert failed.json()["code"] == "UNEXPECTED_ERROR" and {"id", "message"} <= set(failed.json())
    assert prod.put(f"/flows/{client_for(two_envs, 'prod').get('/flows').json()['_embedded']['flows'][0]['id']}",
                    {"name": "x"}).status_code == 500
    assert prod.get("/variables").status_code == 200  # reads pass
    assert client_for(two_envs, "prod").get("/flows").status_code == 200  # token requests pass
    assert _create(staging, 1).status_code == 201  # other environments are not affected
    names = {v["name"] for v in prod.get("/variables", params={"limit": 500}).json()["_embedded"]["variables"]}
    assert {"v0", "v1"} <= names and not {"v2", "v3", "v9"} & names  # a refused write changed nothing
    assert staging.hook("faults", {"fail_writes": {}}).json()["fail_writes"] == {}
    assert _create(prod, 5).status_code == 201


def test_hooks_are_not_writes(two_envs):
    prod = client_for(two_envs, "prod")
    flow_id = prod.get("/flows").json()["_embedded"]["flows"][0]["id"]
    prod.hook("faults", {"fail_writes": {"prod": 0}})
    assert prod.hook(f"flows/{flow_id}/edit", {"/description": "hook edit"}).status_code == 200
    assert prod.post(f"/flows/{flow_id}", DEPLOY, {}).status_code == 500


def test_fail_writes_can_fail_a_few_writes_then_accept_again(p1):
    assert p1.hook("faults", {"fail_writes": {"davinci": {"after": 1, "times": 2}}}).status_code == 200
    assert [_create(p1, n).status_code for n in range(5)] == [201, 500, 500, 201, 201]


def test_fail_and_fail_writes_alone_or_together(p1):
    assert p1.hook("faults", {"fail": [FULL_BASIC], "fail_writes": {"davinci": 0}}).status_code == 200
    assert p1.export(FULL_BASIC, 1).status_code == 500 and _create(p1, 1).status_code == 500
    assert p1.hook("faults", {"fail": []}).json() == {"fail": [], "fail_writes": {"davinci": 0}}
    assert p1.export(FULL_BASIC, 1).status_code == 500  # an export is a POST, so a write here
    assert p1.hook("faults", {"fail_writes": {}}).json() == {"fail": [], "fail_writes": {}}
    assert p1.export(FULL_BASIC, 1).status_code == 200


def test_fail_writes_body_is_checked(p1):
    for body in ({"fail_writes": {"nowhere": 1}}, {"fail_writes": {"davinci": -1}}, {"fail_writes": [1]},
                 {"fail_writes": {"davinci": {"after": 1, "times": 0}}}, {"other": 1}, {}):
        r = p1.hook("faults", body)
        assert r.status_code == 400, body
    assert p1.hook("faults", {"fail_writes": {"davinci": True}}).status_code == 400


def test_503_fault_carries_retry_after():
    seed = 5
    n = next(i for i in range(200) if fault_for(seed, 1.0, i) == "503")
    with Sandbox(fault_rate=1.0, seed=seed) as sb:
        for _ in range(n):
            try:
                requests.get(f"{sb.url}/v1/environments/x/flows", timeout=5)
            except requests.exceptions.RequestException:
                pass
        r = requests.get(f"{sb.url}/v1/environments/x/flows", timeout=5)
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert r.json()["code"] == "SERVICE_UNAVAILABLE"


def test_root_is_an_index_of_what_is_served(two_envs):
    r = requests.get(f"{two_envs.url}/", timeout=5)
    assert r.status_code == 200
    body = r.json()
    systems = body["systems"]
    assert systems["davinci"]["base_path"] == "/v1/environments/{envID}"
    assert "GET /v1/environments/{envID}/connectorInstances" in systems["davinci"]["routes"]
    assert {"token", "runtime", "idm"} <= set(systems)
    assert [e["name"] for e in body["environments"]] == ["staging", "prod"]
    prod = client_for(two_envs, "prod")
    assert body["environments"][1]["id"] == prod.env_id and body["environments"][1]["api"] == prod.api
    assert {"POST /_sandbox/faults", "GET /_sandbox/stats", "POST /_sandbox/flows/{flowId}/edit",
            "POST /_sandbox/flows/{flowId}/deploy"} <= set(body["hooks"])


def test_stats_count_the_new_routes(p1):
    p1.get("/connectorInstances")
    p1.post("/variables", "application/json", VAR)
    p1.get(f"/flows/{FULL_BASIC}/versions/1/details")
    by_route = requests.get(f"{p1.url}/_sandbox/stats", timeout=5).json()["by_route"]
    assert by_route["GET /v1/environments/{envID}/connectorInstances"] == 1
    assert by_route["POST /v1/environments/{envID}/variables"] == 1
    assert by_route["GET /v1/environments/{envID}/flows/{flowID}/versions/{versionID}/details"] == 1
