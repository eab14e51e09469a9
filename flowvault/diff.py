"""Canonical flow documents -> a list of Change records, flow by flow. No I/O, no printing.

Speed: every node, edge, variable and setting is compared as a whole first (a C-level deep equality on the
canonical dicts), and deepdiff, which costs ~450 ms to import, is imported and called only on the pieces
that really differ. A diff of unchanged flows never imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from flowvault.errors import UsageError

CATEGORIES = ("flow", "node", "edge", "variable", "setting", "schema", "trigger", "subflow", "layout", "metadata")
ACTIONS = ("added", "removed", "changed")
LEVELS = ("config", "all")
#: Categories `--level config` leaves out.
NOISE_CATEGORIES = frozenset({"layout", "metadata"})

# Keys of flow.json with their own category; every other top-level key is a `flow` record (name, description...).
_SCHEMA_KEYS = ("inputSchema", "outputSchema")
_KEYED = {"nodes": "node", "edges": "edge", "variables": "variable", "settings": "setting"}
_SUBFLOW_PROPS = ("subFlowId", "subFlowVersionId")


@dataclass(frozen=True)
class Change:
    """One meaningful change: DESIGN.md "Diff records"."""

    source: str | None
    flow: str
    category: str
    action: str
    target: str
    label: str
    path: str
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict:
        return {
            "source": self.source, "flow": self.flow, "category": self.category, "action": self.action,
            "target": self.target, "label": self.label, "path": self.path, "old": self.old, "new": self.new,
        }


@dataclass(frozen=True)
class FlowPair:
    """The two sides of one matched flow or workflow (either may be None), kept for renderers that draw it."""

    source: str | None
    name: str
    kind: str  # "flow" (DaVinci) or "workflow" (BPMN)
    old: Any
    new: Any


@dataclass(frozen=True)
class DiffResult:
    """What `diff_snapshots` returns: the summary and the records; `pairs` are the flows that changed."""

    summary: dict
    changes: list
    old: str = ""
    new: str = ""
    pairs: tuple = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict:
        return {"old": self.old, "new": self.new, "summary": dict(self.summary),
                "changes": [c.to_dict() for c in self.changes]}


# --- labels ---------------------------------------------------------------------------------------------------


def connector_display(connector_id: str) -> str:
    """'pingOneSSOConnector' -> 'PingOne SSO', 'httpConnector' -> 'Http' (stable across environments)."""
    base = connector_id[: -len("Connector")] if connector_id.endswith("Connector") else connector_id
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", base) or [base]
    out: list[str] = []
    for word in words:
        if out and out[-1] == "Ping" and word == "One":
            out[-1] = "PingOne"
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def node_title(node: dict) -> str:
    """The short name a designer sees on a node: the title given in the designer (`properties.nodeTitle`), else its
    label, else its connector name, else its type."""
    title = ((node.get("properties") or {}).get("nodeTitle") or {}).get("value")
    if isinstance(title, str) and title.strip():
        return title.strip()
    for key in ("label", "name"):
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    if node.get("connectorId"):
        return connector_display(node["connectorId"])
    return {"EVAL": "Evaluator", "START": "Start", "ANNOTATION": "Annotation"}.get(node.get("nodeType"), "node")


def node_kind(node: dict) -> str:
    """'PingOne SSO / checkPassword' for a connector node, the node type otherwise."""
    connector = node.get("connectorId")
    if connector:
        capability = node.get("capabilityName")
        return f"{connector_display(connector)} / {capability}" if capability else connector_display(connector)
    return node.get("nodeType") or node.get("type") or "node"


def node_label(node: dict) -> str:
    """'Check password - PingOne SSO / checkPassword'; just the kind when the title only repeats the connector."""
    kind = node_kind(node)
    title = node_title(node)
    if not node.get("connectorId"):
        return title if title == kind or kind == "node" else f"{title} - {kind}"
    if title in (node.get("name"), connector_display(node["connectorId"]), kind):
        return kind
    return f"{title} - {kind}"


def subflow_name(node: dict) -> str | None:
    """The name of the subflow a flowConnector node calls (flow.json keeps the name, not the env-specific id)."""
    value = ((node.get("properties") or {}).get("subFlowId") or {}).get("value")
    if isinstance(value, dict):
        return value.get("label") or None
    return value if isinstance(value, str) else None


def is_subflow_call(node: dict) -> bool:
    return node.get("connectorId") == "flowConnector" and "subFlowId" in (node.get("properties") or {})


def _edge_label(edge: dict, nodes: dict) -> str:
    def name(node_id):
        node = nodes.get(node_id)
        return node_title(node) if isinstance(node, dict) else str(node_id)

    return f"{name(edge.get('source'))} -> {name(edge.get('target'))}"


# --- JSON pointers and the deep part --------------------------------------------------------------------------


def pointer(parts: Iterable) -> str:
    """RFC 6901 JSON pointer for a list of keys."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _get(doc: Any, parts: Iterable) -> Any:
    for part in parts:
        if isinstance(doc, dict):
            doc = doc.get(part)
        elif isinstance(doc, list) and isinstance(part, int) and -len(doc) <= part < len(doc):
            doc = doc[part]
        else:
            return None
    return doc


