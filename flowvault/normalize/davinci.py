"""DaVinci flow exports <-> canonical snapshots (flow.json, layout.json, meta.json).

The contract is docs/canonical-format.md; the field classification follows davinci-api.md §2.2-2.8
(davinci-client-go's config / designercue / metadata categories). Pure functions: no I/O except load_export.
Unknown fields are kept (in flow.json), never dropped: the platform adds fields without notice (tf-davinci #601).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowvault.errors import InputError
from flowvault.normalize.redact import Redactor, is_literal_secret

# --- field classification ------------------------------------------------------------------------------------

# Platform "enabled" is the on/off state switched by the flow.enabled action, like legacy flowStatus
# (versionmetadata in davinci-client-go): meta, so both shapes of one flow give the same flow.json.
CONFIG_KEYS = ("settings", "trigger", "inputSchema", "outputSchema")
# Top-level keys that are ids, dates, versions, environment references or derived/compiled copies.
META_KEYS = frozenset(
    {
        "companyId", "customerId", "createdDate", "updatedDate", "savedDate", "deployedDate",
        "currentVersion", "publishedVersion", "versionId", "version", "flowStatus", "versionInfo",
        "connectorIds", "connectors", "connections", "authTokenExpireIds", "timeouts",
        "isInputSchemaSaved", "isOutputSchemaSaved", "inputSchemaCompiled", "outputSchemaCompiled",
        "orx", "enabledGraphData", "parentFlowId", "functionConnectionId",
        # Platform API (DaVinciExportFlowVersionResponse, davinci-api.md §1.3)
        "_links", "environment", "enabled", "createdAt", "updatedAt", "deployedAt", "dvlinterErrorCount",
        "dvlinterWarningCount", "updates", "alias", "clonedFrom", "_embedded",
    }
)  # fmt: skip
# flow.json's own keys: an unknown top-level key with one of these names goes under "unmapped" instead.
FLOW_OWN = frozenset({"name", "description", "nodes", "edges", "variables", "graph", "unmapped", *CONFIG_KEYS})
GRAPH_LAYOUT_KEYS = frozenset(
    {"pan", "zoom", "minZoom", "maxZoom", "boxSelectionEnabled", "panningEnabled", "userPanningEnabled",
     "userZoomingEnabled", "zoomingEnabled", "renderer"}
)  # fmt: skip
GRAPH_META_KEYS = frozenset({"allLinterErrors"})
ELEMENT_LAYOUT_KEYS = frozenset({"position", "group", "removed", "selected", "selectable", "locked", "grabbable", "pannable"})
NODE_DATA_META_KEYS = ("connectionId", "linterError")
VARIABLE_META_KEYS = ("id", "companyId", "customerId", "flowId", "createdDate", "updatedDate")
ELEMENT_EXTRA = "_element"  # holds element-level keys whose name is also a data key
SEP = "##SK##"
_IMPORT_STAMP = re.compile(r"\s*Imported on ")
_INT_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")


@dataclass
class FlowSnapshot:
    """One flow in canonical form: flow.json, layout.json and meta.json contents."""

    flow: dict
    layout: dict
    meta: dict


@dataclass
class Bundle:
    """The flows of one export document plus whatever wrapped them."""

    flows: list[FlowSnapshot]
    envelope: dict = field(default_factory=dict)


# --- one flow ------------------------------------------------------------------------------------------------


def _is_platform(raw: dict) -> bool:
    if "flowId" in raw:
        return False
    return isinstance(raw.get("flow"), dict) or "_links" in raw or "environment" in raw


def _label(raw: dict) -> str:
    name = raw.get("name")
    if not isinstance(name, str) and isinstance(raw.get("flow"), dict):
        name = raw["flow"].get("name")
    return repr(name) if isinstance(name, str) else "(unnamed)"


def _elements(items: Any, kind: str, where: str) -> list:
    if not isinstance(items, list):
        raise InputError(f"flow {where}: graphData.elements.{kind} is {type(items).__name__}, expected a list")
    return items


def _split_element(el: Any, kind: str, index: int, where: str, seen: dict) -> tuple[str, dict, dict, dict]:
    """Split one cytoscape element into (id, config entry, layout entry, element-level key names kept flat)."""
    data = el.get("data") if isinstance(el, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise InputError(f"flow {where}: {kind} #{index} has no data.id")
    eid = data["id"]
    if eid in seen:
        raise InputError(f"flow {where}: two {kind}s have the id {eid!r}")
    if ELEMENT_EXTRA in data:
        raise InputError(f"flow {where}: {kind} {eid!r} uses the reserved data key {ELEMENT_EXTRA!r}")
    entry = {k: v for k, v in data.items() if k != "id"}
    layout = {}
    flat = []
    for key, value in el.items():
        if key == "data":
            continue
        if key in ELEMENT_LAYOUT_KEYS:
            layout[key] = value
        elif key in entry:
            entry.setdefault(ELEMENT_EXTRA, {})[key] = value
        else:
            entry[key] = value
            flat.append(key)
    return eid, entry, layout, flat


def _element_keys_meta(entry: dict, flat: list, meta: dict) -> None:
    # Default reading: a flat "classes" is element-level (docs/canonical-format.md); record only departures.
    if set(flat) != ({"classes"} & entry.keys()):
        meta["elementKeys"] = sorted(flat)


def _node_properties(props: dict, nmeta: dict, subflows: dict) -> dict:
    out = props
    sub = props.get("subFlowId")
    if isinstance(sub, dict) and isinstance(sub.get("value"), dict) and "value" in sub["value"]:
        inner = dict(sub["value"])
        sub_id = inner.pop("value")
        nmeta["subFlowId"] = sub_id
        if isinstance(sub_id, str):
            subflows[sub_id] = inner.get("label")
        out = dict(props)
        out["subFlowId"] = {**sub, "value": inner}
    ver = props.get("subFlowVersionId")
    if isinstance(ver, dict) and isinstance(ver.get("value"), str) and _INT_TEXT.fullmatch(ver["value"]):
        # -1 and "-1" both mean "latest deployed" (tf-davinci #106): flow.json holds the int.
        if out is props:
            out = dict(props)
        out["subFlowVersionId"] = {**ver, "value": int(ver["value"])}
        nmeta["subFlowVersionIdType"] = "string"
    return out


def _variable_key(name: str, context: Any) -> tuple[str, str | None]:
    parts = name.split(SEP)
    if len(parts) >= 2:
        suffix = SEP.join(parts[2:]) if len(parts) > 2 else None
        return f"{parts[1]}/{parts[0]}", suffix
    return f"{context if isinstance(context, str) else ''}/{name}", None


def _variable_name(key: str, suffix: str | None) -> str:
    context, _, base = key.partition("/")
    return base + SEP + context + ("" if suffix is None else SEP + suffix)


def _redact_variable(body: dict, base: str, redactor: Redactor, path: list, secret_paths: list) -> dict:
    fields = body.get("fields")
    secret_typed = isinstance(fields, dict) and fields.get("type") == "secret"

    def hide(value: Any) -> bool:
        if value is None or value == "" or isinstance(value, dict) and "redacted" in value:
            return False
        return secret_typed or (redactor.matches(base) and is_literal_secret(value))

    if isinstance(fields, dict) and "value" in fields and hide(fields["value"]):
        body = dict(body)
        body["fields"] = {**fields, "value": redactor.value(fields["value"])}
        secret_paths.append([*path, "fields", "value"])
    if "value" in body and hide(body["value"]):  # Platform variables carry a top-level value
        body = dict(body)
        body["value"] = redactor.value(body["value"])
        secret_paths.append([*path, "value"])
    return body


def normalize(raw_flow: dict, *, redactor: Redactor | None = None) -> FlowSnapshot:
    """Return the canonical snapshot of one legacy or Platform flow; denormalize() rebuilds the export from it."""
    if not isinstance(raw_flow, dict):
        raise InputError(f"a DaVinci flow must be a JSON object, got {type(raw_flow).__name__}")
    where = _label(raw_flow)
    platform = _is_platform(raw_flow)
    flow: dict = {}
    layout: dict = {}
    meta: dict = {"shape": "platform" if platform else "legacy"}
    absent: list[str] = []
    secret_paths: list = []

    # identity: the flow id is environment-specific, so it lives in meta (quiet across environments)
    if platform and isinstance(raw_flow.get("flow"), dict):
        ident = raw_flow["flow"]
        extra = {k: v for k, v in ident.items() if k not in ("id", "name")}
        if extra:
            meta["flowExtra"] = extra
        id_key, name_src, handled = "id", ident, {"flow"}
        if "id" not in ident:
            absent.append("flow.id")
    elif platform:
        meta["flowKey"] = False
        id_key, name_src, handled = "id", raw_flow, {"id", "name"}
    else:
        id_key, name_src, handled = "flowId", raw_flow, {"flowId", "name"}
    if id_key in name_src:
        meta["flowId"] = name_src[id_key]
    if "name" in name_src:
        name = name_src["name"]
        if isinstance(name, str) and name.strip() != name:
            meta["name"] = name  # trailing NBSP appeared between exports (davinci-api.md §2.7)
            name = name.strip()
        flow["name"] = name
    else:
        absent.append("name")

    color_key = "color" if platform else "flowColor"
    # A legacy export has no outputSchema: its outputSchemaCompiled {output: {...}} is the flow's output schema,
    # the same object the Platform API calls outputSchema (tf-davinci's simpleoutputschemadrift test treats a
    # change there as drift), so it is config, filed under the Platform name.
    output_legacy = not platform and "outputSchema" not in raw_flow and "outputSchemaCompiled" in raw_flow
    if output_legacy:
        flow["outputSchema"] = raw_flow["outputSchemaCompiled"]
        meta["outputSchemaKey"] = "outputSchemaCompiled"
        handled = handled | {"outputSchemaCompiled"}
    for key, value in raw_flow.items():
        if key in handled or key in ("graphData", "variables"):
            continue
        if key == "description":
            if value == "" or isinstance(value, str) and _IMPORT_STAMP.match(value):
                # "Imported on <date>" is written by the import (in place of an empty description), not by a person
                meta["description"] = value
            else:
                flow["description"] = value
        elif key in CONFIG_KEYS:
            flow[key] = value
        elif key == color_key:
            layout["color"] = value
        elif key in META_KEYS:
            meta[key] = value
        elif key in FLOW_OWN:
            flow.setdefault("unmapped", {})[key] = value
        else:
            flow[key] = value  # unknown: kept verbatim, it may be config the platform added

    _normalize_graph(raw_flow, flow, layout, meta, absent, where, redactor, secret_paths)

    if "variables" in raw_flow:
        _normalize_variables(raw_flow["variables"], flow, meta, where, redactor, secret_paths)
    else:
        absent.append("variables")

    if absent:
        meta["absent"] = absent
    if secret_paths:
        meta["secret_paths"] = sorted(secret_paths, key=lambda p: [str(x) for x in p])
    return FlowSnapshot(flow, layout, meta)


def _normalize_graph(raw, flow, layout, meta, absent, where, redactor, secret_paths) -> None:
    if "graphData" not in raw:
        absent.append("graphData")
        return
    graph = raw["graphData"]
    if not isinstance(graph, dict):
        raise InputError(f"flow {where}: graphData is {type(graph).__name__}, expected an object")
    graph_cfg: dict = {}
    for key, value in graph.items():
        if key == "elements":
            continue
        if key in GRAPH_LAYOUT_KEYS:
            layout.setdefault("graph", {})[key] = value
        elif key in GRAPH_META_KEYS:
            meta.setdefault("graph", {})[key] = value
        else:
            graph_cfg[key] = value
    elements = graph.get("elements")
    if "elements" not in graph:
        absent.append("elements")
        elements = {}
    elif not isinstance(elements, dict):
        raise InputError(f"flow {where}: graphData.elements is {type(elements).__name__}, expected an object")
    extra = {k: v for k, v in elements.items() if k not in ("nodes", "edges")}
    if extra:
        graph_cfg["elements"] = extra
    if graph_cfg:
        flow["graph"] = graph_cfg

    nodes: dict = {}
    node_layout: dict = {}
    node_meta: dict = {}
    subflows: dict = {}
    if "nodes" in elements:
        for index, el in enumerate(_elements(elements["nodes"], "nodes", where)):
            nid, entry, lay, flat = _split_element(el, "node", index, where, nodes)
            nmeta: dict = {}
            for key in NODE_DATA_META_KEYS:
                if key in entry:
                    nmeta[key] = entry.pop(key)
            props = entry.get("properties")
            if isinstance(props, dict):
                props = _node_properties(props, nmeta, subflows)
                if redactor is not None:
                    props = redactor.redact_tree(props, ("nodes", nid, "properties"), secret_paths)
                entry["properties"] = props
            _element_keys_meta(entry, flat, nmeta)
            nodes[nid] = entry
            if lay:
                node_layout[nid] = lay
            if nmeta:
                node_meta[nid] = nmeta
    elif "elements" in graph:
        absent.append("nodes")
    edges: dict = {}
    edge_layout: dict = {}
    edge_meta: dict = {}
    if "edges" in elements:
        for index, el in enumerate(_elements(elements["edges"], "edges", where)):
            eid, entry, lay, flat = _split_element(el, "edge", index, where, edges)
            emeta: dict = {}
            _element_keys_meta(entry, flat, emeta)
            edges[eid] = entry
            if lay:
                edge_layout[eid] = lay
            if emeta:
                edge_meta[eid] = emeta
    elif "elements" in graph:
        absent.append("edges")
    flow["nodes"] = nodes
    flow["edges"] = edges
    if node_layout:
        layout["nodes"] = node_layout
    if edge_layout:
        layout["edges"] = edge_layout
    if node_meta:
        meta["nodes"] = node_meta
    if edge_meta:
        meta["edges"] = edge_meta
    if subflows:
        meta["subflows"] = subflows
    meta.setdefault("order", {})["nodes"] = list(nodes)
    meta["order"]["edges"] = list(edges)


def _normalize_variables(variables, flow, meta, where, redactor, secret_paths) -> None:
    if not isinstance(variables, list):
        raise InputError(f"flow {where}: variables is {type(variables).__name__}, expected a list")
    out: dict = {}
    vmeta_all: dict = {}
    for index, var in enumerate(variables):
        if not isinstance(var, dict) or not isinstance(var.get("name"), str):
            raise InputError(f"flow {where}: variable #{index} has no name")
        name = var["name"]
        key, suffix = _variable_key(name, var.get("context"))
        vmeta = {k: var[k] for k in VARIABLE_META_KEYS if k in var}
        if suffix is not None:
            vmeta["nameSuffix"] = suffix  # name##SK##flow##SK##<flowId>: the flow id differs per environment
        if key in out:  # the same variable twice: keep both, the second under a numbered key
            n = 2
            while f"{key}#{n}" in out:
                n += 1
            key = f"{key}#{n}"
        if _variable_name(key, suffix) != name:
            vmeta["name"] = name
        body = {k: v for k, v in var.items() if k != "name" and k not in VARIABLE_META_KEYS}
        if redactor is not None:
            base = name.split(SEP, 1)[0]
            body = _redact_variable(body, base, redactor, ["variables", key], secret_paths)
        out[key] = body
        if vmeta:
            vmeta_all[key] = vmeta
    flow["variables"] = out
    if vmeta_all:
        meta["variables"] = vmeta_all
    meta.setdefault("order", {})["variables"] = list(out)


# --- back to an export ---------------------------------------------------------------------------------------


def _ordered(keys: dict, order: list | None) -> list:
    """Ids in the export's original order, then any new ones sorted (order never carries meaning)."""
    if not order:
        return sorted(keys)
    seen = [k for k in order if k in keys]
    known = set(seen)
    return seen + sorted(k for k in keys if k not in known)


