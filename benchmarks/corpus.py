"""Benchmark inputs built from the real DaVinci exports shipped in the project (tests/fixtures/davinci).

Nothing here is synthetic in shape: every node, edge and variable comes from a real export. Only names and ids
are varied so that N copies are N distinct flows to the sandbox and to the diff.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "davinci"

SENSEI = "terraformer__tests_testdata_flows_PingOne-SSO-Authentication-Sensei---MASTER.json"  # 407 nodes

# Real single-flow legacy exports (top-level flowId + graphData), biggest first, that the backup serves.
BACKUP_SOURCES = (
    SENSEI,
    "tfprovider__internal_acctest_flows_p1sessionsubflow.json",
    "terraformer__tests_testdata_flows_PingOne-MFA-Device-Management-Subflow.json",
    "dvlint__rules_dv-rule-annotations-001_tests_MissingTitleAnnotation.json",
    "terraformer__tests_testdata_flows_PingOne-SSO-Consent-subflow.json",
    "terraformer__tests_testdata_flows_PingOne-Neo-Starter-Flow---Verifiable-Credential-Presentation-Request-subflow.json",
    "terraformer__tests_testdata_flows_PingOne-reCAPTCHA-v3-subflow.json",
    "terraformer__tests_testdata_flows_PingOne-Auto-enroll-user-in-email.json",
    "tfprovider__internal_acctest_flows_p1sessionmainflow.json",
    "dvclientgo__davinci_test_flows_export-version.json",
    "tfprovider__internal_acctest_flows_full-basic-vars.json",
    "dvlint__rules_dv-rule-globalVariable-001_tests_GlobalVariableRule1.json",
    "dvlint__rules_dv-rule-teleport-001_tests_TeleportBranchRule.json",
    "tfprovider__internal_acctest_flows_flowcontextvarflow.json",
    "tfprovider__internal_acctest_flows_full-basic.json",
    "dvlint__rules_dv-rule-variables-001_tests_VariableRule.json",
)

# The biggest real flows, bundled into one legacy multi-flow export (`flows: [...]`): no single real file in the
# corpus reaches ~900 nodes (the biggest multi-flow file, FLOW_ESCAPED, has 94), so the row uses this bundle.
BUNDLE_SOURCES = (
    SENSEI,
    "tfprovider__internal_acctest_flows_p1sessionsubflow.json",
    "terraformer__tests_testdata_flows_PingOne-MFA-Device-Management-Subflow.json",
    "dvclientgo__davinci_test_data_flow_escaped_go__FLOW_ESCAPED.json",  # itself a 2-flow export
    "dvlint__rules_dv-rule-annotations-001_tests_MissingTitleAnnotation.json",
    "terraformer__tests_testdata_flows_PingOne-SSO-Consent-subflow.json",
    "terraformer__tests_testdata_flows_PingOne-Neo-Starter-Flow---Verifiable-Credential-Presentation-Request-subflow.json",
    "terraformer__tests_testdata_flows_PingOne-reCAPTCHA-v3-subflow.json",
    "terraformer__tests_testdata_flows_PingOne-Auto-enroll-user-in-email.json",
)


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text("utf-8"))


def flows_of(doc: dict) -> list[dict]:
    """The legacy flow objects of an export document (single or multi-flow)."""
    if isinstance(doc.get("flowInfo"), dict):
        doc = doc["flowInfo"]
    if isinstance(doc.get("flows"), list):
        return doc["flows"]
    return [doc]


def nodes_of(flow: dict) -> list[dict]:
    return ((flow.get("graphData") or {}).get("elements") or {}).get("nodes") or []


def node_count(doc: dict) -> int:
    return sum(len(nodes_of(f)) for f in flows_of(doc))


def fresh_id(*parts: object, length: int = 32) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:length]


# --- the 100 flows of the backup rows -------------------------------------------------------------------------


def write_backup_flows(folder: Path, count: int, sources: tuple[str, ...] = BACKUP_SOURCES) -> list[str]:
    """Write `count` distinct single-flow exports into `folder` (cycling through real exports); return their ids."""
    folder.mkdir(parents=True, exist_ok=True)
    originals = [load(name) for name in sources]
    ids = []
    for i in range(count):
        flow = copy.deepcopy(originals[i % len(originals)])
        flow_id = fresh_id("bench-flow", i)
        flow["flowId"] = flow_id
        flow["name"] = f"{flow.get('name') or 'flow'} #{i:03d}"
        (folder / f"flow-{i:03d}.json").write_text(json.dumps(flow), encoding="utf-8")
        ids.append(flow_id)
    return ids


# --- the ~900-node multi-flow export and its edited copy ------------------------------------------------------


def build_bundle(sources: tuple[str, ...] = BUNDLE_SOURCES) -> dict:
    """One legacy multi-flow export holding every flow of `sources`."""
    flows: list[dict] = []
    first = load(sources[0])
    for name in sources:
        flows += copy.deepcopy(flows_of(load(name)))
    return {"flows": flows, "companyId": first.get("companyId"), "customerId": first.get("customerId")}


def edit_copy(doc: dict, fraction: float = 0.01, seed: int = 8) -> tuple[dict, int]:
    """A copy of `doc` with `fraction` of its node labels edited and every flow's node list shuffled.

    Returns (copy, number of labels edited). Nodes without a label get one (a designer naming a node).
    """
    rng = random.Random(seed)
    out = copy.deepcopy(doc)
    everything = [node for flow in flows_of(out) for node in nodes_of(flow)]
    wanted = max(1, round(len(everything) * fraction))
    for node in rng.sample(everything, wanted):
        data = node.setdefault("data", {})
        data["label"] = f"{data.get('label') or 'node'} (edited)"
    for flow in flows_of(out):
        rng.shuffle(nodes_of(flow))
    return out, wanted


# --- the 3,000-node flow --------------------------------------------------------------------------------------


def build_big_flow(target_nodes: int = 3000, source: str = SENSEI) -> dict:
    """One real legacy flow grown to `target_nodes` nodes by replicating Sensei's graph with fresh node ids.

    Each replica keeps its own edges (re-pointed to the replica's ids), so the graph stays a real graph.
    """
    base = load(source)
    base_nodes = nodes_of(base)
    base_edges = (base["graphData"]["elements"].get("edges") or [])
    nodes, edges = [], []
    replica = 0
    while len(nodes) < target_nodes:
        mapping = {n["data"]["id"]: (n["data"]["id"] if replica == 0 else f"{n['data']['id']}r{replica}")
                   for n in base_nodes}
        for n in base_nodes:
            if len(nodes) >= target_nodes:
                break
            n = copy.deepcopy(n)
            n["data"]["id"] = mapping[n["data"]["id"]]
            nodes.append(n)
        kept = {n["data"]["id"] for n in nodes}
        for e in base_edges:
            e = copy.deepcopy(e)
            data = e["data"]
            data["source"], data["target"] = mapping.get(data["source"]), mapping.get(data["target"])
            if data["source"] in kept and data["target"] in kept:
                data["id"] = data["id"] if replica == 0 else f"{data['id']}r{replica}"
                edges.append(e)
        replica += 1
    flow = copy.deepcopy(base)
    flow["flowId"] = fresh_id("bench-big-flow")
    flow["name"] = f"{base.get('name')} x{replica}"
    flow["graphData"]["elements"]["nodes"] = nodes
    flow["graphData"]["elements"]["edges"] = edges
    return flow
