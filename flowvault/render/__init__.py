"""Change records -> text, Markdown, JSON or Mermaid. `describe` is the one sentence both text and Markdown use."""

from __future__ import annotations

import json as _jsonlib
from typing import Any

RENDERERS = ("text", "markdown", "json")


def render(result, fmt: str, *, color: bool = False) -> str:
    """The whole diff in one of RENDERERS."""
    if fmt == "json":
        from flowvault.render.json import render_json

        return render_json(result)
    if fmt == "markdown":
        from flowvault.render.markdown import render_markdown

        return render_markdown(result)
    from flowvault.render.text import render_text

    return render_text(result, color=color)


def short(value: Any, limit: int = 60) -> str | None:
    """A value short enough to print inline ('x', 12, true, secret fingerprint), or None."""
    if isinstance(value, dict) and set(value) == {"redacted"}:
        fp = value["redacted"]
        return f"secret {fp}" if isinstance(fp, str) else "secret"
    if isinstance(value, dict) and set(value) == {"value"}:
        return short(value["value"], limit)
    if isinstance(value, str):
        if "\n" in value or len(value) > limit:
            return None
        return f"'{value}'"
    if value is None or isinstance(value, (bool, int, float)):
        return _jsonlib.dumps(value)
    return None


def split_label(label: str) -> tuple[str, str | None]:
    """'Check password - PingOne SSO / checkPassword' -> ('Check password', 'PingOne SSO / checkPassword')."""
    if " - " in label:
        title, kind = label.rsplit(" - ", 1)
        if " / " in kind or kind.isupper() or (kind.isalpha() and kind[:1].islower()):  # BPMN tag: scriptTask
            return title, kind
    return label, None


def subject(change) -> str:
    """What the record is about: "node 'Check password' (PingOne SSO / checkPassword)"."""
    c = change
    if c.category in ("node", "subflow", "layout") and c.target and c.label:
        title, kind = split_label(c.label)
        noun = "subflow call" if c.category == "subflow" else "node" if c.category == "node" else "layout of"
        if c.category == "layout" and not c.path.startswith("/nodes/"):
            return f"layout `{c.label}`"
        if kind:
            return f"{noun} '{title}' ({kind})"
        return f"{noun} {title} [{c.target}]" if " / " in title else f"{noun} '{title}'"
    if c.category == "edge":
        return f"edge {c.label}"
    if c.category == "variable":
        return c.label
    if c.category == "setting":
        return f"setting `{c.label}`"
    if c.category == "metadata":
        return f"metadata `{c.label}`"
    return c.label


def _rel(change) -> list[str]:
    """The path below the record's target, e.g. ['properties', 'username', 'value']."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in change.path.split("/")[1:]]
    skip = 2 if parts and parts[0] in ("nodes", "edges", "variables", "settings", "elements", "flows") else 1
    return parts[skip:]


def _verb(change) -> str:
    if change.action != "changed":
        return change.action
    if change.old is None and change.new is not None:
        return "added"
    if change.new is None and change.old is not None:
        return "removed"
    return "changed"


def _values(change) -> str:
    a, b = short(change.old), short(change.new)
    if change.old is not None and change.new is not None and a and b:
        return f": {a} -> {b}"
    if change.old is None and b:
        return f": {b}"
    if change.new is None and a:
        return f" (was {a})"
    return ""


def describe(change) -> str:
    """One line for a record, without the flow name."""
    c = change
    if c.category == "flow" and c.action in ("added", "removed") and not c.path:
        return f"flow {c.action}"
    head = subject(c)
    if c.action in ("added", "removed") and c.category != "flow":
        extra = ""
        node = c.new if c.action == "added" else c.old
        if c.category == "node" and isinstance(node, dict):
            from flowvault.diff import is_subflow_call, subflow_name

            if is_subflow_call(node) and subflow_name(node):
                extra = f", calls subflow '{subflow_name(node)}'"
        if c.category in ("setting", "variable"):
            extra = _values(c)
        return f"{head} {c.action}{extra}"
    rel = _rel(c)
    if c.category == "edge" and len(rel) >= 2 and c.path.startswith("/nodes/"):
        if _verb(c) == "changed":
            return f"{head}: condition {short(c.old) or '?'} -> {short(c.new) or '?'}".replace("'", "")
        return f"{head}: condition {_verb(c)}{_values(c)}"
    if c.category == "subflow":
        return f"{head}: `{'/'.join(rel[1:2] or rel)}` {_verb(c)}{_values(c)}"
    if c.category == "node" and rel[:2] == ["properties", "attributes"] and len(rel) >= 3:
        return f"{head}: attribute `{rel[2]}` {_verb(c)}{_values(c)}"
    if c.category == "node" and rel[:1] == ["properties"] and len(rel) >= 2:
        return f"{head}: property `{rel[1]}` {_verb(c)}{_values(c)}"
    if c.category == "flow":
        return f"flow {c.label} {_verb(c)}{_values(c)}"
    if not rel:
        return f"{head} {_verb(c)}{_values(c)}"
    return f"{head}: `{'/'.join(rel)}` {_verb(c)}{_values(c)}"


def summary_line(result) -> str:
    s = result.summary
    if not s.get("changes"):
        return "No changes."
    parts = [f"{s[k]} {k.split('_')[1]}" for k in ("flows_changed", "flows_added", "flows_removed") if s.get(k)]
    flows = s["flows_changed"] + s["flows_added"] + s["flows_removed"]
    return (f"{s['changes']} change{'s' if s['changes'] != 1 else ''} in {flows} flow{'s' if flows != 1 else ''}"
            f" ({', '.join(parts)})")


def count_summary(changes) -> str:
    """'2 nodes changed, 1 edge added' (for `log`)."""
    counts: dict[tuple[str, str], int] = {}
    for c in changes:
        noun = "flow" if c.category == "flow" and not c.path else c.category
        counts[(noun, c.action)] = counts.get((noun, c.action), 0) + 1
    if not counts:
        return "no changes"
    plural = {"flow": "flows", "node": "nodes", "edge": "edges", "variable": "variables", "setting": "settings",
              "schema": "schemas", "trigger": "triggers", "subflow": "subflow calls", "layout": "layout changes",
              "metadata": "metadata changes"}
    out = []
    for (noun, action), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        word = noun if n == 1 else plural.get(noun, noun + "s")
        if noun == "flow" and n == 1 and action == "changed":
            word = "flow setting"
        out.append(f"{n} {word} {action}")
    return ", ".join(out)
