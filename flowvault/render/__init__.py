"""Change records -> text, Markdown, JSON or Mermaid. This module only dispatches; the words every renderer uses
live in wording.py and values.py, which no renderer reaches through here (no import cycle)."""

from __future__ import annotations

from flowvault.render.values import short
from flowvault.render.wording import count_summary, describe, split_label, subject, summary_line

RENDERERS = ("text", "markdown", "json")

__all__ = ["RENDERERS", "count_summary", "describe", "render", "short", "split_label", "subject", "summary_line"]


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
