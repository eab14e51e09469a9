"""Helpers for the normalize tests: corpus fixture lists and export equality up to meaningless order."""

from __future__ import annotations

import json
from pathlib import Path

from flowvault.normalize import canonical

FIXTURES = Path(__file__).parent.parent / "fixtures"
DAVINCI = FIXTURES / "davinci"
IDM = FIXTURES / "idm"
DAVINCI_FILES = sorted(DAVINCI.glob("*.json"))
BPMN_FILES = sorted(IDM.glob("*.bpmn20.xml"))
INVALID = DAVINCI / "invalid" / "dvclientgo__davinci_test_flows_flows-create-3.json"
SENSEI = DAVINCI / "terraformer__tests_testdata_flows_PingOne-SSO-Authentication-Sensei---MASTER.json"


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _flow_sorted(flow: dict) -> dict:
    flow = dict(flow)
    graph = flow.get("graphData")
    if isinstance(graph, dict) and isinstance(graph.get("elements"), dict):
        elements = dict(graph["elements"])
        for kind in ("nodes", "edges"):
            if isinstance(elements.get(kind), list):
                elements[kind] = sorted(elements[kind], key=lambda e: e["data"]["id"])
        flow["graphData"] = {**graph, "elements": elements}
    if isinstance(flow.get("variables"), list):
        flow["variables"] = sorted(flow["variables"], key=lambda v: v["name"])
    return flow


def export_key(doc: dict) -> str:
    """Canonical text of an export with node, edge and variable order removed (the lossless comparison).

    Compared as canonical JSON, so type flips that carry meaning (true vs 1, "-1" vs -1) still count,
    while 330 vs 330.0 does not.
    """
    doc = dict(doc)
    if "flowInfo" in doc:
        info = doc["flowInfo"]
        if isinstance(info, dict) and "flows" in info and "flowId" not in info:
            doc["flowInfo"] = {**info, "flows": [_flow_sorted(f) for f in info["flows"]]}
        else:
            doc["flowInfo"] = _flow_sorted(info)
    elif "flows" in doc and "flowId" not in doc:
        doc["flows"] = [_flow_sorted(f) for f in doc["flows"]]
    else:
        doc = _flow_sorted(doc)
        if isinstance(doc.get("_embedded"), list):
            doc["_embedded"] = [_flow_sorted(f) for f in doc["_embedded"]]
    return canonical.dumps(doc)


def snapshot_text(snapshot) -> tuple[str, str, str]:
    return canonical.dumps(snapshot.flow), canonical.dumps(snapshot.layout), canonical.dumps(snapshot.meta)
