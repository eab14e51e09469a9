"""Mermaid flowcharts of a DaVinci flow (or a BPMN workflow): nodes labelled as in diffs, EVAL conditions on
edges, every label escaped so that no flow name can break the picture or inject markup."""

from __future__ import annotations

import re

from flowvault.diff import is_subflow_call, node_kind, node_title, subflow_name
from flowvault.masking import safe_text

#: GitHub renders a Mermaid block only within these (mermaid's maxTextSize and maxEdges defaults).
MAX_CHARS = 50_000
MAX_EDGES = 500

CLASSES = {
    "changed": "fill:#fff4c2,stroke:#b38f00,stroke-width:2px",
    "added": "fill:#d7f5d7,stroke:#2e7d32,stroke-width:2px",
    "removed": "fill:#ffd9d9,stroke:#c62828,stroke-width:2px,stroke-dasharray:4 3",
}
_ENTITIES = {"&": "#amp;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;", "|": "#124;", "`": "#96;",
             "{": "#123;", "}": "#125;", "[": "#91;", "]": "#93;", "(": "#40;", ")": "#41;", ";": "#59;"}
_ESCAPE = re.compile("|".join(re.escape(k) for k in _ENTITIES))
_ARROWS = {"added": "==>", "removed": "-.->", None: "-->"}
EDGE_STYLES = {"added": "stroke:#2e7d32,stroke-width:3px", "removed": "stroke:#c62828,stroke-dasharray:4 3"}


def escape(text: str, limit: int = 60) -> str:
    """A label safe inside Mermaid double quotes: one line, entity-coded specials, at most `limit` characters."""
    text = safe_text(" ".join(str(text).split()))  # whitespace folded to one line, then bidi marks escaped
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
    called = subflow_name(node) if is_subflow_call(node) else None
    if called:
        text += "<br/>" + escape("calls " + called)
    return text


def _unique(texts: dict[str, str]) -> dict[str, str]:
    """{node id: label} with the node id added to every label that two drawn nodes share."""
    seen: dict[str, int] = {}
    for text in texts.values():
        seen[text] = seen.get(text, 0) + 1
    return {nid: text + "<br/>" + escape(f"[{nid}]") if seen[text] > 1 else text for nid, text in texts.items()}


def flowchart(flow: dict, *, marks: dict[str, str] | None = None, only: set[str] | None = None,
              extra_nodes: dict | None = None, extra_edges: dict | None = None, direction: str = "LR",
              edge_marks: dict[str, str] | None = None) -> str:
    """A Mermaid flowchart of a canonical flow.json; `marks` {node id: added|removed|changed} are highlighted,
    `only` restricts the picture to those node ids, `extra_*` adds (removed) nodes and edges from the old side,
    `edge_marks` {edge id: added|removed} draws an edge thick (`==>`, added) or dashed (`-.->`, removed)."""
    marks = marks or {}
    edge_marks = edge_marks or {}
    nodes = {**(extra_nodes or {}), **(flow.get("nodes") or {})}
    edges = {**(extra_edges or {}), **(flow.get("edges") or {})}
    keep = [nid for nid in sorted(nodes, key=str) if isinstance(nodes[nid], dict) and (only is None or nid in only)]
    ids = {nid: f"n{i}" for i, nid in enumerate(keep)}
    out = [f"flowchart {direction}"]
    texts = _unique({nid: _node_text(nodes[nid]) for nid in keep})
    for nid in keep:
        out.append(f"  {ids[nid]}{_shape(nodes[nid], texts[nid])}")
    links: list[str | None] = []
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
        out.append(_link(ids[src], ids[tgt], cond, edge_marks.get(eid)))
        links.append(edge_marks.get(eid))
    return _finish(out, ids, marks, keep, links)


def _link(src: str, tgt: str, text, mark: str | None) -> str:
    arrow = _ARROWS.get(mark, "-->")
    if isinstance(text, str) and text.strip():
        return f'  {src} {arrow}|"{escape(text)}"| {tgt}'
    return f"  {src} {arrow} {tgt}"


def _finish(out: list[str], ids: dict, marks: dict, order, links: list | None = None) -> str:
    """The chart's text: `out` plus a class line per highlight kind (changed/added/...) for the nodes drawn and a
    linkStyle line per edge mark (links are numbered in the order they were drawn)."""
    for mark in sorted({m for nid, m in marks.items() if nid in ids}):
        out.append(f"  classDef {mark} {CLASSES[mark]}")
        out.append(f"  class {','.join(ids[n] for n in order if n in ids and marks.get(n) == mark)} {mark}")
    for mark in ("added", "removed"):
        numbers = [str(i) for i, m in enumerate(links or []) if m == mark]
        if numbers:
            out.append(f"  linkStyle {','.join(numbers)} {EDGE_STYLES[mark]}")
    return "\n".join(out) + "\n"


def edge_count(chart: str) -> int:
    """How many links a chart draws (GitHub refuses a block of more than MAX_EDGES)."""
    return sum(1 for line in chart.splitlines() if re.search(r" (-->|==>|-\.->)", line))


def fits(chart: str) -> bool:
    """True when GitHub renders the block: at most MAX_CHARS characters and MAX_EDGES links."""
    return len(chart) <= MAX_CHARS and edge_count(chart) <= MAX_EDGES


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


def workflow_chart(elements: dict, *, marks: dict[str, str] | None = None, direction: str = "LR",
                   only: set[str] | None = None, edge_marks: dict[str, str] | None = None) -> str:
    """A Mermaid flowchart of a BPMN workflow (normalize.bpmn.elements): flow elements and sequence flows;
    `marks`, `only` and `edge_marks` as for `flowchart`."""
    marks = marks or {}
    edge_marks = edge_marks or {}
    nodes = elements.get("elements") or {}
    flows = elements.get("flows") or {}
    keep = [nid for nid in sorted(nodes) if only is None or nid in only]
    ids = {nid: f"n{i}" for i, nid in enumerate(keep)}
    out = [f"flowchart {direction}"]
    texts = _unique({nid: escape(nodes[nid].get("name") or nid) + "<br/>" + escape(str(nodes[nid].get("tag") or ""))
                     for nid in keep})
    for nid in keep:
        el = nodes[nid]
        tag = str(el.get("tag") or "")
        label = texts[nid]
        if "Gateway" in tag:
            shape = '{{"' + label + '"}}'
        elif "Event" in tag:
            shape = '(["' + label + '"])'
        else:
            shape = '["' + label + '"]'
        out.append(f"  {ids[nid]}{shape}")
    links: list[str | None] = []
    for fid in sorted(flows):
        flow = flows[fid]
        src, tgt = flow.get("sourceRef"), flow.get("targetRef")
        if src in ids and tgt in ids:
            out.append(_link(ids[src], ids[tgt], flow.get("conditionExpression") or flow.get("name"),
                             edge_marks.get(fid)))
            links.append(edge_marks.get(fid))
    return _finish(out, ids, marks, keep, links)


def entry_chart(entry) -> str:
    """The flowchart of a snapshot entry (snapshot.FlowEntry or WorkflowEntry)."""
    if hasattr(entry, "bpmn"):
        from flowvault.normalize import bpmn

        return workflow_chart(bpmn.elements(entry.bpmn))
    return flowchart(entry.doc.flow)