def _rebuild_element(eid: str, entry: dict, lay: dict, emeta: dict) -> dict:
    flat = emeta.get("elementKeys", ("classes",))
    data: dict = {"id": eid}
    element: dict = {}
    for key, value in entry.items():
        if key == ELEMENT_EXTRA and isinstance(value, dict):
            element.update(value)
        elif key in flat:
            element[key] = value
        else:
            data[key] = value
    element["data"] = data
    element.update(lay)
    return element


def _restore_properties(data: dict, nmeta: dict) -> None:
    props = data.get("properties")
    if not isinstance(props, dict):
        return
    props = dict(props)
    if "subFlowId" in nmeta and isinstance(props.get("subFlowId"), dict):
        sub = dict(props["subFlowId"])
        inner = dict(sub.get("value") or {})
        inner["value"] = nmeta["subFlowId"]
        sub["value"] = inner
        props["subFlowId"] = sub
    ver = props.get("subFlowVersionId")
    if nmeta.get("subFlowVersionIdType") == "string" and isinstance(ver, dict) and isinstance(ver.get("value"), int):
        props["subFlowVersionId"] = {**ver, "value": str(ver["value"])}
    data["properties"] = props


def denormalize(snapshot: FlowSnapshot) -> dict:
    """Return the raw export flow that snapshot describes (equal to the original up to key and list order)."""
    flow, layout, meta = snapshot.flow, snapshot.layout, snapshot.meta
    platform = meta.get("shape") == "platform"
    absent = set(meta.get("absent", ()))
    raw: dict = {}

    name = flow.get("name")
    original = meta.get("name")
    if isinstance(original, str) and isinstance(name, str) and original.strip() == name:
        name = original
    ident: dict = {}
    if "flowId" in meta:
        ident["flowId" if not platform else "id"] = meta["flowId"]
    if "name" not in absent:
        ident["name"] = name
    if platform and meta.get("flowKey", True):
        raw["flow"] = {**meta.get("flowExtra", {}), **ident}
    else:
        raw.update(ident)

    if "description" in flow:
        raw["description"] = flow["description"]
    elif "description" in meta:
        raw["description"] = meta["description"]
    for key in CONFIG_KEYS:
        if key in flow:
            raw[key] = flow[key]
    if meta.get("outputSchemaKey") == "outputSchemaCompiled" and "outputSchema" in flow:
        raw["outputSchemaCompiled"] = raw.pop("outputSchema")
    for key, value in meta.items():
        if key in META_KEYS:
            raw[key] = value
    if "color" in layout:
        raw["color" if platform else "flowColor"] = layout["color"]
    for key, value in flow.items():
        if key not in FLOW_OWN:
            raw[key] = value
    raw.update(flow.get("unmapped", {}))

    if "graphData" not in absent:
        raw["graphData"] = _rebuild_graph(flow, layout, meta, absent)
    if "variables" not in absent:
        order = meta.get("order", {})
        vmeta_all = meta.get("variables", {})
        variables = []
        for key in _ordered(flow.get("variables", {}), order.get("variables")):
            vmeta = vmeta_all.get(key, {})
            var = dict(flow["variables"][key])
            var["name"] = vmeta.get("name") or _variable_name(key, vmeta.get("nameSuffix"))
            for mkey in VARIABLE_META_KEYS:
                if mkey in vmeta:
                    var[mkey] = vmeta[mkey]
            variables.append(var)
        raw["variables"] = variables
    return raw