def _leaf_paths(old: Any, new: Any) -> list[list]:
    """Paths (key lists) where two differing pieces differ; deepdiff is imported here and only here."""
    from deepdiff import DeepDiff  # lazy: 450 ms to import

    tree = DeepDiff(old, new, view="tree", ignore_numeric_type_changes=True)
    paths = [level.path(output_format="list") for report in tree.values() for level in report]
    return sorted(paths, key=lambda p: [str(x) for x in p])


def _dict_paths(old: dict, new: dict, prefix: tuple = ()) -> list[list]:
    """Paths where two dicts differ, descending into dicts only (lists and scalars compared whole)."""
    out = []
    for key in set(old) | set(new):
        a, b = old.get(key), new.get(key)
        if a == b and (key in old) == (key in new):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += _dict_paths(a, b, (*prefix, key))
        else:
            out.append([*prefix, key])
    return out


def _common_prefix(paths: list[list]) -> list:
    prefix = list(paths[0])
    for path in paths[1:]:
        n = 0
        while n < len(prefix) and n < len(path) and prefix[n] == path[n]:
            n += 1
        del prefix[n:]
    return prefix


def _grouped(old: Any, new: Any, depth) -> list[tuple[list, Any, Any]]:
    """(relative path, old value, new value) per group of differences; `depth(path)` says how deep a group is."""
    groups: dict[tuple, list[list]] = {}
    for path in _leaf_paths(old, new):
        groups.setdefault(tuple(path[: depth(path)]), []).append(path)
    out = []
    for paths in groups.values():
        rel = _common_prefix(paths)
        out.append((rel, _get(old, rel), _get(new, rel)))
    return out


def _depth1(path: list) -> int:
    return 1


def _depth_props(path: list) -> int:
    """Nodes: one group per property (`properties/<name>`), one per other key; variables: per field."""
    return 2 if path and path[0] in ("properties", "fields") else 1


# --- one flow --------------------------------------------------------------------------------------------------


def _triple(doc: Any) -> tuple[dict, dict, dict] | None:
    if doc is None:
        return None
    if hasattr(doc, "flow"):
        return doc.flow or {}, getattr(doc, "layout", None) or {}, getattr(doc, "meta", None) or {}
    flow, layout, meta = doc
    return flow or {}, layout or {}, meta or {}


def flow_name(doc: Any) -> str:
    flow = _triple(doc)[0]
    return str(flow.get("name") or flow.get("id") or "(unnamed flow)")


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise UsageError(f"unknown diff level {level!r}; use one of: {', '.join(LEVELS)}")


def diff_flows(old: Any, new: Any, *, level: str = "config", source: str | None = None) -> list[Change]:
    """The records that turn flow `old` into flow `new` (canonical (flow, layout, meta) triples, or None)."""
    check_level(level)
    a, b = _triple(old), _triple(new)
    if a is None and b is None:
        return []
    name = flow_name(new if b is not None else old)
    if a is None or b is None:
        action = "added" if a is None else "removed"
        flow, flow_id = (b or a)[0], _flow_id(b or a)
        value = {"id": flow_id, "name": flow.get("name"), "nodes": len(flow.get("nodes") or {})}
        return [Change(source, name, "flow", action, str(flow_id or name), name, "",
                       None if a is None else value, value if a is None else None)]
    differ = _FlowDiffer(source, name, a[0], b[0], _flow_id(b) or _flow_id(a))
    changes = differ.config()
    if level == "all":
        changes += differ.layout(a[1], b[1])
        changes += differ.metadata(a[2], b[2])
    return changes


