"""DESIGN.md "Diff records" as JSON."""

from __future__ import annotations

import json

from flowvault.masking import safe_text


def render_json(result) -> str:
    """{"old", "new", "summary", "changes": [...]}, 2-space indent, trailing newline; bidi marks and C1 controls in
    names are written as \\u escapes (JSON escapes C0 controls itself), so no terminal shows them raw."""
    text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    return "\n".join(safe_text(line) for line in text.split("\n")) + "\n"
