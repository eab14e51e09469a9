"""The words every renderer uses: one sentence per Change record, the summary line and `log`'s counts. Text and
Markdown call the same functions with their own `Style` (flowvault.render.values, with how a changed value reads),
which says how an untrusted name or value is made safe (flowvault.masking) and how a key is set off.
"""

from __future__ import annotations

import re
from typing import Any

from flowvault.render.values import TEXT, Style, secret_only, unwrap, values

NOUNS = {"flow": ("flow", "flows"), "workflow": ("workflow", "workflows"),
         "environment": ("environment item", "environment items")}


# --- the sentence of one record ---------------------------------------------------------------------------------

_DISAMBIGUATED = re.compile(r"^(.*) \[([^\[\]]+)\]$")


def split_label(label: str) -> tuple[str, str | None]:
    """'Check password - PingOne SSO / checkPassword' -> ('Check password', 'PingOne SSO / checkPassword')."""
    if " - " in label:
        title, kind = label.rsplit(" - ", 1)
        if " / " in kind or kind.isupper() or (kind.isalpha() and kind[:1].islower()):  # BPMN tag: scriptTask
            return title, kind
    return label, None


def title(text: str, style: Style = TEXT) -> str:
    """"'Evaluator'", or "'Evaluator' [9s9937k3jk]" for a title the differ made unique with the node id."""
    m = _DISAMBIGUATED.match(text)
    if m:
        return f"'{style.name(m.group(1))}' [{style.name(m.group(2))}]"
    return f"'{style.name(text)}'"


def edge_text(label: str, style: Style = TEXT) -> str:
    """An edge label 'Source -> Target [condition]' made safe (titles made unique by the differ keep their id)."""
    return style.name(label)


def subject(change, style: Style = TEXT) -> str:
    """What the record is about: "node 'Check password' (PingOne SSO / checkPassword)"."""
    c = change
    q = style.name
    if c.category in ("node", "subflow", "layout") and c.target and c.label:
        name, kind = split_label(c.label)
        noun = "subflow call" if c.category == "subflow" else "node" if c.category == "node" else "layout of"
        if c.category == "layout" and c.path.startswith("/diagram/"):  # a BPMN shape or edge, named or by id
            return f"layout of {title(c.label, style)}" + (f" [{q(c.target)}]" if c.label != c.target else "")
        if c.category == "layout" and not c.path.startswith(("/nodes/", "/elements/")):
            return f"layout {style.code(c.label)}"
        if kind:
            return f"{noun} {title(name, style)} ({q(kind)})"
        return f"{noun} {q(name)} [{q(c.target)}]" if " / " in name else f"{noun} {title(name, style)}"
    if c.category == "edge":
        return f"edge {edge_text(c.label, style)}"
    if c.category == "variable":
        return q(c.label)
    if c.category == "setting":
        return f"setting {style.code(c.label)}"
    if c.category == "metadata":
        return f"metadata {style.code(c.label)}"
    if c.category in ("application", "policy"):
        return f"{c.category} '{q(c.target)}'"
    return q(c.label)


def _rel(change) -> list[str]:
    """The path below the record's target, e.g. ['properties', 'username', 'value']."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in change.path.split("/")[1:]]
    if change.category == "policy" or (parts[:1] == ["applications"] and "flowPolicies" in parts):
        skip = 4
    else:
        skip = 2 if parts and parts[0] in ("nodes", "edges", "variables", "settings", "elements", "flows",
                                            "applications", "participants", "lanes", "messageFlows", "data",
                                            "associations") else 1
    return parts[skip:]


def verb(change) -> str:
    if change.action != "changed":
        return change.action
    if change.old is None and change.new is not None:
        return "added"
    if change.new is None and change.old is not None:
        return "removed"
    return "changed"


def _kind(change) -> str:
    """'workflow' for a PingIDM workflow's record, else 'flow'."""
    return "workflow" if getattr(change, "kind", "flow") == "workflow" else "flow"


_MAX_LAYOUT_PARTS = 6


def layout_delta(old: Any, new: Any, style: Style = TEXT) -> str:
    """What moved in a BPMN diagram entry ({bounds, waypoints, isExpanded}): 'x 0.0 -> 120.0, width 35.0 -> 50.0',
    'waypoint 2 (100, 200) -> (120, 200)', 'expanded true -> false'; '' when there is nothing to say."""
    old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}
    q = style.name
    parts = []
    ba, bb = old.get("bounds") or {}, new.get("bounds") or {}
    for key in ("x", "y", "width", "height"):
        if ba.get(key) != bb.get(key):
            parts.append(f"{key} {q(ba.get(key))} -> {q(bb.get(key))}")
    wa, wb = old.get("waypoints") or [], new.get("waypoints") or []
    if len(wa) != len(wb):
        parts.append(f"{len(wa)} waypoints -> {len(wb)}")
    else:
        def point(p: Any) -> str:
            return f"({', '.join(q(v) for v in p)})" if isinstance(p, (list, tuple)) else q(p)

        pairs = enumerate(zip(wa, wb, strict=True), 1)
        parts += [f"waypoint {i} {point(a)} -> {point(b)}" for i, (a, b) in pairs if a != b]
    if old.get("isExpanded") != new.get("isExpanded"):
        parts.append(f"expanded {q(old.get('isExpanded'))} -> {q(new.get('isExpanded'))}")
    if len(parts) > _MAX_LAYOUT_PARTS:
        parts = parts[:_MAX_LAYOUT_PARTS] + [f"… {len(parts) - _MAX_LAYOUT_PARTS} more"]
    return ", ".join(parts)