def _flow_id(triple) -> str | None:
    """flow.json's id (the contract) or meta.json's flowId/id (where normalize keeps the env-specific id)."""
    flow, _, meta = triple
    return flow.get("id") or meta.get("flowId") or meta.get("id")


class _FlowDiffer:
    def __init__(self, source, name, old: dict, new: dict, flow_id=None):
        self.source, self.name, self.old, self.new = source, name, old, new
        self.old_nodes = old.get("nodes") or {}
        self.new_nodes = new.get("nodes") or {}
        self.flow_id = str(flow_id or name)

    def _change(self, category, action, target, label, parts, old=None, new=None) -> Change:
        return Change(self.source, self.name, category, action, str(target), label, pointer(parts), old, new)

    def _node(self, node_id) -> dict:
        node = self.new_nodes.get(node_id)
        return node if isinstance(node, dict) else self.old_nodes.get(node_id) or {}

    # config ------------------------------------------------------------------------------------------------
    def config(self) -> list[Change]:
        old, new = self.old, self.new
        out: list[Change] = []
        for key in sorted(set(old) | set(new), key=_section_order):
            a, b = old.get(key), new.get(key)
            if a == b or key == "id":  # the id is environment-specific; flows are matched by it (metadata)
                continue
            if key in _KEYED and isinstance(a or {}, dict) and isinstance(b or {}, dict):
                out += getattr(self, "_" + key)(a or {}, b or {})
            elif key in _SCHEMA_KEYS:
                out += self._whole("schema", key, key, [key], a, b, "input schema" if key == "inputSchema"
                                   else "output schema")
            elif key == "trigger":
                out += self._whole("trigger", key, "trigger", [key], a, b, "trigger")
            else:
                out += self._whole("flow", self.flow_id, key, [key], a, b, key)
        return self._fold_conditions(out)

    def _fold_conditions(self, changes: list[Change]) -> list[Change]:
        """An added (removed) edge out of an EVAL node brings its condition along: one record, not two."""
        edge_ends = {}
        for c in changes:
            edge = c.new if c.action == "added" else c.old
            if c.category == "edge" and c.path.startswith("/edges/") and isinstance(edge, dict):
                edge_ends[(edge.get("source"), edge.get("target"), c.action)] = c
        conditions, folded = {}, set()
        for c in changes:
            parts = c.path.split("/")
            if c.category == "edge" and c.path.startswith("/nodes/") and (c.old is None or c.new is None):
                key = (parts[2], parts[4], "added" if c.old is None else "removed")
                if key in edge_ends:
                    value = c.new if c.old is None else c.old
                    conditions[id(edge_ends[key])] = value.get("value", value) if isinstance(value, dict) else value
                    folded.add(id(c))
        out = []
        for c in changes:
            if id(c) in folded:
                continue
            if id(c) in conditions:
                c = replace(c, label=f"{c.label} [{conditions[id(c)]}]")
            out.append(c)
        return out

    def _whole(self, category, target, _key, parts, a, b, label) -> list[Change]:
        if a is None or b is None:
            return [self._change(category, "added" if a is None else "removed", target, label, parts, a, b)]
        if category in NOISE_CATEGORIES and isinstance(a, dict) and isinstance(b, dict):
            rel = _common_prefix(_dict_paths(a, b) or [[]])  # designer state and ids: no need for list detail
            return [self._change(category, "changed", target, label, parts + rel, _get(a, rel), _get(b, rel))]
        if isinstance(a, dict) and isinstance(b, dict) or (
            isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and len(a) <= 64
        ):  # a reordered long list (meta "order") is one change at the list; deepdiff on it costs seconds
            rel = _common_prefix(_leaf_paths(a, b) or [[]])
            return [self._change(category, "changed", target, label, parts + rel, _get(a, rel), _get(b, rel))]
        return [self._change(category, "changed", target, label, parts, a, b)]

    def _nodes(self, old: dict, new: dict) -> list[Change]:
        out = []
        for node_id in _ordered_keys(old, new):
            a, b = old.get(node_id), new.get(node_id)
            if a == b:
                continue
            node = b if isinstance(b, dict) else a
            label = node_label(node)
            if a is None or b is None:
                out.append(self._change("node", "added" if a is None else "removed", node_id, label,
                                        ["nodes", node_id], a, b))
                continue
            if not (isinstance(a, dict) and isinstance(b, dict)):
                out.append(self._change("node", "changed", node_id, label, ["nodes", node_id], a, b))
                continue
            is_eval = "EVAL" in (a.get("nodeType"), b.get("nodeType"))
            for rel, va, vb in _grouped(a, b, _depth_props):
                parts = ["nodes", node_id, *rel]
                prop = rel[1] if len(rel) > 1 and rel[0] == "properties" else None
                if is_eval and prop is not None and (prop in self.new_nodes or prop in self.old_nodes):
                    out.append(self._condition(node_id, prop, parts, va, vb))
                elif prop in _SUBFLOW_PROPS and "flowConnector" in (a.get("connectorId"), b.get("connectorId")):
                    out.append(self._change("subflow", "changed", node_id, label, parts, va, vb))
                else:
                    out.append(self._change("node", "changed", node_id, label, parts, va, vb))
        return out

    def _condition(self, eval_id, target_id, parts, va, vb) -> Change:
        """An EVAL node's property keyed by a target node id is the condition on the edge EVAL -> target."""
        edge_id = None
        for edges in (self.new.get("edges") or {}, self.old.get("edges") or {}):
            for eid, edge in edges.items():
                if isinstance(edge, dict) and edge.get("source") == eval_id and edge.get("target") == target_id:
                    edge_id = eid
                    break
            if edge_id:
                break
        label = f"{node_title(self._node(eval_id))} -> {node_title(self._node(target_id))}"
        return self._change("edge", "changed", edge_id or f"{eval_id}->{target_id}", label, parts, va, vb)

    def _edges(self, old: dict, new: dict) -> list[Change]:
        out = []
        for edge_id in _ordered_keys(old, new):
            a, b = old.get(edge_id), new.get(edge_id)
            if a == b:
                continue
            edge = b if isinstance(b, dict) else a
            nodes = {**self.old_nodes, **self.new_nodes}
            label = _edge_label(edge, nodes) if isinstance(edge, dict) else str(edge_id)
            action = "added" if a is None else "removed" if b is None else "changed"
            parts = ["edges", edge_id]
            va, vb = a, b
            if action == "changed" and isinstance(a, dict) and isinstance(b, dict):
                rel = _common_prefix(_leaf_paths(a, b) or [[]])
                parts, va, vb = parts + rel, _get(a, rel), _get(b, rel)
            out.append(self._change("edge", action, edge_id, label, parts, va, vb))
        return out

    def _variables(self, old: dict, new: dict) -> list[Change]:
        out = []
        for key in _ordered_keys(old, new):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            label = _variable_label(key, b if isinstance(b, dict) else a)
            if a is None or b is None or not (isinstance(a, dict) and isinstance(b, dict)):
                action = "added" if a is None else "removed" if b is None else "changed"
                out.append(self._change("variable", action, key, label, ["variables", key], a, b))
                continue
            for rel, va, vb in _grouped(a, b, _depth_props):
                out.append(self._change("variable", "changed", key, label, ["variables", key, *rel], va, vb))
        return out

    def _settings(self, old: dict, new: dict) -> list[Change]:
        out = []
        for key in _ordered_keys(old, new):
            if key in old and key in new and old[key] == new[key]:
                continue
            a, b = old.get(key), new.get(key)
            if key not in old or key not in new:
                action = "added" if key not in old else "removed"
                out.append(self._change("setting", action, key, key, ["settings", key], a, b))
            else:
                out += self._whole("setting", key, key, ["settings", key], a, b, key)
        return out

    # layout and metadata (level all) --------------------------------------------------------------------
    def layout(self, old: dict, new: dict) -> list[Change]:
        return self._two_level("layout", old, new, node_labels=True)

    def metadata(self, old: dict, new: dict) -> list[Change]:
        out = []
        if self.old.get("id") != self.new.get("id"):  # only when flow.json carries the id
            out.append(self._change("metadata", "changed", self.flow_id, "flow id", ["id"],
                                    self.old.get("id"), self.new.get("id")))
        return out + self._two_level("metadata", old, new, node_labels=False)

    def _two_level(self, category, old: dict, new: dict, *, node_labels: bool) -> list[Change]:
        """One record per top-level key, or per entry of a top-level map of maps (layout nodes, meta nodes)."""
        out = []
        for key in sorted(set(old) | set(new)):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            if isinstance(a, dict) and isinstance(b, dict) and all(
                isinstance(v, dict) for v in (*a.values(), *b.values())
            ):
                for sub in _ordered_keys(a, b):
                    sa, sb = a.get(sub), b.get(sub)
                    if sa == sb:
                        continue
                    label = f"{key} {sub}"
                    if key == "nodes" and (sub in self.new_nodes or sub in self.old_nodes):
                        label = node_label(self._node(sub))
                    out += self._whole(category, sub, sub, [key, sub], sa, sb, label)
            else:
                out += self._whole(category, key, key, [key], a, b, key)
        return out


