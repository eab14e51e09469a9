"""Issue 15: a PR comment stays within GitHub's limits whatever the change size, and its pictures say what changed."""

import copy
import json
import re

from click.testing import CliRunner

from benchmarks.bench_log import build_vault
from flowvault.cli import cli
from flowvault.diff import diff_snapshots
from flowvault.render.markdown import render_markdown
from flowvault.render.mermaid import MAX_CHARS, MAX_EDGES, edge_count
from flowvault.vault.snapshot import FlowDoc, FlowEntry, Snapshot
from tests.diff.diff_helpers import one_flow, raw

SENSEI = "terraformer__tests_testdata_flows_PingOne-SSO-Authentication-Sensei---MASTER.json"  # 407 nodes
BASIC = "tfprovider__internal_acctest_flows_full-basic.json"


def mermaid_blocks(text: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", text, flags=re.DOTALL)


def test_every_flow_of_a_100_flow_vault_changed_at_once(tmp_path):
    vault = build_vault(tmp_path / "vault", flows=100, edits=0)
    for flow_json in (vault / "snapshots" / "prod" / "flows").glob("*/flow.json"):
        doc = json.loads(flow_json.read_text("utf-8"))
        doc["name"] += " (edited)"
        for node in doc["nodes"].values():  # every node renamed: the biggest change a flow can have
            node.setdefault("properties", {})["nodeTitle"] = {"value": "Evaluator"}
        flow_json.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    out = CliRunner().invoke(cli, ["--vault", str(vault), "diff", "HEAD", "--format", "markdown"]).output
    assert len(out) <= 60_000  # a clear margin under GitHub's 65,536, not a few hundred characters
    assert "| flow | source |" in out and "more change" in out and out.endswith("for the full list).\n")
    blocks = mermaid_blocks(out)
    assert blocks
    for block in blocks:
        assert len(block) <= MAX_CHARS and edge_count(block) <= MAX_EDGES


def _pair(old_flow, new_flow):
    old = Snapshot("a", flows=[FlowEntry("prod", "f", FlowDoc(*old_flow))])
    new = Snapshot("b", flows=[FlowEntry("prod", "f", FlowDoc(*new_flow))])
    return diff_snapshots(old, new)


def test_a_big_flow_is_drawn_around_its_changes_with_a_note():
    old = one_flow(raw(SENSEI))
    flow = copy.deepcopy(old.flow)
    (_, node) = next(iter(sorted(flow["nodes"].items())))
    node.setdefault("properties", {})["nodeTitle"] = {"value": "Renamed in review"}
    out = render_markdown(_pair((old.flow, old.layout, old.meta), (flow, old.layout, old.meta)))
    (block,) = mermaid_blocks(out)
    assert "Renamed in review" in block and "class n" in block
    assert block.count("\n  n") < 60  # not the whole 407-node flow
    assert f"of {len(flow['nodes'])} nodes" in out  # the note says what was drawn


def test_added_and_removed_edges_are_styled_and_labels_unique():
    old = one_flow(raw(BASIC))
    flow = copy.deepcopy(old.flow)
    del flow["edges"]["2g0chago4l"]  # Evaluator pensvkew7y -> Error Message, removed
    flow["edges"]["newedge001"] = {"source": "j74pmg6577", "target": "vsp1ewtr9m"}  # another Evaluator, added
    result = _pair((old.flow, old.layout, old.meta), (flow, old.layout, old.meta))
    text = [c for c in result.changes if c.category == "edge"]
    assert text[0].action == "removed" and text[1].action == "added"  # removals first
    assert text[0].label != text[1].label  # 'Evaluator [pensvkew7y]' vs 'Evaluator [j74pmg6577]'
    (block,) = mermaid_blocks(render_markdown(result))
    assert " ==> " in block and " -.-> " in block and "linkStyle" in block
    labels = re.findall(r'^  n\d+\S*?"(.*?)"', block, flags=re.MULTILINE)
    assert len(labels) == len(set(labels))  # 'Evaluator' five times, each with its id


def test_summary_table_counts_nodes_not_records():
    old = one_flow(raw(BASIC))
    flow = copy.deepcopy(old.flow)
    node = flow["nodes"]["1u2m5vzr49"]
    node["properties"]["message"] = {"value": "Bye"}
    node["properties"]["nodeTitle"] = {"value": "Goodbye page"}
    result = _pair((old.flow, old.layout, old.meta), (flow, old.layout, old.meta))
    assert len(result.changes) == 2  # two records, one node
    assert "| flow changed | ~1 |  |  |  |  |" in render_markdown(result)


def _env(variables: dict) -> Snapshot:
    docs = {key: {"context": key.split("/")[0], "name": key.split("/")[1], "value": value}
            for key, value in variables.items()}
    return Snapshot("x", environments={"prod": {"variables.json": {"variables": docs}}})


def test_summary_table_says_whether_environment_items_were_added_removed_or_changed():
    first = {"company/companyName": "Sandbox Inc.", "company/support": "help@example.com"}
    row = "| *environment* | prod | environment {} |"
    assert row.format("added") in render_markdown(diff_snapshots(_env({}), _env(first)))
    assert row.format("removed") in render_markdown(diff_snapshots(_env(first), _env({})))
    edited = {**first, "company/companyName": "Evil Corp", "company/new": "x"}
    assert row.format("changed") in render_markdown(diff_snapshots(_env(first), _env(edited)))
