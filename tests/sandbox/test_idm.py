"""The PingIDM workflow emulation over plain HTTP (seeds/004; reference 1.3-1.8)."""

import xml.etree.ElementTree as ET

import pytest
import requests

from flowvault.sandbox import idm
from flowvault.sandbox.server import Sandbox

SECRET = "idm-SBXSECRET-1"
H = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": SECRET}
WF = "/openidm/workflow"


@pytest.fixture
def sb():
    with Sandbox(secret=SECRET) as sandbox:
        yield sandbox


def create(sb, body, headers=H):
    return requests.post(f"{sb.url}{WF}/processinstance", params={"_action": "create"}, json=body, headers=headers)


def test_definitions_query_and_read(sb):
    listed = requests.get(f"{sb.url}{WF}/processdefinition", params={"_queryFilter": "true"}, headers=H).json()
    keys = {d["key"] for d in listed["result"]}
    assert {"osgiProcess", "managedUserApproval", "contractorOnboarding", "sandboxFailingScript"} <= keys
    assert listed["resultCount"] == len(listed["result"]) and listed["totalPagedResultsPolicy"] == "NONE"
    by_id = requests.get(f"{sb.url}{WF}/processdefinition", params={"_queryId": "query-all-ids"}, headers=H).json()
    assert by_id["resultCount"] == listed["resultCount"]
    unknown = requests.get(f"{sb.url}{WF}/processdefinition", params={"_queryId": "bogus"}, headers=H)
    assert unknown.status_code == 400 and unknown.json() == {"code": 400, "reason": "Bad Request",
                                                             "message": "Unknown query-id"}
    approval = next(d for d in listed["result"] if d["key"] == "managedUserApproval")
    detail = requests.get(f"{sb.url}{WF}/processdefinition/{approval['_id']}", headers=H).json()
    assert detail["resourceName"] == "managedUserApproval.bpmn20.xml" and detail["version"] == 1
    assert "evaluateRequest" in detail["taskDefinitions"]
    assert "<definitions" not in str(detail)  # metadata only, never the XML
    assert requests.get(f"{sb.url}{WF}/processdefinition/nope:1:1", headers=H).status_code == 404


def test_create_ended_suspended_failed_unknown(sb):
    ended = create(sb, {"_key": "osgiProcess", "_businessKey": "smoke-1"})
    assert ended.status_code == 201
    body = ended.json()
    assert body["status"] == "ended" and body["businessKey"] == "smoke-1"
    assert body["_id"] == body["processInstanceId"] and body["processDefinitionId"].startswith("osgiProcess:1:")
    assert create(sb, {"_key": "managedUserApproval"}).json()["status"] == "suspended"
    failed = create(sb, {"_key": "sandboxFailingScript"})
    assert failed.status_code == 500 and "IllegalStateException" in failed.json()["message"]
    missing = create(sb, {"_key": "nope"})
    assert missing.status_code == 404 and missing.json()["reason"] == "Not Found"


def test_process_definition_id_wins_over_key(sb):
    listed = requests.get(f"{sb.url}{WF}/processdefinition", params={"_queryFilter": "true"}, headers=H).json()
    osgi = next(d["_id"] for d in listed["result"] if d["key"] == "osgiProcess")
    body = create(sb, {"_key": "managedUserApproval", "_processDefinitionId": osgi}).json()
    assert body["processDefinitionId"] == osgi and body["status"] == "ended"


def test_history_ends_after_the_assignee_acts_and_onboarding_stays_suspended(sb):
    approval = create(sb, {"_key": "managedUserApproval"}).json()["_id"]
    waiting = create(sb, {"_key": "contractorOnboarding"}).json()["_id"]
    history = requests.get(f"{sb.url}{WF}/processinstance/history/{approval}", headers=H).json()
    assert history["endTime"] is None and history["endActivityId"] is None
    requests.post(f"{sb.url}/_sandbox/clock", json={"advance": idm.USER_TASK_SECONDS + 1})
    history = requests.get(f"{sb.url}{WF}/processinstance/history/{approval}", headers=H).json()
    assert history["endTime"] and history["endActivityId"] == "end"
    instance = requests.get(f"{sb.url}{WF}/processinstance/{waiting}", headers=H).json()
    assert instance["endTime"] is None
    assert [t["taskDefinitionKey"] for t in instance["tasks"] if not t["endTime"]] == ["decideApprovalTask"]
    open_ids = requests.get(f"{sb.url}{WF}/processinstance", params={"_queryId": "query-all-ids"}, headers=H).json()
    assert [i["_id"] for i in open_ids["result"]] == [waiting]
    assert requests.get(f"{sb.url}{WF}/processinstance/history/999", headers=H).status_code == 404


def test_auth(sb):
    bearer = {"Authorization": f"Bearer {SECRET}"}
    assert requests.get(f"{sb.url}/openidm/config/workflow", headers=bearer).json()["_id"] == "workflow"
    wrong = requests.get(f"{sb.url}/openidm/config/workflow", headers={**H, "X-OpenIDM-Password": "x"})
    assert wrong.status_code == 401 and wrong.json() == {"code": 401, "reason": "Unauthorized",
                                                         "message": "Access Denied"}
    assert requests.get(f"{sb.url}{WF}/processdefinition", params={"_queryFilter": "true"}).status_code == 401


def test_config_tables_point_at_served_bpmn_files(sb):
    source = idm.config_sources(sb.url)["idm"]
    files = {p.name for p in idm.DATA_DIR.glob("*.bpmn20.xml")}
    listed = requests.get(f"{sb.url}{WF}/processdefinition", params={"_queryFilter": "true"}, headers=H).json()
    assert {d["resourceName"] for d in listed["result"]} == files
    assert source["workflow_dir"] == str(idm.DATA_DIR) and source["bearer_token"] == "${FLOWVAULT_SANDBOX_SECRET}"
    for name in files:
        ET.parse(idm.DATA_DIR / name)
    launchers = idm.config_launchers(sb.url)
    assert set(launchers) == {"idm-ok", "idm-fail"}
    assert all("SBXSECRET" not in str(t) and t["password"] == "${FLOWVAULT_SANDBOX_SECRET}" for t in launchers.values())
