"""Synthetic edits built from real exports: re-export noise gives no record, one edit gives one record."""

import copy
import random
import subprocess
import sys

import pytest

from flowvault.diff import Change, DiffResult, diff_flows, diff_snapshots
from flowvault.vault.snapshot import FlowEntry, Snapshot
from tests.diff.diff_helpers import DAVINCI, flows_of, one_flow, raw, raw_flows, rows, summary
from tests.normalize.normalize_helpers import other_environment

BASIC = "tfprovider__internal_acctest_flows_full-basic.json"
SESSION = "tfprovider__internal_acctest_flows_p1sessionmainflow.json"
MULTI = "tfprovider__internal_acctest_flows_multiple-flows.json"
SENSEI = "terraformer__tests_testdata_flows_PingOne-SSO-Authentication-Sensei---MASTER.json"
NOISE_FILES = [BASIC, SESSION, MULTI, SENSEI, "tfprovider__internal_acctest_flows_full-basic-vars.json"]


def reexport(doc: dict, seed: int = 7) -> dict:
    """The same flows exported again elsewhere (normalize_helpers.other_environment: new ids, dates, versions,
    connection and subflow ids, float positions, pan/zoom), with nodes, edges and variables also shuffled. Nothing
    a designer changed."""
    rng = random.Random(seed)
    if "flows" in doc:
        doc = {**doc, "flows": [other_environment(flow) for flow in doc["flows"]]}
    else:
        doc = other_environment(doc)
    for flow in raw_flows(doc):
        elements = flow["graphData"].get("elements", {})
        rng.shuffle(elements.get("nodes", []))
        rng.shuffle(elements.get("edges", []))
        rng.shuffle(flow.get("variables") or [])
    return doc


def snap(label, doc, source="prod"):
    return Snapshot(label, [FlowEntry(source, f.flow.get("name", "f"), f) for f in flows_of(doc)])


@pytest.mark.parametrize("name", NOISE_FILES)
def test_reexport_noise_gives_no_record_at_config_level(name):
    doc = raw(name)
    result = diff_snapshots(snap("a", doc), snap("b", reexport(doc)))
    assert result.changes == []
    assert result.summary == summary(flows_changed=0, changes=0)


@pytest.mark.parametrize("name", NOISE_FILES)
def test_reexport_noise_is_only_layout_and_metadata_at_level_all(name):
    doc = raw(name)
    changes = diff_snapshots(snap("a", doc), snap("b", reexport(doc)), level="all").changes
    assert changes
    assert {c.category for c in changes} <= {"layout", "metadata"}
    assert any(c.category == "layout" for c in changes)  # pan/zoom moved


def _edit(name, change, **kw):
    doc = raw(name)
    new = copy.deepcopy(doc)
    change(raw_flows(new)[0])
    return diff_flows(one_flow(doc) if "flows" not in doc else flows_of(doc)[0],
                      one_flow(new) if "flows" not in new else flows_of(new)[0], **kw)


def _node(flow, node_id):
    return next(n for n in flow["graphData"]["elements"]["nodes"] if n["data"]["id"] == node_id)


def test_node_property_change():
    def edit(flow):
        _node(flow, "1u2m5vzr49")["data"]["properties"]["message"]["value"] = "Goodbye"

    (c,) = _edit(BASIC, edit)
    assert (c.category, c.action, c.target, c.path) == (
        "node", "changed", "1u2m5vzr49", "/nodes/1u2m5vzr49/properties/message/value")
    assert c.label == "Http / customHtmlMessage"
    assert c.new == "Goodbye" and "Hello, world?" in c.old


def _extra_node(flow):
    node = copy.deepcopy(_node(flow, "1u2m5vzr49"))
    node["data"].update(id="newnode001", label="Say hi")
    flow["graphData"]["elements"]["nodes"].append(node)


def test_add_node():
    (c,) = _edit(BASIC, _extra_node)
    assert (c.category, c.action, c.target, c.path) == ("node", "added", "newnode001", "/nodes/newnode001")
    assert c.label == "Say hi - Http / customHtmlMessage"
    assert c.old is None and c.new["capabilityName"] == "customHtmlMessage"


def test_remove_node():
    doc = raw(BASIC)
    bigger = copy.deepcopy(doc)
    _extra_node(bigger)
    (c,) = diff_flows(one_flow(bigger), one_flow(doc))
    assert (c.category, c.action, c.target, c.path) == ("node", "removed", "newnode001", "/nodes/newnode001")


def test_add_edge():
    def edit(flow):
        flow["graphData"]["elements"]["edges"].append(
            {"data": {"id": "newedge001", "source": "1u2m5vzr49", "target": "ikt13crnhy"}, "position": {"x": 0, "y": 0},
             "group": "edges", "classes": ""})

    (c,) = _edit(BASIC, edit)
    assert (c.category, c.action, c.target, c.path) == ("edge", "added", "newedge001", "/edges/newedge001")
    assert c.label == "Http [1u2m5vzr49] -> Http [ikt13crnhy]"  # two nodes titled Http: ids tell them apart


def test_add_edge_out_of_an_evaluator_brings_its_condition_in_one_record():
    def edit(flow):
        flow["graphData"]["elements"]["edges"].append(
            {"data": {"id": "newedge002", "source": "cdcw8k7dnx", "target": "ikt13crnhy"}, "group": "edges"})
        _node(flow, "cdcw8k7dnx")["data"]["properties"]["ikt13crnhy"] = {"value": "allTriggersTrue"}

    (c,) = _edit(BASIC, edit)
    assert (c.category, c.action, c.target) == ("edge", "added", "newedge002")
    assert c.label.endswith("[allTriggersTrue]")


