"""The words every renderer uses: one sentence per Change record, the summary line, `log`'s counts, and the changed
lines of a long text value. Text and Markdown call the same functions with their own `Style`, which says how an
untrusted name or value is made safe (flowvault.masking) and how a key is set off.
"""

from __future__ import annotations

import difflib
import json as _jsonlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowvault.masking import safe_markdown, safe_text
from flowvault.normalize.secret_shapes import MARKER

NOUNS = {"flow": ("flow", "flows"), "workflow": ("workflow", "workflows"),
         "environment": ("environment item", "environment items")}


@dataclass(frozen=True)
class Style:
    """How one output format sets off untrusted text: `name` for names and values, `code` for keys and paths."""

    name: Callable[[Any], str]
    code: Callable[[Any], str]


def _md_code(text: Any) -> str:
    # a code span shows its content literally (no links, no emphasis); a backtick inside would close it
    return "`" + safe_text(text).replace("`", "'") + "`"


TEXT = Style(name=safe_text, code=lambda text: f"`{safe_text(text)}`")
MARKDOWN = Style(name=safe_markdown, code=_md_code)


# --- values ---------------------------------------------------------------------------------------------------


def slate_text(value: Any) -> str | None:
    """The text a user typed into a Slate rich-text field (`[{"children": [{"text": ...}]}]`, as a JSON string or
    parsed), paragraphs on their own lines and `{{variable}}` references kept; None for any other value."""
    if isinstance(value, str):
        if not value.lstrip().startswith("[") or '"children"' not in value:
            return None
        try:
            value = _jsonlib.loads(value)
        except ValueError:
            return None
    if not (isinstance(value, list) and value and all(isinstance(p, dict) and "children" in p for p in value)):
        return None

    def inline(node: Any) -> str:
        if not isinstance(node, dict):
            return ""
        data = node.get("data")
        if isinstance(data, str) and data.startswith("{{"):  # a variable picked in the designer
            return data
        if "text" in node and isinstance(node["text"], str):
            return node["text"]
        return "".join(inline(child) for child in node.get("children") or [])

    return "\n".join(inline(p) for p in value)


def _unwrap(value: Any) -> Any:
    """A DaVinci property's {"value": x} as x; a Slate document as its text."""
    if isinstance(value, dict) and set(value) == {"value"}:
        value = value["value"]
    text = slate_text(value)
    return text if text is not None else value


def short(value: Any, limit: int = 60, style: Style = TEXT) -> str | None:
    """A value short enough to print inline ('x', 12, true, secret fingerprint), or None."""
    if isinstance(value, dict) and set(value) == {"redacted"}:
        fp = value["redacted"]
        return f"secret {fp}" if isinstance(fp, str) else "secret"
    value = _unwrap(value)
    if isinstance(value, str):
        if "\n" in value or len(value) > limit:
            return None
        return f"'{style.name(value)}'" if style is TEXT else style.code(value)
    if value is None or isinstance(value, (bool, int, float)):
        return _jsonlib.dumps(value)
    return None


def changed_span(old: str, new: str, context: int = 24) -> tuple[str, str]:
    """The part of two long one-line strings that differs, with `context` characters either side and `…` where
    text was left out: ('…, "Sandbox Inc." …', '…, "Evil Corp" …')."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    lo = max(0, start - context)

    def cut(text: str) -> str:
        hi = len(text) - max(0, end - context)
        return ("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else "")

    return cut(old), cut(new)


#: Fields that name or identify something (a flow's, node's, application's or policy's name, a BPMN element's name
#: attribute): one line `'old' -> 'new'` whatever they hold, never a line diff, so a name with a newline in it
#: cannot print lines of its own (issue 15 review). Line diffs are for text that is multi-line by nature.
SINGLE_LINE_FIELDS = frozenset({"name", "nodeTitle", "title", "label", "displayName", "key", "id", "flowId",
                                "alias", "processRef", "sourceRef", "targetRef", "type", "status", "version"})
TAB_SIZE = 4  # a tab in a changed line of code
_ONE_LINE_LIMIT = 120  # a longer name shows its changed span


def field_name(change) -> str:
    """The field a record's path ends at, a DaVinci property's trailing `value` left out: 'name', 'nodeTitle'."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in change.path.split("/")[1:]]
    while len(parts) > 1 and parts[-1] == "value":
        parts.pop()
    return parts[-1] if parts else ""


