"""Human-readable diff for a terminal: a summary line, then one line per change, the changed lines of a text
value indented under it; colour only when asked. Every line is made safe (flowvault.masking.safe_text), so a name
from the service can neither start a line of its own nor reorder one."""

from __future__ import annotations

from flowvault.masking import safe_text
from flowvault.render.values import TEXT, hunks
from flowvault.render.wording import describe, summary_line, where

_STYLE = {"added": "green", "removed": "red", "changed": "yellow"}
_MARK = {"added": "+", "removed": "-", "changed": "~"}
_HUNK_STYLE = {"+": "green", "-": "red"}
MAX_HUNK_LINES = 40  # per record; the rest is one "… N more lines" line


def lines(result) -> list[tuple[str, str | None]]:
    """(line, style) pairs: "PingOne Sign On: node 'Check password' (PingOne SSO / checkPassword): ..."."""
    several_sources = len({c.source for c in result.changes}) > 1
    out: list[tuple[str, str | None]] = [(summary_line(result), "bold")]
    for c in result.changes:
        source = f"{safe_text(c.source)}/" if several_sources and c.source and c.flow is not None else ""
        out.append((safe_text(f"{_MARK[c.action]} {source}{where(c, TEXT)}: {describe(c, TEXT)}"),
                    _STYLE[c.action]))
        body = hunks(c)
        for line in body[:MAX_HUNK_LINES]:
            out.append(("    " + safe_text(line), _HUNK_STYLE.get(line[:1])))
        if len(body) > MAX_HUNK_LINES:
            out.append((f"    … {len(body) - MAX_HUNK_LINES} more lines (--format json has the whole value)", None))
    return out


def render_text(result, *, color: bool = False) -> str:
    """Plain text, or ANSI-coloured text when `color` (the caller decides: a terminal and no NO_COLOR)."""
    pairs = lines(result)
    if not color:
        return "\n".join(line for line, _ in pairs) + "\n"
    import io

    from rich.console import Console
    from rich.text import Text

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="standard", width=10_000, highlight=False,
                      soft_wrap=True)
    for line, style in pairs:
        console.print(Text(line, style=style or ""))
    return buf.getvalue()