def _variable_label(key: str, variable: Any) -> str:
    context, _, name = key.partition("/")
    if not name:
        return f"variable {key}"
    return f"{context} variable {name}"


def _section_order(key: str) -> tuple:
    order = ["name", "description", "enabled", "settings", "trigger", "inputSchema", "outputSchema", "variables",
             "nodes", "edges"]
    return (order.index(key) if key in order else len(order), key)


def _ordered_keys(old: dict, new: dict) -> list:
    """Keys of both maps in a stable order: sorted, so a reordered export reads the same."""
    return sorted(set(old) | set(new), key=str)


# --- BPMN workflows -----------------------------------------------------------------------------------------


def diff_workflows(old: Any, new: Any, *, level: str = "config", source: str | None = None) -> list[Change]:
    """Records between two PingIDM workflows (objects with .key, .name, .bpmn bytes and .meta dict, or None)."""
    check_level(level)
    if old is None and new is None:
        return []
    name = _workflow_name(new if new is not None else old)
    if old is None or new is None:
        wf = new if new is not None else old
        action = "added" if old is None else "removed"
        value = {"key": wf.key, "name": name}
        return [Change(source, name, "flow", action, wf.key, name, "",
                       None if old is None else value, value if old is None else None)]
    out: list[Change] = []
    if old.bpmn != new.bpmn:
        out += _diff_bpmn(source, name, old.bpmn, new.bpmn, level)
    meta_a, meta_b = old.meta or {}, new.meta or {}
    for key in sorted(set(meta_a) | set(meta_b)):
        a, b = meta_a.get(key), meta_b.get(key)
        if a == b:
            continue
        category = "metadata" if key == "deployed" else "flow"
        if category in NOISE_CATEGORIES and level == "config":
            continue
        action = "added" if key not in meta_a else "removed" if key not in meta_b else "changed"
        out.append(Change(source, name, category, action, new.key, key, pointer([key]), a, b))
    return out


