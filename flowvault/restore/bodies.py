"""The request bodies of a restore: the raw export rebuilt from the vault, its references pointed at the target.

The export is rebuilt from flow.json + layout.json + meta.json (normalize.davinci.denormalize). Before it is sent,
its environment-specific references are rewritten for the target: subflow calls (`subFlowId.value.value`) and their
version pins (`subFlowVersionId`), nodes' connector instances (`connectionId`), and flow variables' names
(`name##SK##flow##SK##<flowId>`: the flow's own id in the environment it lives in).
"""

from __future__ import annotations

import copy
from typing import Any

from flowvault.restore.plan import LATEST

# DaVinciFlowReplaceRequest (reference/pingone-openapi.yaml, additionalProperties: true) plus the flow's variables, so
# that a replace carries them as an import does.
REPLACE_KEYS = ("name", "description", "color", "graphData", "inputSchema", "outputSchema", "settings", "trigger")
SK = "##SK##"


def rebuild(entry) -> dict:
    """The raw export flow the vault holds for `entry` (a deep copy: callers change it)."""
    from flowvault.normalize.davinci import FlowSnapshot, denormalize

    doc = entry.doc
    return copy.deepcopy(denormalize(FlowSnapshot(doc.flow, doc.layout or {}, doc.meta or {})))


def raw_nodes(raw: dict) -> list[dict]:
    """The node objects of a raw export flow's graph ([] when it has none)."""
    nodes = ((raw.get("graphData") or {}).get("elements") or {}).get("nodes")
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def remap_refs(raw: dict, ids: dict[str, str], pins: dict[str, Any] | None = None) -> None:
    """Point every subflow call of `raw` whose id is a key of `ids` at the mapped id (the label is kept), and set the
    version pin of each node of `pins` ({node id: version})."""
    pins = pins or {}
    for node in raw_nodes(raw):
        data = node.get("data") or {}
        props = data.get("properties") or {}
        prop = (props.get("subFlowId") or {}).get("value")
        if isinstance(prop, dict) and prop.get("value") in ids:
            prop["value"] = ids[prop["value"]]
        version = props.get("subFlowVersionId")
        if data.get("id") in pins and isinstance(version, dict) and version.get("value") not in LATEST:
            old = version["value"]
            version["value"] = str(pins[data["id"]]) if isinstance(old, str) else pins[data["id"]]


def rewrite_variables(raw: dict, flow_id: str | None, company_id: str | None) -> None:
    """Give the flow variables of `raw` the target flow's id (`name##SK##flow##SK##<id>`, `flowId`) and every
    variable the target's company id, as the target would have written them."""
    for var in raw.get("variables") or []:
        if not isinstance(var, dict):
            continue
        name = var.get("name")
        if flow_id and isinstance(name, str) and name.count(SK) == 2 and name.split(SK)[1] == "flow":
            base = name.split(SK)[0]
            var["name"] = f"{base}{SK}flow{SK}{flow_id}"
            if "flowId" in var:
                var["flowId"] = flow_id
        if company_id and "companyId" in var:
            var["companyId"] = company_id


def replace_body(raw: dict, entry) -> dict:
    """DaVinciFlowReplaceRequest from a rebuilt export flow (either shape), with the flow's variables."""
    body = {k: raw[k] for k in REPLACE_KEYS if k in raw and k != "name"}
    name = raw.get("name") if "name" in raw else (raw.get("flow") or {}).get("name")
    body["name"] = name if isinstance(name, str) and name.strip() else entry.name
    if "outputSchema" not in body and "outputSchemaCompiled" in raw:
        body["outputSchema"] = raw["outputSchemaCompiled"]  # a legacy export's output schema (canonical-format.md)
    if "color" not in body and "flowColor" in raw:
        body["color"] = raw["flowColor"]
    if isinstance(raw.get("variables"), list) and raw["variables"]:
        body["variables"] = raw["variables"]
    return body


def import_body(raw: dict, entry) -> dict:
    """The import request (flow.import[.legacy]+json) of one rebuilt export flow."""
    name = replace_body(raw, entry)["name"]
    return {"name": name, "description": raw.get("description", ""), "flowInfo": raw,
            "flowNameMapping": {entry.id: name} if entry.id else {}}


def same(body: dict, current: dict) -> bool:
    """True when a replace with `body` would leave the target's `current` flow as it is: config and layout, and
    the environment-specific references normalize moves out of the config (connector instances, subflow ids)."""
    from flowvault.normalize.davinci import normalize

    def canon(obj: dict):
        snap = normalize({"id": "x", "environment": {}, **{k: obj[k] for k in REPLACE_KEYS if k in obj}})
        snap.flow["name"] = str(snap.flow.get("name", "")).strip()
        return snap.flow, snap.layout, _references(obj)

    return canon(body) == canon(current)


def _references(obj: dict) -> dict:
    """{node id: (connectionId, subflow id)} of a flow's graph."""
    out = {}
    for node in raw_nodes(obj):
        data = node.get("data") or {}
        prop = (((data.get("properties") or {}).get("subFlowId") or {}).get("value"))
        out[str(data.get("id"))] = (data.get("connectionId"), prop.get("value") if isinstance(prop, dict) else None)
    return out
