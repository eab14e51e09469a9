"""DaVinci flow policy start (seed 000) against the sandbox's deployed flows."""

from __future__ import annotations

import requests

from flowvault.sandbox.token import ENV_ID

OK, FAIL, UI = (
    "e31c3b327523685b8e71ab9d76c8a0c1", "e31c3b327523685b8e71ab9d76c8fa11", "e31c3b327523685b8e71ab9d76c80001")


def start(sandbox, policy, key="sandbox", body=None, company=ENV_ID):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-SK-API-KEY"] = key
    return requests.post(f"{sandbox.url}/v1/company/{company}/policy/{policy}/start", headers=headers,
                         json=body if body is not None else {}, timeout=5)


def test_success_flow_answers_its_json(sandbox):
    r = start(sandbox, OK, body={"userId": "b7e5ad3e"})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["capabilityName"] == "createSuccessResponse"
    assert body["additionalProperties"] == {"status": "ok", "userId": "b7e5ad3e"}
    assert body["interactionId"] and body["companyId"] == ENV_ID


def test_failure_flow_answers_400_create_error_response(sandbox):
    r = start(sandbox, FAIL)
    assert r.status_code == 400
    body = r.json()
    assert body["capabilityName"] == "createErrorResponse" and body["success"] is False
    assert body["message"] == "This flow always fails on purpose"
    assert body["additionalProperties"] == {"errorCode": "SANDBOX_FAIL"}


def test_flow_reaching_a_ui_node_cannot_run_headless(sandbox):
    r = start(sandbox, UI)
    assert r.status_code == 400
    body = r.json()
    assert body["capabilityName"] == "customHtmlMessage" and body["capabilityName"] != "createErrorResponse"
    assert "user interface" in body["message"]


def test_bad_or_missing_api_key_is_refused(sandbox):
    assert start(sandbox, OK, key="SBXSECRET-apikey-smoke-3c9e1f").status_code == 401  # only the sandbox secret works
    assert start(sandbox, OK, key="wrong").status_code == 401
    assert start(sandbox, OK, key=None).status_code == 403


def test_unknown_policy_or_company_is_404(sandbox):
    assert start(sandbox, "0" * 32).status_code == 404
    assert start(sandbox, OK, company="11111111-2222-3333-4444-555555555555").status_code == 404


def test_runs_use_the_deployed_version(sandbox, p1):
    # A designer breaks the success flow but does not deploy: the policy still runs the deployed version.
    flow = "5b0c5a1d0c0ffee0000000000000a0c1"
    p1.hook(f"flows/{flow}/edit", {"/graphData/elements/nodes/2/data/capabilityName": "createErrorResponse"})
    assert start(sandbox, OK).status_code == 200
    p1.post(f"/flows/{flow}", "application/vnd.pingidentity.flow.deploy+json", {})
    assert start(sandbox, OK).status_code == 400


def test_fail_hook_applies_to_runs(sandbox, p1):
    p1.hook("faults", {"fail": ["5b0c5a1d0c0ffee0000000000000a0c1"]})
    assert start(sandbox, OK).status_code == 500
    p1.hook("faults", {"fail": []})
    assert start(sandbox, OK).status_code == 200
