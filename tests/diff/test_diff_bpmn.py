"""PingIDM workflows: BPMN diffed by element id, <key>.json metadata with `deployed` as metadata."""

from pathlib import Path

import pytest

from flowvault.diff import diff_snapshots
from flowvault.normalize import bpmn
from flowvault.render import render
from flowvault.vault.snapshot import Snapshot, WorkflowEntry

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


# --- issue 15: reviewed as a BPMN tool would -------------------------------------------------------------------

COLLABORATION = b"""    <collaboration id="collab">
        <participant id="requester" name="Requester" processRef="accessRequest"></participant>
        <participant id="hr" name="HR system"></participant>
        <messageFlow id="mf1" name="request" sourceRef="hr" targetRef="readUserData"></messageFlow>
    </collaboration>
"""
LANES_AND_DATA = b"""        <laneSet id="laneSet1">
            <lane id="laneManager" name="Manager"><flowNodeRef>managerApproval</flowNodeRef></lane>
        </laneSet>
        <dataObject id="requestData" name="Request"></dataObject>
        <dataObjectReference id="requestRef" name="Request form" dataObjectRef="requestData"></dataObjectReference>
        <association id="assoc1" sourceRef="requestRef" targetRef="readUserData"></association>
"""
SUBPROCESS = b"""        <subProcess id="audit" name="Audit">
            <startEvent id="auditStart"></startEvent>
            <scriptTask id="auditLog" name="Log it" scriptFormat="groovy"><script>println 'x'</script></scriptTask>
            <endEvent id="auditEnd"></endEvent>
            <sequenceFlow id="auditF1" sourceRef="auditStart" targetRef="auditLog"></sequenceFlow>
            <sequenceFlow id="auditF2" sourceRef="auditLog" targetRef="auditEnd"></sequenceFlow>
        </subProcess>
"""


def _insert_in_process(base: bytes, xml: bytes) -> bytes:
    return base.replace(b"    </process>", xml + b"    </process>")


def test_participants_lanes_message_flows_data_and_associations_are_records(base):
    new = _insert_in_process(base, LANES_AND_DATA).replace(b"    <process ", COLLABORATION + b"    <process ", 1)
    got = {(c.category, c.action, c.target) for c in diff_snapshots(side(base), side(new)).changes}
    assert got == {("node", "added", "requester"), ("node", "added", "hr"), ("edge", "added", "mf1"),
                   ("node", "added", "laneManager"), ("node", "added", "requestData"), ("node", "added", "requestRef"),
                   ("edge", "added", "assoc1")}
    text = render(diff_snapshots(side(base), side(new)), "text")
    assert "node 'Manager' (lane) added" in text and "edge HR system -> Prepare Task added" in text


def test_a_subprocess_added_or_removed_is_one_record(base):
    new = _insert_in_process(base, SUBPROCESS)
    assert rows(diff_snapshots(side(base), side(new))) == [("node", "added", "audit", "/elements/audit")]
    assert rows(diff_snapshots(side(new), side(base))) == [("node", "removed", "audit", "/elements/audit")]


def test_a_change_inside_an_event_definition_marks_the_element_changed(base):
    new = base.replace(b"<timeDuration>PT10M</timeDuration>", b"<timeDuration>PT1H</timeDuration>")
    (c,) = diff_snapshots(side(base), side(new)).changes
    assert (c.category, c.action, c.target) == ("node", "changed", "boundarytimer")
    assert c.path.startswith("/elements/boundarytimer/properties/eventDefinitions")


def test_a_diagram_only_change_is_layout_at_level_all_and_nothing_at_config(base):
    new = base.replace(b'height="60.0" width="100.0" x="80.0" y="42.0"',
                       b'height="60.0" width="100.0" x="95.0" y="42.0"')
    assert new != base
    assert diff_snapshots(side(base), side(new)).changes == []
    assert rows(diff_snapshots(side(base), side(new), level="all")) == [
        ("layout", "changed", "readUserData", "/diagram/readUserData")]


def test_a_bpmn_file_is_recognised_by_its_content(base, tmp_path):
    import json

    from click.testing import CliRunner

    from flowvault.cli import cli

    (tmp_path / "old.bpmn").write_bytes(base)
    (tmp_path / "new.bpmn").write_bytes(base.replace(b'name="Prepare Task"', b'name="Prepare the task"'))
    result = CliRunner().invoke(cli, ["diff", str(tmp_path / "old.bpmn"), str(tmp_path / "new.bpmn"),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    (c,) = json.loads(result.output)["changes"]
    assert (c["category"], c["target"]) == ("node", "readUserData")


def test_a_changed_workflow_gets_a_picture_in_markdown(base):
    new = base.replace(b'name="Prepare Task"', b'name="Prepare the task"')
    out = render(diff_snapshots(side(base), side(new)), "markdown")
    assert "```mermaid" in out and "Prepare the task" in out and "class n" in out
    assert "| workflow changed |" in out


def test_two_bpmn_files_read_as_their_workflow_with_what_moved(base, tmp_path):
    from click.testing import CliRunner

    from flowvault.cli import cli

    (tmp_path / "new.bpmn").write_bytes(base)
    (tmp_path / "new2.bpmn").write_bytes(base.replace(b'name="Access request process"', b'name="Access requests"')
                                         .replace(b'height="60.0" width="100.0" x="80.0" y="42.0"',
                                                  b'height="60.0" width="100.0" x="120.0" y="42.0"'))
    result = CliRunner().invoke(cli, ["diff", str(tmp_path / "new.bpmn"), str(tmp_path / "new2.bpmn"),
                                      "--level", "all"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "~ Access requests: workflow `name` changed: 'Access request process' -> 'Access requests'",
        "~ Access requests: layout of 'Prepare Task' [readUserData]: x 80.0 -> 120.0"]


def test_a_workflow_renamed_in_its_metadata_says_workflow(base):
    result = diff_snapshots(side(base), side(base, {**META, "name": "Access requests"}))
    assert render(result, "text").splitlines()[1] == \
        "~ Access requests: workflow `name` changed: 'Access request process' -> 'Access requests'"
    assert "flow `name`" not in render(result, "markdown").replace("workflow `name`", "")


def test_a_broken_bpmn_file_is_named_and_reported_as_xml(base, tmp_path):
    import re

    from click.testing import CliRunner

    from flowvault.cli import cli

    (tmp_path / "old.bpmn").write_bytes(base)
    (tmp_path / "bad.bpmn").write_bytes(b"this is no workflow\n")
    (tmp_path / "cut.bpmn").write_bytes(base[: len(base) // 2])
    (tmp_path / "cut.bpmn20.xml").write_bytes(base[: len(base) // 2])
    for name in ("bad.bpmn", "cut.bpmn", "cut.bpmn20.xml"):
        result = CliRunner().invoke(cli, ["diff", str(tmp_path / "old.bpmn"), str(tmp_path / name)])
        assert result.exit_code == 2, result.output
        (line,) = result.output.splitlines()
        assert re.fullmatch(rf"flowvault: {re.escape(str(tmp_path / name))}: not a valid BPMN/XML file "
                            r"\(line \d+, column \d+\)", line), line
