"""A diff as a PR comment: summary table, one collapsible section per flow with a Mermaid picture of the
changed part, and a hard limit of 65,536 characters (GitHub's comment limit) with a clear tail."""

from __future__ import annotations

from flowvault.render import describe, summary_line

LIMIT = 65_536
_MARK = {"added": "➕", "removed": "➖", "changed": "✏️"}
_MERMAID_MAX = 12_000  # a picture larger than this says less than the list below it


def _md(text: str) -> str:
    """Text safe in a Markdown list item or table cell (no HTML, no table breaks)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _marks(changes) -> dict[str, str]:
    marks: dict[str, str] = {}
    for c in changes:
        if c.category in ("node", "subflow") and c.target:
            marks[c.target] = c.action if c.action != "changed" or c.target not in marks else marks[c.target]
        elif c.category == "edge" and c.path.startswith("/nodes/"):
            marks.setdefault(c.path.split("/")[2], "changed")
    return marks


def _picture(pair, changes) -> str | None:
    from flowvault.render.mermaid import flowchart, neighbourhood

    if pair.kind != "flow" or pair.new is None or pair.old is None:
        return None
    new, old = pair.new.doc.flow, pair.old.doc.flow
    marks = _marks(changes)
    edge_ends = set()
    for c in changes:
        edge = c.new if c.action == "added" else c.old
        if c.category == "edge" and c.path.startswith("/edges/") and isinstance(edge, dict):
            edge_ends |= {edge.get("source"), edge.get("target")}
    if not marks and not edge_ends:
        return None
    removed = {k: v for k, v in (old.get("nodes") or {}).items() if marks.get(k) == "removed"}
    removed_edges = {k: v for k, v in (old.get("edges") or {}).items()
                     if isinstance(v, dict) and (v.get("source") in removed or v.get("target") in removed)}
    merged = {**new, "nodes": {**removed, **(new.get("nodes") or {})},
              "edges": {**removed_edges, **(new.get("edges") or {})}}
    only = neighbourhood(merged, set(marks) | (edge_ends - {None}))
    chart = flowchart(new, marks=marks, only=only, extra_nodes=removed, extra_edges=removed_edges)
    return chart if len(chart) <= _MERMAID_MAX else None


def render_markdown(result, limit: int = LIMIT) -> str:
    """The PR comment; never longer than `limit` characters."""
    head = [f"### flowvault diff `{_md(result.old or 'old')}` → `{_md(result.new or 'new')}`", "",
            f"**{summary_line(result)}**", ""]
    by_flow: dict[tuple, list] = {}
    for c in result.changes:
        by_flow.setdefault((c.source, c.flow), []).append(c)
    if by_flow:
        head += ["| flow | source | added | removed | changed |", "|---|---|---:|---:|---:|"]
        for (source, flow), changes in by_flow.items():
            counts = {a: sum(1 for c in changes if c.action == a) for a in ("added", "removed", "changed")}
            head.append(f"| {_md(flow)} | {_md(source or '')} | {counts['added']} | {counts['removed']} | "
                        f"{counts['changed']} |")
        head.append("")
    pairs = {(p.source, p.name): p for p in result.pairs}
    out = "\n".join(head) + "\n"
    total, shown = len(result.changes), 0
    reserve = 300  # room for closing tags and the tail

    def tail(left: int) -> str:
        return (f"\n**… {left} more change{'s' if left != 1 else ''} not shown** (the comment limit is {limit:,} "
                "characters; run `flowvault diff` locally for the full list).\n")

    truncated = False
    for (source, flow), changes in by_flow.items():
        section = [f"<details><summary><b>{_md(flow)}</b>{f' ({_md(source)})' if source else ''}: "
                   f"{len(changes)} change{'s' if len(changes) != 1 else ''}</summary>", ""]
        pair = pairs.get((source, flow))
        picture = _picture(pair, changes) if pair is not None else None
        opening = "\n".join(section) + "\n"
        if picture and len(out) + len(opening) + len(picture) + 20 + reserve < limit // 2:
            opening += "```mermaid\n" + picture + "```\n\n"
        if len(out) + len(opening) + reserve > limit:
            break
        out += opening
        for c in changes:
            line = f"- {_MARK[c.action]} {_md(describe(c))}\n"
            if len(out) + len(line) + reserve > limit:
                truncated = True
                break
            out += line
            shown += 1
        out += "\n</details>\n\n"
        if truncated:
            break
    if shown < total:
        out += tail(total - shown)
    return out[:limit]
