"""restore.run.make_plan + restore.apply.Applier against an in-memory target: cycles, pins, variables, policies,
undo."""

import pytest

from flowvault.restore.apply import Applier, RestoreFailed
from flowvault.restore.run import make_plan
from flowvault.restore.variables import wire_value
from flowvault.vault.snapshot import from_export
from tests.restore.restore_helpers import FakeTarget, legacy_flow

INSTANCES = [{"id": "ci-new-http", "name": "Http", "connector": {"id": "httpConnector"}},
             {"id": "ci-new-flow", "name": "Flow Connector", "connector": {"id": "flowConnector"}}]


def _snapshot(*flows):
    snap = from_export({"flows": list(flows), "companyId": "old-company"}, "test", source="staging")
    return snap, {e.name: e for e in snap.flows}


def _calls(target, flow_id):
    nodes = target.content(flow_id)["graphData"]["elements"]["nodes"]
    return {n["data"]["id"]: (n["data"]["properties"]["subFlowId"]["value"]["value"],
                              n["data"]["properties"]["subFlowVersionId"]["value"])
            for n in nodes if "subFlowId" in n["data"].get("properties", {})}


def _existing(flow_id, name, version=3, published=3):
    return {"id": flow_id, "currentVersion": version, "publishedVersion": published,
            "versions": {version: {"name": name, "graphData": {"elements": {"nodes": [], "edges": []}}}}}


def test_a_subflow_cycle_points_at_the_new_ids_both_ways():
    snap, by_name = _snapshot(legacy_flow("A", "flow A", [("B", "flow B", -1)]),
                              legacy_flow("B", "flow B", [("A", "flow A", -1)]))
    target = FakeTarget(instances=list(INSTANCES))
    plan = make_plan(target, snap, by_name["flow A"], {}, deploy=False)
    Applier(target, plan, {}, deploy=False).run()
    [a] = [f["id"] for f in target.flows() if f["name"] == "flow A"]
    [b] = [f["id"] for f in target.flows() if f["name"] == "flow B"]
    assert _calls(target, a) == {"call0": (b, -1)}
    assert _calls(target, b) == {"call0": (a, -1)}  # written first, set again once flow A had its id
    nodes = target.content(a)["graphData"]["elements"]["nodes"]
    assert {n["data"]["id"]: n["data"]["connectionId"] for n in nodes} == {"http1": "ci-new-http",
                                                                           "call0": "ci-new-flow"}


def test_a_version_pin_names_the_subflows_version_in_the_target():
    snap, by_name = _snapshot(legacy_flow("A", "flow A", [("B", "flow B", 7)]), legacy_flow("B", "flow B"))
    target = FakeTarget(flows=[_existing("t-b", "flow B", version=12, published=12)], instances=list(INSTANCES))
    plan = make_plan(target, snap, by_name["flow A"], {}, deploy=False)
    Applier(target, plan, {}, deploy=False).run()
    [a] = [f["id"] for f in target.flows() if f["name"] == "flow A"]
    assert _calls(target, a) == {"call0": ("t-b", 13)}  # flow B was replaced: v12 -> v13
    [remap] = plan.steps[-1][1].remaps
    assert (remap.pin, remap.new_pin) == (7, 13)


FLOW_VAR = {"name": "counter##SK##flow##SK##A", "context": "flow", "flowId": "A", "companyId": "old-company",
            "type": "property", "fields": {"type": "number", "value": 0, "mutable": True}}
COMPANY_VARS = [{"name": "enabled##SK##company", "context": "company", "type": "property",
                 "fields": {"type": "boolean", "value": False, "mutable": True}},
                {"name": "limit##SK##company", "context": "company", "type": "property",
                 "fields": {"type": "number", "value": 0, "mutable": True}}]


def test_variables_flow_suffix_rewritten_and_false_and_zero_sent_as_strings():
    snap, by_name = _snapshot(legacy_flow("A", "flow A", variables=[FLOW_VAR, *COMPANY_VARS]))
    target = FakeTarget(instances=list(INSTANCES),
                        variables=[{"id": "v-limit", "name": "limit", "context": "company", "dataType": "number",
                                    "mutable": True, "value": 5}])
    plan = make_plan(target, snap, by_name["flow A"], {}, deploy=False)
    assert {(v.context, v.name): (v.action, v.via) for v in plan.variables} == {
        ("company", "enabled"): ("create", "variables"), ("company", "limit"): ("update", "variables"),
        ("flow", "counter"): ("create", "flow")}
    Applier(target, plan, {}, deploy=False).run()
    sent = {body["name"]: body["value"] for what, body in target.bodies if what.endswith("_variable")}
    assert sent == {"enabled": "false", "limit": "0"}
    [a] = [f["id"] for f in target.flows()]
    names = {v["name"] for v in target.content(a)["variables"]}
    assert f"counter##SK##flow##SK##{a}" in names
    assert all(v.get("companyId") in (None, "fake-env") for v in target.content(a)["variables"])


def test_wire_value_only_changes_false_and_zero():
    assert [wire_value(v) for v in (False, 0, 0.0, True, 3, "x", "")] == ["false", "0", "0", True, 3, "x", ""]