def describe(change, style: Style = TEXT) -> str:
    """One line for a record, without the flow name; untrusted text made safe by `style`."""
    c = change
    q, code = style.name, style.code
    if c.category == "flow" and c.action in ("added", "removed") and not c.path:
        return f"{_kind(c)} {c.action}"
    head = subject(c, style)
    rel = _rel(c)
    tail = ": secret changed" if secret_only(c) else f" {verb(c)}{values(c, style)}"
    if c.category == "policy" and rel[:1] == ["flowDistributions"]:
        field = f" {code(rel[2])}" if len(rel) > 2 else ""
        return f"{head}: flow '{q(c.label)}'{field}{tail}"
    if c.action in ("added", "removed") and c.category != "flow":
        extra = ""
        node = c.new if c.action == "added" else c.old
        if c.category == "node" and isinstance(node, dict):
            from flowvault.diff import is_subflow_call, subflow_name

            if is_subflow_call(node) and subflow_name(node):
                extra = f", calls subflow '{q(subflow_name(node))}'"
        if c.category in ("setting", "variable"):
            extra = values(c, style)
        return f"{head} {c.action}{extra}"
    if c.category == "edge" and len(rel) >= 2 and c.path.startswith("/nodes/"):
        if verb(c) == "changed":
            a, b = unwrap(c.old), unwrap(c.new)
            return f"{head}: condition {q(a) if isinstance(a, str) else '?'} -> {q(b) if isinstance(b, str) else '?'}"
        return f"{head}: condition{tail}"
    if c.category == "subflow":
        return f"{head}: {code('/'.join(rel[1:2] or rel))}{tail}"
    if c.category == "layout" and c.path.startswith("/diagram/") and c.old is not None and c.new is not None:
        return f"{head}: {layout_delta(c.old, c.new, style) or 'changed'}"
    if c.category == "node" and rel[:2] == ["properties", "attributes"] and len(rel) >= 3:
        return f"{head}: attribute {code(rel[2])}{tail}"
    if c.category == "node" and rel[:1] == ["properties"] and len(rel) >= 2:
        return f"{head}: property {code(rel[1])}{tail}"
    if c.category == "flow":
        return f"{_kind(c)} {code(c.target)}{tail}"
    if not rel:
        return f"{head}{tail}"
    return f"{head}: {code('/'.join(rel))}{tail}"


def where(change, style: Style = TEXT) -> str:
    """What a record belongs to: the flow's name, or "<source> environment" for an environment-wide record."""
    if change.flow is None:
        return f"{style.name(change.source or '')} environment".strip()
    return style.name(change.flow)


# --- summaries --------------------------------------------------------------------------------------------------


def _plural(n: int, kind: str) -> str:
    one, many = NOUNS.get(kind, (kind, kind + "s"))
    return f"{n} {one if n == 1 else many}"


def item_counts(summary: dict) -> list[str]:
    """['1 flow changed', '9 workflows added', '2 environment items changed'] from a diff's summary."""
    out = []
    for kind, key in (("flow", "flows"), ("workflow", "workflows"), ("environment", "environment")):
        for act in ("changed", "added", "removed"):
            n = summary.get(f"{key}_{act}") or 0
            if n:
                out.append(f"{_plural(n, kind)} {act}")
    return out


def summary_line(result) -> str:
    s = result.summary
    if not s.get("changes"):
        return "No changes."
    n = s["changes"]
    return f"{n} change{'s' if n != 1 else ''}: {', '.join(item_counts(s))}"


def count_summary(changes, summary: dict | None = None) -> str:
    """'1 flow changed: 2 nodes changed, 1 edge added' (for `log`): what changed as a whole, then its records."""
    counts: dict[tuple[str, str], int] = {}
    for c in changes:
        if c.category == "flow" and not c.path:
            continue  # counted as a whole flow or workflow
        noun = "flow field" if c.category == "flow" else c.category
        counts[(noun, c.action)] = counts.get((noun, c.action), 0) + 1
    items = item_counts(summary) if summary else []
    if not counts and not items:
        return "no changes"
    plural = {"node": "nodes", "edge": "edges", "variable": "variables", "setting": "settings",
              "schema": "schemas", "trigger": "triggers", "subflow": "subflow calls", "layout": "layout changes",
              "metadata": "metadata changes", "policy": "policies", "application": "applications",
              "flow field": "flow fields"}
    detail = []
    for (noun, act), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        detail.append(f"{n} {noun if n == 1 else plural.get(noun, noun + 's')} {act}")
    if not items:
        return ", ".join(detail)
    return ", ".join(items) + (f": {', '.join(detail)}" if detail else "")
