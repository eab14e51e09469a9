"""A DaVinci flow's graphData (cytoscape elements) <-> flow.json's nodes and edges maps, keyed by element id.

What the designer alone uses (positions, selection, pan and zoom) goes to layout.json; ids and linter state that
differ per environment go to meta.json; the rest is config in flow.json (docs/canonical-format.md "graph").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flowvault.errors import InputError
from flowvault.normalize.redact import Redactor

GRAPH_LAYOUT_KEYS = frozenset(
    {"pan", "zoom", "minZoom", "maxZoom", "boxSelectionEnabled", "panningEnabled", "userPanningEnabled",
     "userZoomingEnabled", "zoomingEnabled", "renderer"}
)  # fmt: skip
GRAPH_META_KEYS = frozenset({"allLinterErrors"})
ELEMENT_LAYOUT_KEYS = frozenset({"position", "group", "removed", "selected", "selectable", "locked", "grabbable",
                                 "pannable"})
NODE_DATA_META_KEYS = ("connectionId", "linterError")
ELEMENT_EXTRA = "_element"  # holds element-level keys whose name is also a data key
_INT_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")
_CLASSES = ["classes"]


def ordered(keys: dict, order: list | None) -> list:
    """Return the ids in the export's original order, then any new ones sorted (order never carries meaning)."""
    if not order:
        return sorted(keys)
    seen = [k for k in order if k in keys]
    known = set(seen)
    return seen + sorted(k for k in keys if k not in known)


# --- export -> canonical -------------------------------------------------------------------------------------


def normalize_graph(raw, flow, layout, meta, absent, where, redactor: Redactor | None, secret_paths) -> None:
    """Move raw["graphData"] into flow["graph"/"nodes"/"edges"], layout and meta; record what was absent."""
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

    subflows: dict = {}

    def node_data(nid: str, entry: dict, nmeta: dict) -> None:
        for key in NODE_DATA_META_KEYS:
            if key in entry:
                nmeta[key] = entry.pop(key)
        props = entry.get("properties")
        if isinstance(props, dict):
            props = _node_properties(props, nmeta, subflows)
            if redactor is not None:
                props = redactor.redact_tree(props, ("nodes", nid, "properties"), secret_paths)
            entry["properties"] = props
        if redactor is not None:  # the node's other fields: secrets by shape only (names are DaVinci's own)
            for key, value in entry.items():
                # mostly short names and ids (nodeType, connectorId, status): the cheap test first, 13k per corpus
                if isinstance(value, str) and len(value) < 6 or key == "properties":
                    continue
                if isinstance(value, (str, dict, list)):
                    entry[key] = redactor.redact_values(value, ("nodes", nid, key), secret_paths)

    for section, prepare in (("nodes", node_data), ("edges", None)):
        entries: dict = {}
        section_layout: dict = {}
        section_meta: dict = {}
        if section in elements:
            entries, section_layout, section_meta = _split_section(elements[section], section, where, prepare)
        elif "elements" in graph:
            absent.append(section)
        flow[section] = entries
        if section_layout:
            layout[section] = section_layout
        if section_meta:
            meta[section] = section_meta
    if subflows:
        meta["subflows"] = subflows
    meta.setdefault("order", {})["nodes"] = list(flow["nodes"])
    meta["order"]["edges"] = list(flow["edges"])


def _split_section(items: Any, section: str, where: str, prepare: Callable | None) -> tuple[dict, dict, dict]:
    """Return (entries, layout, meta) by element id for graphData.elements.nodes or .edges."""
    if not isinstance(items, list):
        raise InputError(f"flow {where}: graphData.elements.{section} is {type(items).__name__}, expected a list")
    entries: dict = {}
    section_layout: dict = {}
    section_meta: dict = {}
    for index, el in enumerate(items):
        eid, entry, lay, flat = _split_element(el, section[:-1], index, where, entries)
        emeta: dict = {}
        if prepare is not None:
            prepare(eid, entry, emeta)
        # Default reading: a flat "classes" is element-level (docs/canonical-format.md); record only departures.
        # (flat holds distinct names, so comparing lists is comparing sets.)
        if flat != (_CLASSES if "classes" in entry else []):
            emeta["elementKeys"] = sorted(flat)
        entries[eid] = entry
        if lay:
            section_layout[eid] = lay
        if emeta:
            section_meta[eid] = emeta
    return entries, section_layout, section_meta


def _split_element(el: Any, kind: str, index: int, where: str, seen: dict) -> tuple[str, dict, dict, list]:
    """Return one cytoscape element split into (id, config entry, layout entry, element-level key names kept
    flat)."""
    data = el.get("data") if isinstance(el, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise InputError(f"flow {where}: {kind} #{index} has no data.id")
    eid = data["id"]
    if eid in seen:
        raise InputError(f"flow {where}: two {kind}s have the id {eid!r}")
    if ELEMENT_EXTRA in data:
        raise InputError(f"flow {where}: {kind} {eid!r} uses the reserved data key {ELEMENT_EXTRA!r}")
    entry = dict(data)
    del entry["id"]
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


def _node_properties(props: dict, nmeta: dict, subflows: dict) -> dict:
    """Return a node's properties with the called subflow's environment-specific id moved to `nmeta` (and its
    name to `subflows`) and a textual subFlowVersionId as an int; `props` itself is never modified."""
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


# --- canonical -> export -------------------------------------------------------------------------------------


def rebuild_graph(flow: dict, layout: dict, meta: dict, absent: set) -> dict:
    """Return the graphData object normalize_graph split up."""
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
        for nid in ordered(nodes, order.get("nodes")):
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
            for eid in ordered(edges, order.get("edges"))
        ]
    graph["elements"] = elements
    return graph


def _rebuild_element(eid: str, entry: dict, lay: dict, emeta: dict) -> dict:
    """Return the cytoscape element _split_element split up."""
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
    """Undo _node_properties on an element's data, in place."""
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
