"""A BPMN document as a BPMN tool shows it (issue 15): what normalize.bpmn.elements reads (process, flow elements,
sequence flows), plus participants and message flows (collaboration), lanes, data objects and stores, associations
and data associations, and the diagram (shape bounds, waypoints, expanded or collapsed) kept apart as layout.

lxml is imported by normalize.bpmn, which this module reaches only when a workflow really changed.
"""

from __future__ import annotations

#: Sections of the model, each a map by element id, with the record category and the noun a reviewer reads.
SECTIONS = (("participants", "node", "participant"), ("lanes", "node", "lane"), ("data", "node", None),
            ("messageFlows", "edge", "message flow"), ("associations", "edge", None))
_DATA_TAGS = frozenset({"dataObject", "dataObjectReference", "dataStore", "dataStoreReference", "dataInput",
                        "dataOutput"})
_ASSOCIATION_TAGS = frozenset({"association", "dataInputAssociation", "dataOutputAssociation"})
SUBPROCESS_TAGS = frozenset({"subProcess", "transaction", "adHocSubProcess"})


def model(data: bytes) -> dict:
    """Return normalize.bpmn.elements(data) plus "participants", "lanes", "messageFlows", "data", "associations"
    (each {id: {...}}) and "diagram" ({element id: {bounds | waypoints, isExpanded?}})."""
    from flowvault.normalize import bpmn  # lazy: lxml

    out = bpmn.elements(data)
    for key in ("participants", "lanes", "messageFlows", "data", "associations", "diagram"):
        out[key] = {}
    root = bpmn.parse(data).getroot()  # the hardened parser (no DTD, no entities); elements() already accepted it
    for el in root.iter():
        tag = bpmn.local(el.tag)
        el_id = el.get("id")
        if tag == "participant" and el_id:
            out["participants"][el_id] = {"tag": tag, "name": el.get("name"), "processRef": el.get("processRef")}
        elif tag == "messageFlow" and el_id:
            out["messageFlows"][el_id] = {"tag": tag, "name": el.get("name"), "sourceRef": el.get("sourceRef"),
                                          "targetRef": el.get("targetRef")}
        elif tag == "lane" and el_id:
            node_refs = sorted((r.text or "").strip() for r in el if bpmn.local(r.tag) == "flowNodeRef")
            out["lanes"][el_id] = {"tag": tag, "name": el.get("name"), "flowNodeRefs": node_refs}
        elif tag in _DATA_TAGS and el_id:
            out["data"][el_id] = {"tag": tag, "name": el.get("name"), "attributes": bpmn.attributes(el)}
        elif tag in _ASSOCIATION_TAGS:
            refs = {bpmn.local(r.tag): (r.text or "").strip() for r in el
                    if bpmn.local(r.tag) in ("sourceRef", "targetRef")}
            owner = el.getparent().get("id") if tag != "association" else None
            ident = el_id or f"{owner}:{tag}:{refs.get('sourceRef') or refs.get('targetRef')}"
            out["associations"][ident] = {
                "tag": tag, "sourceRef": el.get("sourceRef") or refs.get("sourceRef") or owner,
                "targetRef": el.get("targetRef") or refs.get("targetRef") or owner}
        elif tag in ("BPMNShape", "BPMNEdge") and el.get("bpmnElement"):
            entry: dict = {}
            for part in el:
                name = bpmn.local(part.tag)
                if name == "Bounds":
                    entry["bounds"] = {k: part.get(k) for k in ("x", "y", "width", "height")}
                elif name == "waypoint":
                    entry.setdefault("waypoints", []).append([part.get("x"), part.get("y")])
            if el.get("isExpanded") is not None:
                entry["isExpanded"] = el.get("isExpanded")
            out["diagram"][el.get("bpmnElement")] = entry
    return out


def inside(elements: dict, element_id: str, ids: set) -> bool:
    """True when `element_id` lies (at any depth) inside one of the sub-processes `ids`."""
    seen = set()
    parent = (elements.get(element_id) or {}).get("parent")
    while parent and parent not in seen:
        if parent in ids:
            return True
        seen.add(parent)
        parent = (elements.get(parent) or {}).get("parent")
    return False
