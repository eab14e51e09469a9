"""How a changed value reads in a review: the Style of an output format (how untrusted text is made safe), Slate
rich text as its text, the changed span of a long line, one-line names, "secret changed", and the changed lines of
a long text value. flowvault.render.wording makes the sentences from these.
"""

from __future__ import annotations

import difflib
import json as _jsonlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowvault.masking import safe_markdown, safe_text
from flowvault.normalize.secret_shapes import MARKER


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


def unwrap(value: Any) -> Any:
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
    value = unwrap(value)
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
    return field_name(change) in SINGLE_LINE_FIELDS and not isinstance(unwrap(change.old), (dict, list)) \
        and not isinstance(unwrap(change.new), (dict, list))


def _one_line(value: Any, style: Style) -> str | None:
    """A name as `'...'` made safe by style.name (newlines escaped, never split); non-strings as short() does."""
    value = unwrap(value)
    if isinstance(value, str):
        return f"'{style.name(value)}'"
    return short(value, style=style)


def _one_line_values(change, style: Style) -> str:
    a, b = change.old, change.new
    if a is not None and b is not None:
        old, new = unwrap(a), unwrap(b)
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
    value = unwrap(value)
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
    a = a if a is not None else ([] if change.old is None else [str(unwrap(change.old))])
    b = b if b is not None else ([] if change.new is None else [str(unwrap(change.new))])
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
        old, new = unwrap(change.old), unwrap(change.new)
        if isinstance(old, str) and isinstance(new, str) and "\n" not in old + new:
            sa, sb = changed_span(old, new)
            return f": {style.code(sa)} -> {style.code(sb)}"
        return ""
    if change.old is None and b:
        return f": {b}"
    if change.new is None and a:
        return f" (was {a})"
    return ""
