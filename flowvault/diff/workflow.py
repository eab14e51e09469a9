"""Two PingIDM workflows (BPMN XML plus meta.json) -> the Change records between them.

The XML is compared as a BPMN tool shows it (diff/bpmn.py): flow elements, participants, lanes and data objects by
id (`node`), sequence flows, message flows and associations by id (`edge`), process attributes (`flow`), so a
reordered or reindented file makes no record. A sub-process added or removed is one record, not one per child; a
change inside an element's extension elements or event definitions is a change of that element; the diagram
(bounds, waypoints, expanded or collapsed) gives `layout` records, for `--level all` only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flowvault.diff.bpmn import SECTIONS, SUBPROCESS_TAGS, inside, model
from flowvault.diff.labels import bpmn_title
from flowvault.diff.paths import grouped, ordered_keys, pointer
from flowvault.diff.records import NOISE_CATEGORIES, Change, action, check_level
from flowvault.errors import InputError


def diff_workflows(old: Any, new: Any, *, level: str = "config", source: str | None = None) -> list[Change]:
    """Return the records between two PingIDM workflows (objects with .key, .bpmn bytes and .meta dict; None for
    a workflow absent on that side)."""
    check_level(level)
    if old is None and new is None:
        return []
    if old is not None and new is not None and old.bpmn == new.bpmn and (old.meta or {}) == (new.meta or {}):
        return []
    name = _workflow_name(new if new is not None else old)
    if old is None or new is None:
        wf = new if new is not None else old
        value = {"key": wf.key, "name": name}
        return [Change(source, name, "flow", action(old, new), wf.key, name, "",
                       None if old is None else value, value if old is None else None, kind="workflow")]
    return [replace(c, kind="workflow") for c in _records(source, name, old, new, level)]


def _records(source, name: str, old, new, level: str) -> list[Change]:
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
        act = "added" if key not in meta_a else "removed" if key not in meta_b else "changed"
        out.append(Change(source, name, category, act, key if category == "flow" else new.key, key, pointer([key]),
                          a, b))
    return out


def _workflow_name(wf) -> str:
    """The name a reviewer knows the workflow by: its metadata's name, else (a .bpmn file compared directly, with
    no metadata) the process's name or id in the BPMN, else its key (the file name)."""
    meta = wf.meta or {}
    if meta.get("name"):
        return str(meta["name"])
    from flowvault.normalize import bpmn  # lazy: lxml

    try:
        process = bpmn.elements(wf.bpmn).get("process") or {}
    except InputError:  # unreadable: the diff itself says so, naming the file
        return str(wf.key)
    return str(process.get("name") or process.get("id") or wf.key)


def _depth_bpmn(path: list) -> int:
    """One group per attribute, one per other property (script, form properties), one per other key."""
    if path[:2] == ["properties", "attributes"]:
        return 3
    return 2 if path and path[0] == "properties" else 1


def _diff_bpmn(source, name, old: bytes, new: bytes, level: str = "config") -> list[Change]:
    """Return the records between two BPMN documents: process attributes, elements, sequence flows, then the
    collaboration, lanes, data and associations; the diagram at `--level all`."""
    a, b = model(old), model(new)
    out: list[Change] = []
    pa, pb = a.get("process") or {}, b.get("process") or {}
    for key in ordered_keys(pa, pb):
        if pa.get(key) != pb.get(key):
            act = "added" if key not in pa else "removed" if key not in pb else "changed"
            out.append(Change(source, name, "flow", act, key, key, pointer(["process", key]), pa.get(key),
                              pb.get(key)))
    ea_all, eb_all = a.get("elements") or {}, b.get("elements") or {}
    # a sub-process added (removed) as a whole: its children and inner flows are part of that one record
    added = {i for i, e in eb_all.items() if i not in ea_all and e.get("tag") in SUBPROCESS_TAGS}
    removed = {i for i, e in ea_all.items() if i not in eb_all and e.get("tag") in SUBPROCESS_TAGS}

    def swallowed(section, element_id, ea, eb) -> bool:
        if ea is not None and eb is not None:
            return False
        elements, ids = (eb_all, added) if ea is None else (ea_all, removed)
        if section == "elements":
            return inside(elements, element_id, ids)
        parent = (eb if ea is None else ea).get("parent") if isinstance(eb if ea is None else ea, dict) else None
        return parent in ids or inside(elements, parent, ids) if parent else False

    for section, category in (("elements", "node"), ("flows", "edge")):
        sa, sb = a.get(section) or {}, b.get(section) or {}
        for element_id in ordered_keys(sa, sb):
            ea, eb = sa.get(element_id), sb.get(element_id)
            if ea == eb or swallowed(section, element_id, ea, eb):
                continue
            element = eb if eb is not None else ea
            assert element is not None  # ea == eb skipped the both-absent case
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
    out += _others(source, name, a, b)
    if level == "all":
        out += _layout(source, name, a, b)
    return out


def _title(doc: dict, element_id) -> str:
    """The name of any element of the model (flow element, participant, lane, data object), else its id."""
    for section in ("elements", "participants", "lanes", "data"):
        element = (doc.get(section) or {}).get(element_id)
        if element:
            return str(element.get("name") or element_id)
    return str(element_id)


def _others(source, name, a: dict, b: dict) -> list[Change]:
    """Participants, lanes and data objects (`node`), message flows and associations (`edge`): one record per
    added or removed item, one per changed field."""
    out = []
    for section, category, noun in SECTIONS:
        sa, sb = a.get(section) or {}, b.get(section) or {}
        for item_id in ordered_keys(sa, sb):
            ia, ib = sa.get(item_id), sb.get(item_id)
            if ia == ib:
                continue
            item = ib if ib is not None else ia
            assert item is not None  # ia == ib skipped the both-absent case
            doc = b if ib is not None else a
            if category == "edge":
                label = f"{_title(doc, item.get('sourceRef'))} -> {_title(doc, item.get('targetRef'))}"
            else:
                label = f"{item.get('name') or item_id} - {noun or item.get('tag')}"
            if ia is None or ib is None:
                out.append(Change(source, name, category, action(ia, ib), item_id, label,
                                  pointer([section, item_id]), ia, ib))
                continue
            for key in ordered_keys(ia, ib):
                if ia.get(key) != ib.get(key):
                    out.append(Change(source, name, category, "changed", item_id, label,
                                      pointer([section, item_id, key]), ia.get(key), ib.get(key)))
    return out


def _layout(source, name, a: dict, b: dict) -> list[Change]:
    """One `layout` record per diagram element whose bounds, waypoints or expanded state changed."""
    da, db = a.get("diagram") or {}, b.get("diagram") or {}
    out = []
    for element_id in ordered_keys(da, db):
        if da.get(element_id) != db.get(element_id):
            label = _title(b if element_id in db else a, element_id)
            out.append(Change(source, name, "layout", action(da.get(element_id), db.get(element_id)), element_id,
                              label, pointer(["diagram", element_id]), da.get(element_id), db.get(element_id)))
    return out
