"""Mermaid flowcharts of a DaVinci flow (or a BPMN workflow): nodes labelled as in diffs, EVAL conditions on
edges, every label escaped so that no flow name can break the picture or inject markup."""

from __future__ import annotations

import re

from flowvault.diff import is_subflow_call, node_kind, node_title, subflow_name

CLASSES = {
    "changed": "fill:#fff4c2,stroke:#b38f00,stroke-width:2px",
    "added": "fill:#d7f5d7,stroke:#2e7d32,stroke-width:2px",
    "removed": "fill:#ffd9d9,stroke:#c62828,stroke-width:2px,stroke-dasharray:4 3",
}
_ENTITIES = {"&": "#amp;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;", "|": "#124;", "`": "#96;",
             "{": "#123;", "}": "#125;", "[": "#91;", "]": "#93;", "(": "#40;", ")": "#41;", ";": "#59;"}
_ESCAPE = re.compile("|".join(re.escape(k) for k in _ENTITIES))


def escape(text: str, limit: int = 60) -> str:
    """A label safe inside Mermaid double quotes: one line, entity-coded specials, at most `limit` characters."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _ESCAPE.sub(lambda m: _ENTITIES[m.group(0)], text)


def _shape(node: dict, label: str) -> str:
    kind = node.get("nodeType")
    if kind == "EVAL":
        return '{{"' + label + '"}}'
    if kind == "START" or node.get("capabilityName") == "startNode":
        return '(["' + label + '"])'
    if kind == "ANNOTATION":
        return '>"' + label + '"]'
    return '["' + label + '"]'


def _node_text(node: dict) -> str:
    title, kind = node_title(node), node_kind(node)
    text = escape(title)
    if kind and kind not in (title, "node"):
        text += "<br/>" + escape(kind)
    if is_subflow_call(node) and subflow_name(node):
        text += "<br/>" + escape("calls " + subflow_name(node))
    return text


def flowchart(flow: dict, *, marks: dict[str, str] | None = None, only: set[str] | None = None,
              extra_nodes: dict | None = None, extra_edges: dict | None = None, direction: str = "LR") -> str:
    """A Mermaid flowchart of a canonical flow.json; `marks` {node id: added|removed|changed} are highlighted,
    `only` restricts the picture to those node ids, `extra_*` adds (removed) nodes and edges from the old side."""
    marks = marks or {}
    nodes = {**(extra_nodes or {}), **(flow.get("nodes") or {})}
    edges = {**(extra_edges or {}), **(flow.get("edges") or {})}
    keep = [nid for nid in sorted(nodes, key=str) if isinstance(nodes[nid], dict) and (only is None or nid in only)]
    ids = {nid: f"n{i}" for i, nid in enumerate(keep)}
    out = [f"flowchart {direction}"]
    for nid in keep:
        out.append(f"  {ids[nid]}{_shape(nodes[nid], _node_text(nodes[nid]))}")
    for eid in sorted(edges, key=str):
        edge = edges[eid]
        if not isinstance(edge, dict):
            continue
        src, tgt = edge.get("source"), edge.get("target")
        if src not in ids or tgt not in ids:
            continue
        condition = ((nodes[src].get("properties") or {}).get(tgt) or {}) if nodes[src].get("nodeType") == "EVAL" \
            else {}
        cond = condition.get("value") if isinstance(condition, dict) else None
        arrow = f'-->|"{escape(cond)}"|' if isinstance(cond, str) and cond else "-->"
        out.append(f"  {ids[src]} {arrow} {ids[tgt]}")
    return _finish(out, ids, marks, keep)


def _finish(out: list[str], ids: dict, marks: dict, order) -> str:
    """The chart's text: `out` plus a class line per highlight kind (changed/added/...) for the nodes drawn."""
    for mark in sorted({m for nid, m in marks.items() if nid in ids}):
        out.append(f"  classDef {mark} {CLASSES[mark]}")
        out.append(f"  class {','.join(ids[n] for n in order if n in ids and marks.get(n) == mark)} {mark}")
    return "\n".join(out) + "\n"


def neighbourhood(flow: dict, centre: set[str], limit: int = 40) -> set[str]:
    """`centre` plus the nodes one edge away, at most `limit` node ids (centre first)."""
    picked = [n for n in sorted(centre, key=str)][:limit]
    for edge in (flow.get("edges") or {}).values():
        if len(picked) >= limit:
            break
        if not isinstance(edge, dict):
            continue
        for a, b in ((edge.get("source"), edge.get("target")), (edge.get("target"), edge.get("source"))):
            if a in centre and b not in picked and b is not None and len(picked) < limit:
                picked.append(b)
    return set(picked)


def workflow_chart(elements: dict, *, marks: dict[str, str] | None = None, direction: str = "LR") -> str:
    """A Mermaid flowchart of a BPMN workflow (normalize.bpmn.elements): flow elements and sequence flows."""
    marks = marks or {}
    nodes = elements.get("elements") or {}
    flows = elements.get("flows") or {}
    ids = {nid: f"n{i}" for i, nid in enumerate(sorted(nodes))}
    out = [f"flowchart {direction}"]
    for nid in sorted(nodes):
        el = nodes[nid]
        tag = str(el.get("tag") or "")
        label = escape(el.get("name") or nid) + "<br/>" + escape(tag)
        if "Gateway" in tag:
            shape = '{{"' + label + '"}}'
        elif "Event" in tag:
            shape = '(["' + label + '"])'
        else:
            shape = '["' + label + '"]'
        out.append(f"  {ids[nid]}{shape}")
    for fid in sorted(flows):
        flow = flows[fid]
        src, tgt = flow.get("sourceRef"), flow.get("targetRef")
        if src in ids and tgt in ids:
            cond = flow.get("conditionExpression") or flow.get("name")
            arrow = f'-->|"{escape(cond)}"|' if isinstance(cond, str) and cond.strip() else "-->"
            out.append(f"  {ids[src]} {arrow} {ids[tgt]}")
    return _finish(out, ids, marks, sorted(nodes))


def entry_chart(entry) -> str:
    """The flowchart of a snapshot entry (snapshot.FlowEntry or WorkflowEntry)."""
    if hasattr(entry, "bpmn"):
        from flowvault.normalize import bpmn

        return workflow_chart(bpmn.elements(entry.bpmn))
    return flowchart(entry.doc.flow)
