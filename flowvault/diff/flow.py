"""Two DaVinci flows (canonical flow.json, layout.json, meta.json) -> the Change records between them.

Nodes, edges and variables are keyed by id in flow.json, so an entry is compared with the entry of the same id;
a reordered export makes no record. Layout and metadata records are made only for `--level all`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flowvault.diff.labels import edge_label, node_label, node_title, variable_label
from flowvault.diff.paths import dict_paths, enclosing_difference, grouped, ordered_keys, pointer
from flowvault.diff.records import NOISE_CATEGORIES, Change, action, check_level

# Keys of flow.json with their own category; every other top-level key is a `flow` record (name, description...).
_SCHEMA_KEYS = ("inputSchema", "outputSchema")
_KEYED = {"nodes": "node", "edges": "edge", "variables": "variable", "settings": "setting"}
_SUBFLOW_PROPS = ("subFlowId", "subFlowVersionId")


def _depth_props(path: list) -> int:
    """Nodes: one group per property (`properties/<name>`), one per other key; variables: per field."""
    return 2 if path and path[0] in ("properties", "fields") else 1


def _per_property(groups: list[tuple[list, Any, Any]]) -> list[tuple[list, Any, Any]]:
    """`groups` with a difference of the whole `properties` map (a node that had none, or several added at once)
    split into one group per property that differs: each is its own record, as when a node's properties change
    one at a time (issue 18)."""
    out = []
    for rel, va, vb in groups:
        if rel != ["properties"] or not all(v is None or isinstance(v, dict) for v in (va, vb)):
            out.append((rel, va, vb))
            continue
        old, new = va or {}, vb or {}
        for prop in ordered_keys(old, new):
            a, b = old.get(prop), new.get(prop)
            if a == b and (prop in old) == (prop in new):
                continue
            if isinstance(a, dict) and isinstance(b, dict):
                sub, a, b = enclosing_difference(a, b)
                out.append((["properties", prop, *sub], a, b))
            else:
                out.append((["properties", prop], a, b))
    return out


def _triple(doc: Any) -> tuple[dict, dict, dict] | None:
    """Return (flow, layout, meta) of a FlowSnapshot-like object or a triple, None for None."""
    if doc is None:
        return None
    if hasattr(doc, "flow"):
        return doc.flow or {}, getattr(doc, "layout", None) or {}, getattr(doc, "meta", None) or {}
    flow, layout, meta = doc
    return flow or {}, layout or {}, meta or {}


def flow_name(doc: Any) -> str:
    """Return the name a flow's records carry: its name, else its id, else "(unnamed flow)"."""
    triple = _triple(doc)
    flow = triple[0] if triple is not None else {}
    return str(flow.get("name") or flow.get("id") or "(unnamed flow)")


def diff_flows(old: Any, new: Any, *, level: str = "config", source: str | None = None) -> list[Change]:
    """Return the records that turn flow `old` into flow `new` (FlowSnapshots or (flow, layout, meta) triples;
    None for a flow that is absent on that side)."""
    check_level(level)
    a, b = _triple(old), _triple(new)
    if a is None and b is None:
        return []
    name = flow_name(new if b is not None else old)
    if a is None or b is None:
        present = b if b is not None else a
        assert present is not None  # both absent returned above
        flow, flow_id = present[0], _flow_id(present)
        value = {"id": flow_id, "name": flow.get("name"), "nodes": len(flow.get("nodes") or {})}
        return [Change(source, name, "flow", action(a, b), str(flow_id or name), name, "",
                       None if a is None else value, value if a is None else None)]
    differ = _FlowDiffer(source, name, a[0], b[0], _flow_id(b) or _flow_id(a))
    changes = differ.config()
    if level == "all":
        changes += differ.layout(a[1], b[1])
        changes += differ.metadata(a[2], b[2])
    return changes


def _flow_id(triple) -> str | None:
    """Return flow.json's id (the contract), else meta.json's flowId/id (where normalize keeps the
    environment-specific id)."""
    flow, _, meta = triple
    return flow.get("id") or meta.get("flowId") or meta.get("id")