def _rebuild_graph(flow: dict, layout: dict, meta: dict, absent: set) -> dict:
    graph_cfg = flow.get("graph", {})
    graph: dict = {k: v for k, v in graph_cfg.items() if k != "elements"}
    graph.update(layout.get("graph", {}))
    graph.update(meta.get("graph", {}))
    if "elements" in absent:
        return graph
    elements = dict(graph_cfg.get("elements", {}))
    order = meta.get("order", {})
    if "nodes" not in absent:
        nodes = flow.get("nodes", {})
        node_layout, node_meta = layout.get("nodes", {}), meta.get("nodes", {})
        out = []
        for nid in _ordered(nodes, order.get("nodes")):
            nmeta = node_meta.get(nid, {})
            element = _rebuild_element(nid, nodes[nid], node_layout.get(nid, {}), nmeta)
            data = element["data"]
            for key in NODE_DATA_META_KEYS:
                if key in nmeta:
                    data[key] = nmeta[key]
            _restore_properties(data, nmeta)
            out.append(element)
        elements["nodes"] = out
    if "edges" not in absent:
        edges = flow.get("edges", {})
        edge_layout, edge_meta = layout.get("edges", {}), meta.get("edges", {})
        elements["edges"] = [
            _rebuild_element(eid, edges[eid], edge_layout.get(eid, {}), edge_meta.get(eid, {}))
            for eid in _ordered(edges, order.get("edges"))
        ]
    graph["elements"] = elements
    return graph