def single_line(change) -> bool:
    """True for a record of a name or other identity field, shown as one line (SINGLE_LINE_FIELDS)."""
    return field_name(change) in SINGLE_LINE_FIELDS and not isinstance(_unwrap(change.old), (dict, list)) \
        and not isinstance(_unwrap(change.new), (dict, list))


def _one_line(value: Any, style: Style) -> str | None:
    """A name as `'...'` made safe by style.name (newlines escaped, never split); non-strings as short() does."""
    value = _unwrap(value)
    if isinstance(value, str):
        return f"'{style.name(value)}'"
    return short(value, style=style)


def _one_line_values(change, style: Style) -> str:
    a, b = change.old, change.new
    if a is not None and b is not None:
        old, new = _unwrap(a), _unwrap(b)
        if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > _ONE_LINE_LIMIT:
            old, new = changed_span(old, new)
        return f": {_one_line(old, style)} -> {_one_line(new, style)}"
    if b is not None:
        return f": {_one_line(b, style)}"
    if a is not None:
        return f" (was {_one_line(a, style)})"
    return ""


def _masked(value: Any) -> Any:
    """`value` with every secret's fingerprint left out: {"redacted": ...} as {"redacted": None}, «redacted:...»
    markers in strings as «redacted»."""
    if isinstance(value, dict):
        if set(value) == {"redacted"}:
            return {"redacted": None}
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, str) and "«redacted" in value:
        return MARKER.sub("«redacted»", value)
    return value


def secret_only(change) -> bool:
    """True for a changed record whose old and new differ only in secrets (issue 18): whole redacted values, their
    fingerprints, or «redacted:...» markers inside otherwise equal strings. It reads "secret changed"; JSON keeps
    the two fingerprints."""
    a, b = change.old, change.new
    if a is None or b is None or a == b:
        return False
    if change.path.endswith("/redacted") and all(isinstance(v, (str, bool)) for v in (a, b)):
        a, b = {"redacted": a}, {"redacted": b}  # the differ went down to the fingerprint itself
    return _masked(a) == _masked(b)


def text_lines(value: Any) -> list[str] | None:
    """The lines of a multi-line text value (code, HTML, CSS, a script, Slate text), or None."""
    value = _unwrap(value)
    if isinstance(value, str) and "\n" in value.strip("\n"):
        return value.splitlines()  # \r\n too: scripts pasted from Windows
    return None


def hunks(change, context: int = 2) -> list[str]:
    """The changed lines of a multi-line text value, unified-diff style without headers (`-old`, `+new`, ` same`,
    `…` between hunks); [] when the record is no text edit."""
    if (change.old is None and change.new is None) or single_line(change) or secret_only(change):
        return []
    a, b = text_lines(change.old), text_lines(change.new)
    if a is None and b is None:
        return []
    a = a if a is not None else ([] if change.old is None else [str(_unwrap(change.old))])
    b = b if b is not None else ([] if change.new is None else [str(_unwrap(change.new))])
    out: list[str] = []
    for line in list(difflib.unified_diff(a, b, lineterm="", n=context))[2:]:
        # tabs as spaces: an escaped `\t` makes indented JavaScript unreadable (other controls stay escaped)
        out.append("…" if line.startswith("@@") else line[:1] + line[1:].expandtabs(TAB_SIZE))
    return out[1:] if out[:1] == ["…"] else out


def values(change, style: Style = TEXT) -> str:
    """': 'a' -> 'b'', ': 'b'', ' (was 'a')' or '' (multi-line text shows as hunks instead; a name is always one
    line, see SINGLE_LINE_FIELDS)."""
    if single_line(change):
        return _one_line_values(change, style)
    a, b = short(change.old, style=style), short(change.new, style=style)
    if change.old is not None and change.new is not None:
        if a and b:
            return f": {a} -> {b}"
        old, new = _unwrap(change.old), _unwrap(change.new)
        if isinstance(old, str) and isinstance(new, str) and "\n" not in old + new:
            sa, sb = changed_span(old, new)
            return f": {style.code(sa)} -> {style.code(sb)}"
        return ""
    if change.old is None and b:
        return f": {b}"
    if change.new is None and a:
        return f" (was {a})"
    return ""


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
            a, b = _unwrap(c.old), _unwrap(c.new)
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