def test_eval_condition_change_reads_as_an_edge_condition():
    def edit(flow):
        _node(flow, "cdcw8k7dnx")["data"]["properties"]["xb74p6rkd8"]["value"] = "allTriggersTrue"

    (c,) = _edit(BASIC, edit)
    assert (c.category, c.action, c.target, c.path) == (
        "edge", "changed", "v5p4i55lt9", "/nodes/cdcw8k7dnx/properties/xb74p6rkd8/value")
    assert (c.old, c.new) == ("anyTriggersFalse", "allTriggersTrue")
    assert c.label == "Evaluator [cdcw8k7dnx] -> Flow Conductor [xb74p6rkd8]"


def test_rename_flow_is_one_flow_record_not_delete_and_add():
    doc = raw(BASIC)
    new = copy.deepcopy(doc)
    new["name"] = "full-basic renamed"
    result = diff_snapshots(snap("a", doc), snap("b", new))
    (c,) = result.changes
    assert (c.category, c.action, c.path, c.old, c.new) == ("flow", "changed", "/name", "full-basic",
                                                            "full-basic renamed")
    assert c.target == "name" and c.flow == "full-basic renamed"  # a changed field targets the field
    assert result.summary == summary(flows_changed=1, changes=1)


def test_rename_and_move_to_another_environment_is_still_one_record():
    doc = raw(BASIC)
    new = reexport(doc)
    new["name"] = "full-basic renamed"
    result = diff_snapshots(snap("a", doc), snap("b", new))
    assert rows(result.changes) == [("flow", "changed", "name", "/name")]


def test_variable_value_change():
    def edit(flow):
        var = next(v for v in flow["variables"] if v["name"].startswith("fdgdfgfdg"))
        var["fields"]["value"] = "another string"

    (c,) = _edit(BASIC, edit)
    assert (c.category, c.action, c.target, c.path) == (
        "variable", "changed", "flow/fdgdfgfdg", "/variables/flow~1fdgdfgfdg/fields/value")
    assert (c.old, c.new) == ("thisisastring", "another string")


def test_setting_change():
    def edit(flow):
        flow["settings"]["logLevel"] = 1

    (c,) = _edit(SENSEI, edit)
    assert (c.category, c.action, c.target, c.path, c.new) == ("setting", "changed", "logLevel",
                                                               "/settings/logLevel", 1)


def test_subflow_reference_change_names_the_subflow():
    def edit(flow):
        _node(flow, "xb74p6rkd8")["data"]["properties"]["subFlowId"]["value"] = {
            "label": "subflow 3", "value": "0123456789abcdef0123456789abcdef"}

    (c,) = _edit(BASIC, edit)
    assert (c.category, c.action, c.target) == ("subflow", "changed", "xb74p6rkd8")
    assert c.path.startswith("/nodes/xb74p6rkd8/properties/subFlowId/value")
    assert "subflow 2" in str(c.old) and "subflow 3" in str(c.new)


def test_layout_and_metadata_only_at_level_all():
    def edit(flow):
        _node(flow, "1u2m5vzr49")["position"] = {"x": 1, "y": 2}
        flow["currentVersion"] = 99

    assert _edit(BASIC, edit) == []
    changes = _edit(BASIC, edit, level="all")
    assert sorted(rows(changes)) == [
        ("layout", "changed", "1u2m5vzr49", "/nodes/1u2m5vzr49/position"),
        ("metadata", "changed", "currentVersion", "/currentVersion"),
    ]


def test_added_and_removed_flows_and_flow_filter():
    doc = raw(MULTI)
    old, new = snap("a", doc), snap("b", doc)
    gone = new.flows.pop()
    result = diff_snapshots(old, new)
    assert rows(result.changes) == [("flow", "removed", gone.id, "")]
    assert result.summary["flows_removed"] == 1
    assert diff_snapshots(new, old).summary["flows_added"] == 1
    assert diff_snapshots(old, new, flows=[new.flows[0].name]).changes == []


def test_change_record_to_dict_has_exactly_the_design_keys():
    c = Change("prod", "F", "node", "changed", "n1", "Http / x", "/nodes/n1/name", "a", "b")
    assert list(c.to_dict()) == ["source", "flow", "category", "action", "target", "label", "path", "old", "new"]
    d = DiffResult(summary(flows_changed=1, changes=1), [c], "HEAD~1", "HEAD")
    assert list(d.to_dict()) == ["old", "new", "summary", "changes"]


def test_unchanged_diff_and_help_never_import_deepdiff():
    code = (
        "import sys, json\n"
        "from flowvault.normalize import davinci\n"
        "from flowvault.diff import diff_flows\n"
        f"doc = json.load(open({str(DAVINCI / SENSEI)!r}))\n"
        "a = davinci.split_export(doc).flows[0]; b = davinci.split_export(doc).flows[0]\n"
        "assert diff_flows(a, b, level='all') == []\n"
        "from click.testing import CliRunner\n"
        "from flowvault.cli import cli\n"
        "assert CliRunner().invoke(cli, ['--help']).exit_code == 0\n"
        "print('deepdiff' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_large_flow_diff_is_fast():
    import time

    doc = raw(SENSEI)
    new = copy.deepcopy(doc)
    nodes = new["graphData"]["elements"]["nodes"]
    labelled = [n for n in nodes if "label" in n["data"]][:4]
    for n in labelled:
        n["data"]["label"] += " (edited)"
    random.Random(3).shuffle(nodes)
    a, b = one_flow(doc), one_flow(new)
    diff_flows(a, b)  # warm: deepdiff imported
    start = time.perf_counter()
    changes = diff_flows(a, b)
    elapsed = time.perf_counter() - start
    assert len(changes) == 4 and {c.path.rsplit("/", 1)[1] for c in changes} == {"label"}
    assert elapsed < 0.2
