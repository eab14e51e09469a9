"""Helpers for the normalize tests: corpus fixture lists and export equality up to meaningless order."""

from __future__ import annotations

import json
from pathlib import Path

from flowvault import canonical

FIXTURES = Path(__file__).parent.parent / "fixtures"
DAVINCI = FIXTURES / "davinci"
IDM = FIXTURES / "idm"
DAVINCI_FILES = sorted(DAVINCI.glob("*.json"))
BPMN_FILES = sorted(IDM.glob("*.bpmn20.xml"))
INVALID = DAVINCI / "invalid" / "dvclientgo__davinci_test_flows_flows-create-3.json"
SENSEI = DAVINCI / "terraformer__tests_testdata_flows_PingOne-SSO-Authentication-Sensei---MASTER.json"


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


# --- small flows for the redaction tests ------------------------------------------------------------------------


def flow_with(variables=(), properties=None) -> dict:
    """The 12-node simple flow of the corpus with these variables and extra properties on its first node."""
    doc = load(DAVINCI / "tfprovider__internal_acctest_flows_simple.json")
    doc["variables"] = list(variables)
    if properties:
        doc["graphData"]["elements"]["nodes"][0]["data"]["properties"].update(properties)
    return doc


def var(name, value, ftype="string", context="company"):
    """A legacy-shape flow variable."""
    return {"name": f"{name}##SK##{context}", "context": context, "type": "property", "visibility": "private",
            "companyId": "c", "fields": {"type": ftype, "displayName": "", "value": value}}  # fmt: skip


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


# --- building other-environment and Platform-shape exports from a real legacy one ---------------------------------


def _iso(epoch_ms) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(epoch_ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[
        :-3
    ] + "Z"


def legacy_flow_to_platform(flow: dict, env_id: str = "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6") -> dict:
    """One legacy flow in the Platform export shape of seed 002 (DaVinciExportFlowVersionResponse)."""
    base = f"https://api.pingone.com/v1/environments/{env_id}"
    out = {
        "_links": {
            "self": {"href": f"{base}/flows/{flow['flowId']}/versions/{flow.get('currentVersion', 1)}"},
            "environment": {"href": base},
        },
        "flow": {"id": flow["flowId"], "name": flow["name"]},
        "environment": {"id": env_id},
        "version": flow.get("currentVersion", 1),
        "enabled": flow.get("flowStatus") == "enabled",
        "graphData": flow["graphData"],
        "variables": [
            {k: v for k, v in var.items() if k not in ("customerId",)} | {"companyId": env_id}
            for var in flow.get("variables", [])
        ],
    }
    if "description" in flow:
        out["description"] = flow["description"]
    if "publishedVersion" in flow:
        out["publishedVersion"] = flow["publishedVersion"]
    if "connectorIds" in flow:
        out["connectors"] = [{"id": c} for c in flow["connectorIds"]]
    if "flowColor" in flow:
        out["color"] = flow["flowColor"]
    for key in ("settings", "trigger", "inputSchema"):
        if key in flow:
            out[key] = flow[key]
    known = {"flowId", "name", "companyId", "customerId", "currentVersion", "flowStatus", "graphData", "variables",
             "description", "publishedVersion", "connectorIds", "flowColor", "settings", "trigger", "inputSchema",
             "outputSchemaCompiled", "createdDate", "updatedDate", "savedDate", "deployedDate", "versionId",
             "authTokenExpireIds", "connections", "timeouts", "isOutputSchemaSaved", "isInputSchemaSaved",
             "inputSchemaCompiled", "orx", "enabledGraphData", "parentFlowId", "functionConnectionId", "versionInfo"}
    out.update({k: v for k, v in flow.items() if k not in known})  # unknown keys travel as they are
    if "outputSchemaCompiled" in flow:
        out["outputSchema"] = flow["outputSchemaCompiled"]
    if "createdDate" in flow:
        out["createdAt"] = _iso(flow["createdDate"])
    if "updatedDate" in flow:
        out["updatedAt"] = _iso(flow["updatedDate"])
    return out


def legacy_to_platform(doc: dict) -> dict:
    """A legacy single or multi-flow export as a Platform export: main flow + _embedded subflows."""
    flows = doc["flows"] if "flows" in doc and "flowId" not in doc else [doc]
    main = legacy_flow_to_platform(flows[0])
    if len(flows) > 1:
        main["_embedded"] = [legacy_flow_to_platform(f) for f in flows[1:]]
    return main


def other_environment(flow: dict, tag: str = "prod") -> dict:
    """The same flow as another environment exports it: every id, date, version and order changed, config not.

    Rewrites flowId, companyId, customerId, node connectionIds, subflow ids, variable ids/dates/companyId/flowId
    and the ##SK##flow##SK##<flowId> suffix, dates and versions; stamps "Imported on ..."; adds a trailing NBSP
    to the name; flips subFlowVersionId -1 <-> "-1"; moves nodes (float positions), pans, zooms; reverses the
    order of nodes, edges, variables and connectorIds.
    """
    import copy
    import hashlib

    def new_id(old, n=32):
        return hashlib.sha256(f"{tag}:{old}".encode()).hexdigest()[:n] if old else old

    flow = copy.deepcopy(flow)
    old_flow_id = flow["flowId"]
    flow["flowId"] = new_id(old_flow_id)
    flow["companyId"] = new_id(flow.get("companyId"), 36)
    flow["customerId"] = new_id(flow.get("customerId"))
    for key in ("createdDate", "updatedDate", "savedDate", "deployedDate"):
        if key in flow:
            flow[key] = flow[key] + 86_400_000
    for key in ("currentVersion", "publishedVersion", "versionId"):
        if isinstance(flow.get(key), int):
            flow[key] = 1
    flow["description"] = "Imported on Mon Sep 18 2023 12:48:14 GMT+0000 (Coordinated Universal Time)" if not flow.get(
        "description"
    ) or flow["description"].startswith("Imported on") else flow["description"]
    flow["name"] = flow["name"] + "\u00a0"
    if "connectorIds" in flow:
        flow["connectorIds"] = flow["connectorIds"][::-1]
    graph = flow["graphData"]
    graph["pan"] = {"x": 12.5, "y": -3.25}
    graph["zoom"] = 0.75
    elements = graph.get("elements", {})
    for node in elements.get("nodes", []):
        data = node["data"]
        if "connectionId" in data:
            data["connectionId"] = new_id(data["connectionId"])
        props = data.get("properties", {})
        sub = props.get("subFlowId")
        if isinstance(sub, dict) and isinstance(sub.get("value"), dict) and "value" in sub["value"]:
            sub["value"]["value"] = new_id(sub["value"]["value"])
        ver = props.get("subFlowVersionId")
        if isinstance(ver, dict) and ver.get("value") in (-1, "-1"):
            ver["value"] = "-1" if ver["value"] == -1 else -1
        if "position" in node:
            node["position"] = {"x": float(node["position"]["x"]) + 0.5, "y": float(node["position"]["y"])}
        node["selected"] = True
    for kind in ("nodes", "edges"):
        if kind in elements:
            elements[kind] = elements[kind][::-1]
    for var in flow.get("variables", []):
        if "id" in var:
            var["id"] = new_id(var["id"], 36)
        var["companyId"] = flow["companyId"]
        var["createdDate"] = var.get("createdDate", 0) + 1
        var["updatedDate"] = 1700000000000
        if var.get("flowId"):
            var["flowId"] = flow["flowId"]
        var["name"] = var["name"].replace(old_flow_id, flow["flowId"])
    flow["variables"] = flow.get("variables", [])[::-1]
    return flow