def _workflow_name(wf) -> str:
    meta = wf.meta or {}
    return str(meta.get("name") or wf.key)


def _bpmn_elements(data: bytes) -> dict:
    from flowvault.normalize import bpmn

    return bpmn.elements(data)


def bpmn_title(elements: dict, element_id: str) -> str:
    element = (elements.get("elements") or {}).get(element_id) or {}
    return str(element.get("name") or element_id)


def _depth_bpmn(path: list) -> int:
    """One group per attribute, one per other property (script, form properties), one per other key."""
    if path[:2] == ["properties", "attributes"]:
        return 3
    return 2 if path and path[0] == "properties" else 1


def _diff_bpmn(source, name, old: bytes, new: bytes, level: str) -> list[Change]:
    """Flow elements by id (`node`), sequence flows by id (`edge`), process attributes (`flow`)."""
    a, b = _bpmn_elements(old), _bpmn_elements(new)
    out: list[Change] = []
    pa, pb = a.get("process") or {}, b.get("process") or {}
    for key in _ordered_keys(pa, pb):
        if pa.get(key) != pb.get(key):
            action = "added" if key not in pa else "removed" if key not in pb else "changed"
            out.append(Change(source, name, "flow", action, str(pb.get("id") or pa.get("id") or name), key,
                              pointer(["process", key]), pa.get(key), pb.get(key)))
    for section, category in (("elements", "node"), ("flows", "edge")):
        sa, sb = a.get(section) or {}, b.get(section) or {}
        for element_id in _ordered_keys(sa, sb):
            ea, eb = sa.get(element_id), sb.get(element_id)
            if ea == eb:
                continue
            element = eb if eb is not None else ea
            if category == "edge":
                label = f"{bpmn_title(b if eb else a, element.get('sourceRef'))} -> " \
                        f"{bpmn_title(b if eb else a, element.get('targetRef'))}"
            else:
                label = f"{element.get('name') or element_id} - {element.get('tag')}"
            if ea is None or eb is None:
                out.append(Change(source, name, category, "added" if ea is None else "removed", element_id, label,
                                  pointer([section, element_id]), ea, eb))
                continue
            # an element's top-level "name" repeats its name attribute: compare it once, as the attribute
            if isinstance(ea, dict) and isinstance(eb, dict) and category == "node":
                ea, eb = ({k: v for k, v in e.items() if k != "name"} for e in (ea, eb))
            for rel, va, vb in _grouped(ea, eb, _depth_bpmn):
                out.append(Change(source, name, category, "changed", element_id, label,
                                  pointer([section, element_id, *rel]), va, vb))
    return out


