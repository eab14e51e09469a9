"""Human-readable diff for a terminal: a summary line, then one line per change; colour only when asked."""

from __future__ import annotations

from flowvault.render import describe, summary_line

_STYLE = {"added": "green", "removed": "red", "changed": "yellow"}
_MARK = {"added": "+", "removed": "-", "changed": "~"}


def lines(result) -> list[tuple[str, str | None]]:
    """(line, style) pairs: "PingOne Sign On: node 'Check password' (PingOne SSO / checkPassword): ..."."""
    several_sources = len({c.source for c in result.changes}) > 1
    out: list[tuple[str, str | None]] = [(summary_line(result), "bold")]
    for c in result.changes:
        where = f"{c.source}/" if several_sources and c.source else ""
        out.append((f"{_MARK[c.action]} {where}{c.flow}: {describe(c)}", _STYLE[c.action]))
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
