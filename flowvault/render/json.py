"""DESIGN.md "Diff records" as JSON."""

from __future__ import annotations

import json


def render_json(result) -> str:
    """{"old", "new", "summary", "changes": [...]}, 2-space indent, trailing newline."""
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
