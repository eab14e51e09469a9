"""PingIDM workflows: BPMN diffed by element id, <key>.json metadata with `deployed` as metadata."""

from pathlib import Path

import pytest

from flowvault.diff import diff_snapshots
from flowvault.normalize import bpmn
from flowvault.render import render
from flowvault.snapshot import Snapshot, WorkflowEntry

IDM = Path(__file__).resolve().parents[1] / "fixtures" / "idm"
ACCESS = IDM / "usecase__workflow__accessRequest.bpmn20.xml"
META = {"key": "accessRequest", "name": "Access request process", "deployed": {"_id": "accessRequest:1:4",
                                                                              "version": 1}}


def side(data: bytes, meta=META) -> Snapshot:
    return Snapshot("x", workflows=[WorkflowEntry("idm", "accessRequest", bpmn.canonical_xml(data), meta)])


@pytest.fixture
def base() -> bytes:
    return ACCESS.read_bytes()


def rows(result):
    return [(c.category, c.action, c.target, c.path) for c in result.changes]


def test_same_workflow_is_no_change(base):
    assert diff_snapshots(side(base), side(bpmn.canonical_xml(base))).changes == []
    assert diff_snapshots(side(base), side(base), level="all").changes == []


def test_rename_task_is_one_node_record(base):
    new = base.replace(b'name="Prepare Task"', b'name="Prepare the task"')
    result = diff_snapshots(side(base), side(new))
    assert rows(result) == [("node", "changed", "readUserData", "/elements/readUserData/properties/attributes/name")]
    assert "node 'Prepare the task' (scriptTask): attribute `name` changed: 'Prepare Task' -> 'Prepare the task'" \
        in render(result, "text")


def test_script_edit_and_condition_edit(base):
    new = base.replace(b"userName = user.userName", b"userName = user.mail").replace(
        b"${request=='accept'}", b"${request=='ok'}")
    result = diff_snapshots(side(base), side(new))
    assert rows(result) == [
        ("node", "changed", "readUserData", "/elements/readUserData/properties/script"),
        ("edge", "changed", "sequenceFlow-3f8dcfd2-560c-4517-ac9b-54af3817b2d1",
         "/flows/sequenceFlow-3f8dcfd2-560c-4517-ac9b-54af3817b2d1/conditionExpression"),
    ]
    assert result.changes[1].label == "Request Made -> User Access Request Approval"


def test_form_property_change(base):
    new = base.replace(b'name="Send Email Notification"', b'name="Send an email"')
    (c,) = diff_snapshots(side(base), side(new)).changes
    assert (c.category, c.target) == ("node", "userAccessRequest")
    assert c.path.startswith("/elements/userAccessRequest/properties/")


def test_deployed_is_metadata_only_at_level_all(base):
    redeployed = {**META, "deployed": {"_id": "accessRequest:2:9", "version": 2}}
    assert diff_snapshots(side(base), side(base, redeployed)).changes == []
    result = diff_snapshots(side(base), side(base, redeployed), level="all")
    assert rows(result) == [("metadata", "changed", "accessRequest", "/deployed")]


def test_added_and_removed_workflow(base):
    result = diff_snapshots(Snapshot("a"), side(base))
    assert rows(result) == [("flow", "added", "accessRequest", "")]
    assert result.summary["workflows_added"] == 1 and result.summary["flows_added"] == 0
    assert "idm/Access request process: workflow added" in render(result, "text") or \
        "Access request process: workflow added" in render(result, "text")