def test_deploy_moves_a_policy_pinned_to_the_old_version():
    snap, by_name = _snapshot(legacy_flow("A", "flow A"))
    pinned = {"id": "p1", "name": "pinned", "status": "enabled", "flowDistributions": [{"id": "t-a", "version": 3}]}
    latest = {"id": "p2", "name": "latest", "status": "enabled", "flowDistributions": [{"id": "t-a", "version": -1}]}
    app = {"id": "app1", "name": "App"}
    target = FakeTarget(flows=[_existing("t-a", "flow A")], instances=list(INSTANCES),
                        policies=[(app, pinned), (app, latest)])
    dry = make_plan(target, snap, by_name["flow A"], {}, deploy=False)
    assert [(p.name, p.action) for p in dry.policies] == [("App/pinned", "unchanged"), ("App/latest", "unchanged")]
    plan = make_plan(target, snap, by_name["flow A"], {}, deploy=True)
    assert [(p.name, p.action) for p in plan.policies] == [("App/pinned", "update"), ("App/latest", "unchanged")]
    Applier(target, plan, {}, deploy=True).run()
    assert pinned["flowDistributions"] == [{"id": "t-a", "version": 4}]
    assert latest["flowDistributions"] == [{"id": "t-a", "version": -1}]
    assert [p.runs_after for p in plan.policies] == [4, 4]


@pytest.mark.parametrize("fail_at", ["import_flow", "replace", "validate", "deploy", "replace_policy"])
def test_a_failed_step_undoes_every_write_before_it(fail_at):
    snap, by_name = _snapshot(legacy_flow("A", "flow A", [("B", "flow B", -1)], variables=COMPANY_VARS[:1]),
                              legacy_flow("B", "flow B"))
    pinned = {"id": "p1", "name": "pinned", "status": "enabled", "flowDistributions": [{"id": "t-a", "version": 3}]}
    target = FakeTarget(flows=[_existing("t-a", "flow A")], instances=list(INSTANCES),
                        policies=[({"id": "app1", "name": "App"}, pinned)], fail_at=fail_at)
    plan = make_plan(target, snap, by_name["flow A"], {}, deploy=True)
    lines = []
    with pytest.raises(RestoreFailed) as failed:
        Applier(target, plan, {}, deploy=True, say=lines.append).run()
    assert failed.value.not_undone == []
    assert "the target is as it was" in str(failed.value)
    # as it was: the same flows, A's current and deployed content as before, no variable, the policy's pin
    assert sorted(target.data) == ["t-a"]
    assert target.content("t-a") == {"name": "flow A", "graphData": {"elements": {"nodes": [], "edges": []}}}
    published = target.data["t-a"]["publishedVersion"]
    assert target.data["t-a"]["versions"][published] == target.content("t-a")
    assert target.vars == []
    assert pinned["flowDistributions"] == [{"id": "t-a", "version": 3}]
    assert any(line.startswith("undone: ") for line in lines)


def _a_calls_new_b():
    """Flow A (in the target, replaced in place) calls subflow B (new: imported by the restore), with a variable."""
    snap, by_name = _snapshot(legacy_flow("A", "flow A", [("B", "flow B", -1)], variables=COMPANY_VARS[:1]),
                              legacy_flow("B", "flow B"))
    pinned = {"id": "p1", "name": "pinned", "status": "enabled", "flowDistributions": [{"id": "t-a", "version": 3}]}
    return snap, by_name, pinned


def test_preflight_validates_the_replaced_flow_before_any_write():
    snap, by_name, pinned = _a_calls_new_b()
    target = FakeTarget(flows=[_existing("t-a", "flow A")], instances=list(INSTANCES),
                        policies=[({"id": "app1", "name": "App"}, pinned)])
    sent = []
    target.linter = lambda flow_id, graph: sent.append((flow_id, graph)) or {}
    plan = make_plan(target, snap, by_name["flow A"], {}, deploy=True)
    Applier(target, plan, {}, deploy=True).run()
    assert target.writes[0] == ("preflight", "t-a")  # first, and only for the flow replaced in place
    assert [w for w in target.writes if w[0] == "preflight"] == [("preflight", "t-a")]
    [(flow_id, graph)] = sent
    # what will be sent, connector instances mapped to the target's; B's id is known only once B is imported
    [call] = [n["data"] for n in graph["elements"]["nodes"] if n["data"]["id"] == "call0"]
    assert flow_id == "t-a" and call["connectionId"] == "ci-new-flow"
    assert call["properties"]["subFlowId"]["value"]["value"] == "B"


@pytest.mark.parametrize("fail", ["findings", "refused"])
def test_a_definition_the_target_rejects_stops_the_restore_before_any_write(fail):
    snap, by_name, pinned = _a_calls_new_b()
    target = FakeTarget(flows=[_existing("t-a", "flow A")], instances=list(INSTANCES),
                        policies=[({"id": "app1", "name": "App"}, pinned)],
                        fail_at="preflight" if fail == "refused" else None)
    bad = {"code": "dv-er-edge-001", "type": "error", "message": "Edge e1 has no target node 'gone'"}
    # B is imported only by the restore: a finding about B's (old) id is no reason to stop
    later = {"code": "dv-er-subflow-001", "type": "error", "message": "Subflow 'B' does not exist in this environment"}
    target.linter = lambda flow_id, graph: {"graphData": {"allLinterErrors": [later, bad]}}
    plan = make_plan(target, snap, by_name["flow A"], {}, deploy=True)
    with pytest.raises(RestoreFailed) as failed:
        Applier(target, plan, {}, deploy=True).run()
    message = str(failed.value)
    assert message.startswith("fake: restore failed at preflight: ") and message.endswith("; nothing had been written")
    if fail == "findings":
        assert "found 1 error(s), first: dv-er-edge-001" in message
    assert [w for w in target.writes if w[0] != "preflight"] == []
    assert sorted(target.data) == ["t-a"] and target.vars == [] and target.data["t-a"]["currentVersion"] == 3