# --- whole snapshots ------------------------------------------------------------------------------------------


def diff_snapshots(old, new, *, level: str = "config", flows: Iterable[str] | None = None) -> DiffResult:
    """Match flows by (source, id), then by name, and diff each pair; `flows` keeps only the named ones."""
    check_level(level)
    wanted = [w for w in (flows or []) if w]
    pairs = _match(old.flows, new.flows, "flow") + _match(old.workflows, new.workflows, "workflow")
    if wanted:
        pairs = [p for p in pairs if any(_entry_matches(e, w) for w in wanted for e in (p[1], p[2]) if e)]
        if not pairs:
            raise UsageError(f"no flow named {', '.join(map(repr, wanted))} in either snapshot; "
                             "give a flow's name, folder name or id")
    changes: list[Change] = []
    kept = []
    summary = {"flows_added": 0, "flows_removed": 0, "flows_changed": 0, "changes": 0}
    for kind, a, b in pairs:
        source = (b or a).source
        if kind == "flow":
            records = diff_flows(a.doc if a else None, b.doc if b else None, level=level, source=source)
        else:
            records = diff_workflows(a if a else None, b if b else None, level=level, source=source)
        if level == "config":
            records = [c for c in records if c.category not in NOISE_CATEGORIES]
        if not records:
            continue
        summary["flows_added" if a is None else "flows_removed" if b is None else "flows_changed"] += 1
        changes += records
        kept.append(FlowPair(source, records[0].flow, kind, a, b))
    summary["changes"] = len(changes)
    return DiffResult(summary, changes, getattr(old, "label", ""), getattr(new, "label", ""), tuple(kept))


def _ident(entry) -> str:
    return str(getattr(entry, "id", None) or getattr(entry, "key", ""))


def _entry_name(entry) -> str:
    return str(getattr(entry, "name", "") or "")


def _entry_matches(entry, wanted: str) -> bool:
    return wanted in (_ident(entry), _entry_name(entry), getattr(entry, "slug", None), getattr(entry, "key", None))


def _match(old: list, new: list, kind: str) -> list[tuple]:
    """Pairs (kind, old, new): same source and id first, then same source and name, then a lone pair."""
    pairs, left_old, left_new = [], list(old), list(new)
    for keyfunc in (_ident, _entry_name):
        index = {}
        for entry in left_new:
            index.setdefault((entry.source, keyfunc(entry)), entry)
        still_old = []
        for entry in left_old:
            match = index.pop((entry.source, keyfunc(entry)), None)
            if match is not None and keyfunc(entry):
                pairs.append((kind, entry, match))
                left_new.remove(match)
            else:
                still_old.append(entry)
        left_old = still_old
    # two exports of one flow from different environments: different ids, maybe a new name
    if len(old) == 1 and len(new) == 1 and len(left_old) == 1 and len(left_new) == 1:
        pairs.append((kind, left_old.pop(), left_new.pop()))
    pairs += [(kind, entry, None) for entry in left_old] + [(kind, None, entry) for entry in left_new]
    return sorted(pairs, key=lambda p: (str((p[2] or p[1]).source or ""), _entry_name(p[2] or p[1]).lower(),
                                        _ident(p[2] or p[1])))
