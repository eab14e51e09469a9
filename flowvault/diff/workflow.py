"""Two PingIDM workflows (BPMN XML plus meta.json) -> the Change records between them.

The XML is compared as normalize.bpmn.elements reads it: flow elements by id (`node`), sequence flows by id
(`edge`) and process attributes (`flow`), so a reordered or reindented file makes no record.
"""

from __future__ import annotations

from typing import Any

from flowvault.diff.labels import bpmn_title
from flowvault.diff.paths import grouped, ordered_keys, pointer
from flowvault.diff.records import NOISE_CATEGORIES, Change, action, check_level


def diff_workflows(old: Any, new: Any, *, level: str = "config", source: str | None = None) -> list[Change]:
    """Return the records between two PingIDM workflows (objects with .key, .bpmn bytes and .meta dict; None for
    a workflow absent on that side)."""
    check_level(level)
    if old is None and new is None:
        return []
    name = _workflow_name(new if new is not None else old)
    if old is None or new is None:
        wf = new if new is not None else old
        value = {"key": wf.key, "name": name}
        return [Change(source, name, "flow", action(old, new), wf.key, name, "",
                       None if old is None else value, value if old is None else None)]
    out: list[Change] = []
    if old.bpmn != new.bpmn:
        out += _diff_bpmn(source, name, old.bpmn, new.bpmn)
    meta_a, meta_b = old.meta or {}, new.meta or {}
    for key in sorted(set(meta_a) | set(meta_b)):
        a, b = meta_a.get(key), meta_b.get(key)
        if a == b:
            continue
        category = "metadata" if key == "deployed" else "flow"
        if category in NOISE_CATEGORIES and level == "config":
            continue
        act = "added" if key not in meta_a else "removed" if key not in meta_b else "changed"
        out.append(Change(source, name, category, act, key if category == "flow" else new.key, key, pointer([key]),
                          a, b))
    return out


def _workflow_name(wf) -> str:
    meta = wf.meta or {}
    return str(meta.get("name") or wf.key)


def _depth_bpmn(path: list) -> int:
    """One group per attribute, one per other property (script, form properties), one per other key."""
    if path[:2] == ["properties", "attributes"]:
        return 3
    return 2 if path and path[0] == "properties" else 1


def _diff_bpmn(source, name, old: bytes, new: bytes) -> list[Change]:
    """Return the records between two BPMN documents: process attributes, then elements, then sequence flows."""
    from flowvault.normalize import bpmn  # lazy: lxml is imported only when a workflow changed

    a, b = bpmn.elements(old), bpmn.elements(new)
    out: list[Change] = []
    pa, pb = a.get("process") or {}, b.get("process") or {}
    for key in ordered_keys(pa, pb):
        if pa.get(key) != pb.get(key):
            act = "added" if key not in pa else "removed" if key not in pb else "changed"
            out.append(Change(source, name, "flow", act, key, key, pointer(["process", key]), pa.get(key),
                              pb.get(key)))
    for section, category in (("elements", "node"), ("flows", "edge")):
        sa, sb = a.get(section) or {}, b.get(section) or {}
        for element_id in ordered_keys(sa, sb):
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
                out.append(Change(source, name, category, action(ea, eb), element_id, label,
                                  pointer([section, element_id]), ea, eb))
                continue
            # an element's top-level "name" repeats its name attribute: compare it once, as the attribute
            if isinstance(ea, dict) and isinstance(eb, dict) and category == "node":
                ea, eb = ({k: v for k, v in e.items() if k != "name"} for e in (ea, eb))
            for rel, va, vb in grouped(ea, eb, _depth_bpmn):
                out.append(Change(source, name, category, "changed", element_id, label,
                                  pointer([section, element_id, *rel]), va, vb))
    return out