class _FlowDiffer:
    """The records between two matched flows, section by section; `old` and `new` are flow.json contents."""

    def __init__(self, source, name, old: dict, new: dict, flow_id=None):
        self.source, self.name, self.old, self.new = source, name, old, new
        self.old_nodes = old.get("nodes") or {}
        self.new_nodes = new.get("nodes") or {}
        self.flow_id = str(flow_id or name)
        # titles that several nodes share get the node id, so "'Evaluator' [9s9937k3jk]" names one node
        titles: dict[str, list] = {}
        for node_id in set(self.old_nodes) | set(self.new_nodes):
            titles.setdefault(node_title(self._node(node_id)), []).append(node_id)
        self.shared = {t for t, ids in titles.items() if len(ids) > 1}

    def title(self, node_id) -> str:
        """The node's title, with its id when another node of either side has the same title."""
        node = self._node(node_id)
        name = node_title(node) if node else str(node_id)
        return f"{name} [{node_id}]" if name in self.shared else name

    def label(self, node_id) -> str:
        """node_label with an unambiguous title."""
        return node_label(self._node(node_id), title=self.title(node_id))

    def _change(self, category, act, target, label, parts, old=None, new=None) -> Change:
        return Change(self.source, self.name, category, act, str(target), label, pointer(parts), old, new)

    def _node(self, node_id) -> dict:
        """Return the node's new version, else its old one, else {}."""
        node = self.new_nodes.get(node_id)
        return node if isinstance(node, dict) else self.old_nodes.get(node_id) or {}

    # config ------------------------------------------------------------------------------------------------
    def config(self) -> list[Change]:
        """Return the records of flow.json, section by section (`_section_order`), EVAL conditions folded."""
        old, new = self.old, self.new
        out: list[Change] = []
        for key in sorted(set(old) | set(new), key=_section_order):
            a, b = old.get(key), new.get(key)
            if a == b or key == "id":  # the id is environment-specific; flows are matched by it (metadata)
                continue
            if key in _KEYED and isinstance(a or {}, dict) and isinstance(b or {}, dict):
                out += getattr(self, "_" + key)(a or {}, b or {})
            elif key in _SCHEMA_KEYS:
                out += self._whole("schema", key, [key], a, b, "input schema" if key == "inputSchema"
                                   else "output schema")
            elif key == "trigger":
                out += self._whole("trigger", key, [key], a, b, "trigger")
            else:
                out += self._whole("flow", key, [key], a, b, key)  # the field is the target: name, description
        return sorted(self._fold_conditions(out), key=_reading_order)

    def _fold_conditions(self, changes: list[Change]) -> list[Change]:
        """Return `changes` with each added (removed) EVAL condition folded into the label of its added (removed)
        edge: one record, not two."""
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

    def _whole(self, category, target, parts, a, b, label) -> list[Change]:
        """Return one record for a value that differs, at the deepest path holding all its differences."""
        if a is None or b is None:
            return [self._change(category, action(a, b), target, label, parts, a, b)]
        if category in NOISE_CATEGORIES and isinstance(a, dict) and isinstance(b, dict):
            # designer state and ids: no need for list detail
            rel, va, vb = enclosing_difference(a, b, dict_paths)
            return [self._change(category, "changed", target, label, parts + rel, va, vb)]
        if isinstance(a, dict) and isinstance(b, dict) or (
            isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and len(a) <= 64
        ):  # a reordered long list (meta "order") is one change at the list; deepdiff on it costs seconds
            rel, va, vb = enclosing_difference(a, b)
            return [self._change(category, "changed", target, label, parts + rel, va, vb)]
        return [self._change(category, "changed", target, label, parts, a, b)]

    def _nodes(self, old: dict, new: dict) -> list[Change]:
        """Return one record per added or removed node, one per changed property (an EVAL node's condition
        as an edge record, a flowConnector's called subflow as a subflow record)."""
        out = []
        for node_id in ordered_keys(old, new):
            a, b = old.get(node_id), new.get(node_id)
            if a == b:
                continue
            label = self.label(node_id)
            if a is None or b is None or not (isinstance(a, dict) and isinstance(b, dict)):
                out.append(self._change("node", action(a, b), node_id, label, ["nodes", node_id], a, b))
                continue
            is_eval = "EVAL" in (a.get("nodeType"), b.get("nodeType"))
            for rel, va, vb in _per_property(grouped(a, b, _depth_props)):
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
        """Return the edge record for an EVAL node's property keyed by a target node id: it is the condition on
        the edge EVAL -> target."""
        edge_id = None
        for edges in (self.new.get("edges") or {}, self.old.get("edges") or {}):
            for eid, edge in edges.items():
                if isinstance(edge, dict) and edge.get("source") == eval_id and edge.get("target") == target_id:
                    edge_id = eid
                    break
            if edge_id:
                break
        label = f"{self.title(eval_id)} -> {self.title(target_id)}"
        return self._change("edge", "changed", edge_id or f"{eval_id}->{target_id}", label, parts, va, vb)

    def _edges(self, old: dict, new: dict) -> list[Change]:
        """Return one record per added or removed edge, one per changed edge at its differing key."""
        out = []
        for edge_id in ordered_keys(old, new):
            a, b = old.get(edge_id), new.get(edge_id)
            if a == b:
                continue
            edge = b if isinstance(b, dict) else a
            label = edge_label(edge, self.title) if isinstance(edge, dict) else str(edge_id)
            parts, va, vb = ["edges", edge_id], a, b
            if isinstance(a, dict) and isinstance(b, dict):
                rel, va, vb = enclosing_difference(a, b)
                parts = parts + rel
            out.append(self._change("edge", action(a, b), edge_id, label, parts, va, vb))
        return out

    def _variables(self, old: dict, new: dict) -> list[Change]:
        """Return one record per added or removed variable, one per changed field."""
        out = []
        for key in ordered_keys(old, new):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            label = variable_label(key)
            if a is None or b is None or not (isinstance(a, dict) and isinstance(b, dict)):
                out.append(self._change("variable", action(a, b), key, label, ["variables", key], a, b))
                continue
            for rel, va, vb in grouped(a, b, _depth_props):
                out.append(self._change("variable", "changed", key, label, ["variables", key, *rel], va, vb))
        return out

    def _settings(self, old: dict, new: dict) -> list[Change]:
        """Return one record per added, removed or changed setting."""
        out = []
        for key in ordered_keys(old, new):
            if key in old and key in new and old[key] == new[key]:
                continue
            a, b = old.get(key), new.get(key)
            if key not in old or key not in new:
                out.append(self._change("setting", "added" if key not in old else "removed", key, key,
                                        ["settings", key], a, b))
            else:
                out += self._whole("setting", key, ["settings", key], a, b, key)
        return out

    # layout and metadata (level all) --------------------------------------------------------------------
    def layout(self, old: dict, new: dict) -> list[Change]:
        """Return the records between two layout.json contents."""
        return self._two_level("layout", old, new)

    def metadata(self, old: dict, new: dict) -> list[Change]:
        """Return the records between two meta.json contents, plus a changed id when flow.json carries one."""
        out = []
        if self.old.get("id") != self.new.get("id"):  # only when flow.json carries the id
            out.append(self._change("metadata", "changed", self.flow_id, "flow id", ["id"],
                                    self.old.get("id"), self.new.get("id")))
        return out + self._two_level("metadata", old, new)

    def _two_level(self, category, old: dict, new: dict) -> list[Change]:
        """Return one record per top-level key, or per entry of a top-level map of maps (layout nodes, meta
        nodes)."""
        out = []
        for key in sorted(set(old) | set(new)):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            if isinstance(a, dict) and isinstance(b, dict) and all(
                isinstance(v, dict) for v in (*a.values(), *b.values())
            ):
                for sub in ordered_keys(a, b):
                    sa, sb = a.get(sub), b.get(sub)
                    if sa == sb:
                        continue
                    label = f"{key} {sub}"
                    if key == "nodes" and (sub in self.new_nodes or sub in self.old_nodes):
                        label = self.label(sub)
                    out += self._whole(category, sub, [key, sub], sa, sb, label)
            else:
                out += self._whole(category, key, [key], a, b, key)
        return out


_CATEGORY_ORDER = {"flow": 0, "trigger": 1, "node": 2, "subflow": 2, "edge": 3, "variable": 4, "setting": 5,
                   "schema": 6}
_ACTION_ORDER = {"removed": 0, "added": 1, "changed": 2}


def _reading_order(change: Change) -> tuple:
    """Sort key of a flow's records (issue 15): flow-level, then nodes, edges, variables, settings, schema; in each,
    removed, added, changed; a node's records stay together (the sort is stable)."""
    return _CATEGORY_ORDER.get(change.category, 9), _ACTION_ORDER.get(change.action, 3)


def _section_order(key: str) -> tuple:
    """Sort key of flow.json's sections: the order a reviewer reads a flow in, unknown keys last."""
    order = ["name", "description", "enabled", "settings", "trigger", "inputSchema", "outputSchema", "variables",
             "nodes", "edges"]
    return (order.index(key) if key in order else len(order), key)