# --- whole documents -----------------------------------------------------------------------------------------


def detect_shape(doc: Any) -> str:
    """Return "legacy" (one flow), "legacy-multi" ({flows: [...]}), "import" ({flowInfo, ...}) or "platform"."""
    if not isinstance(doc, dict):
        raise InputError(f"not a DaVinci export: the document is a JSON {type(doc).__name__}, expected an object")
    if "flowInfo" in doc:
        return "import"
    if "flowId" not in doc and isinstance(doc.get("flows"), list):
        return "legacy-multi"
    if _is_platform(doc):
        return "platform"
    if "flowId" in doc or "graphData" in doc:
        return "legacy"
    raise InputError("not a DaVinci export: expected flowId/graphData, flows, flowInfo or a Platform flow object")


def _flow_list(items: Any, where: str) -> list:
    if not isinstance(items, list):
        raise InputError(f"not a DaVinci export: {where} is {type(items).__name__}, expected a list of flows")
    return items


def split_export(doc: Any, *, redactor: Redactor | None = None) -> Bundle:
    """Return the flows of an export document in canonical form plus the envelope that join_export needs."""
    shape = detect_shape(doc)
    if shape == "legacy":
        return Bundle([normalize(doc, redactor=redactor)], {"shape": shape})
    if shape == "legacy-multi":
        flows = [normalize(f, redactor=redactor) for f in _flow_list(doc["flows"], "flows")]
        return Bundle(flows, {"shape": shape, "document": {k: v for k, v in doc.items() if k != "flows"}})
    if shape == "import":
        info = doc["flowInfo"]
        envelope: dict = {"shape": shape, "document": {k: v for k, v in doc.items() if k != "flowInfo"}}
        if isinstance(info, dict) and "flowId" not in info and "flows" in info:
            flows = [normalize(f, redactor=redactor) for f in _flow_list(info["flows"], "flowInfo.flows")]
            envelope["flowInfo"] = {k: v for k, v in info.items() if k != "flows"}
        else:
            flows = [normalize(info, redactor=redactor)]
        return Bundle(flows, envelope)
    main = {k: v for k, v in doc.items() if k != "_embedded"}
    flows = [normalize(main, redactor=redactor)]
    envelope = {"shape": shape}
    if "_embedded" in doc:
        embedded = doc["_embedded"]
        if isinstance(embedded, dict):  # list responses nest them as _embedded.flows
            envelope["embedded"] = {k: v for k, v in embedded.items() if k != "flows"}
            embedded = embedded.get("flows", [])
        else:
            envelope["embedded"] = None
        flows += [normalize(f, redactor=redactor) for f in _flow_list(embedded, "_embedded")]
    return Bundle(flows, envelope)


def join_export(bundle: Bundle) -> dict:
    """Return the export document a Bundle came from (up to key and meaningless list order)."""
    envelope = bundle.envelope or {}
    raws = [denormalize(s) for s in bundle.flows]
    shape = envelope.get("shape") or ("legacy" if len(raws) == 1 else "legacy-multi")
    if shape == "legacy":
        if len(raws) != 1:
            raise InputError(f"a single-flow export holds one flow, the bundle has {len(raws)}")
        return raws[0]
    if shape == "legacy-multi":
        return {**envelope.get("document", {}), "flows": raws}
    if shape == "import":
        info = {**envelope["flowInfo"], "flows": raws} if "flowInfo" in envelope else raws[0]
        return {**envelope.get("document", {}), "flowInfo": info}
    if shape == "platform":
        doc = dict(raws[0])
        if "embedded" in envelope:
            embedded = envelope["embedded"]
            doc["_embedded"] = raws[1:] if embedded is None else {**embedded, "flows": raws[1:]}
        return doc
    raise InputError(f"unknown export shape {shape!r}: expected legacy, legacy-multi, import or platform")


def load_export(source: str | os.PathLike | bytes, *, redactor: Redactor | None = None) -> Bundle:
    """Parse an export file (path) or its bytes and return split_export's Bundle; InputError says why it cannot."""
    if isinstance(source, (bytes, bytearray)):
        name, data = "export", bytes(source)
    else:
        name = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise InputError(f"{name}: cannot read: {e.strerror or e}") from e
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise InputError(f"{name}: not UTF-8 text (byte {e.start}); export the flow again as JSON") from e
    except json.JSONDecodeError as e:
        raise InputError(f"{name}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except RecursionError as e:
        raise InputError(f"{name}: JSON nested too deeply") from e
    try:
        return split_export(doc, redactor=redactor)
    except InputError as e:
        raise InputError(f"{name}: {e}") from e
