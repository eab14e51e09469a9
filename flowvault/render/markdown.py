"""A diff as a PR comment: a summary table counting what changed per flow, one collapsible section per flow with a
Mermaid picture of the changed part and the changed lines of long text values, within GitHub's limits whatever the
change size: 65,536 characters per comment (filled to 60,000 at most), 50,000 characters and 500 links per Mermaid
block (mermaid.fits).

Names from the service are untrusted: in Markdown they go through masking.safe_markdown (no link, no markup, no cell
break), in the HTML of a <summary> through entities, in a fenced block through safe_text with a fence longer
than any backtick run inside.
"""

from __future__ import annotations

import re

from flowvault.masking import safe_markdown, safe_text
from flowvault.render.values import MARKDOWN, hunks
from flowvault.render.wording import describe, summary_line

LIMIT = 65_536  # GitHub's limit on a PR comment, in characters
# What a comment is filled to: a clear margin under LIMIT, so that no escaping or closing note can push it over.
BUDGET = 60_000
_MARK = {"added": "➕", "removed": "➖", "changed": "✏️"}
WHOLE_FLOW_NODES = 50  # a bigger flow is drawn as its changed nodes and their neighbours, with a note
NEIGHBOURHOOD = 40  # nodes drawn at most around the changes of a big flow
MAX_HUNK_LINES = 60
_RESERVE = 400  # room for closing tags and the tail
_COLUMNS = (("nodes", ("node", "subflow")), ("edges", ("edge",)), ("variables", ("variable",)),
            ("settings", ("setting",)))


# --- the summary table ------------------------------------------------------------------------------------------


def _counts(changes) -> dict[str, str]:
    """Per column: '+1 −2 ~3' counting distinct nodes (edges, variables, settings), or ''; 'other' counts records."""
    out = {}
    grouped = {name: cats for name, cats in _COLUMNS}
    for name, cats in grouped.items():
        by_target: dict[str, str] = {}
        for c in changes:
            if c.category in cats:
                target = c.path.split("/")[2] if c.category == "edge" and c.path.startswith("/nodes/") else c.target
                if c.category == "edge" and c.path.startswith("/nodes/"):
                    target = c.target
                by_target[target] = c.action if by_target.get(target) in (None, c.action) else "changed"
        out[name] = _cell([by_target[t] for t in by_target])
    known = {cat for cats in grouped.values() for cat in cats}
    out["other"] = _cell([c.action for c in changes if c.category not in known and not
                          (c.category == "flow" and not c.path)])
    return out


def _cell(actions: list[str]) -> str:
    parts = [f"{sign}{actions.count(act)}" for act, sign in (("added", "+"), ("removed", "−"), ("changed", "~"))
             if actions.count(act)]
    return " ".join(parts)


def _kind(pair, changes) -> str:
    if pair is not None:
        return pair.kind
    return "environment" if changes and changes[0].flow is None else "flow"


def _status(changes) -> str:
    """added, removed or changed: a flow's whole-flow record, else (environment) what happened to every item."""
    whole = [c for c in changes if c.category == "flow" and not c.path]
    if whole:
        return whole[0].action
    if changes and changes[0].flow is None:
        from flowvault.diff import item_actions

        acts = set(item_actions(changes).values())
        return acts.pop() if len(acts) == 1 else "changed"
    return "changed"


def _table(groups, pairs, budget: int) -> list[str]:
    lines = ["| flow | source | | nodes | edges | variables | settings | other |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    size = sum(len(x) + 1 for x in lines)
    for i, ((source, flow, kind), changes) in enumerate(groups.items()):
        counts = _counts(changes)
        name = safe_markdown(flow) if flow is not None else "*environment*"
        row = (f"| {name} | {safe_markdown(source or '')} | {kind} {_status(changes)} | {counts['nodes']} | "
               f"{counts['edges']} | {counts['variables']} | {counts['settings']} | {counts['other']} |")
        if size + len(row) + 80 > budget:
            left = len(groups) - i
            lines.append(f"| … {left} more | | | | | | | |")
            break
        lines.append(row)
        size += len(row) + 1
    return lines + [""]


# --- pictures ---------------------------------------------------------------------------------------------------


def _marks(changes) -> tuple[dict[str, str], dict[str, str]]:
    """({node id: added|removed|changed}, {edge id: added|removed}) from a flow's records."""
    marks: dict[str, str] = {}
    edges: dict[str, str] = {}
    for c in changes:
        if c.category in ("node", "subflow") and c.target:
            marks[c.target] = c.action if c.action != "changed" or c.target not in marks else marks[c.target]
        elif c.category == "edge" and c.path.startswith("/nodes/"):
            marks.setdefault(c.path.split("/")[2], "changed")
        elif c.category == "edge" and c.action in ("added", "removed"):
            edges[c.target] = c.action
    return marks, edges


def _draw(graph: dict, marks: dict, edge_marks: dict, draw, total: int) -> tuple[str | None, str]:
    """(chart or None, note): the whole graph when small, else the changed nodes and their neighbours; smaller
    still, or nothing, until the block fits GitHub's limits."""
    from flowvault.render.mermaid import fits, neighbourhood

    centre: set[str] = set(marks)
    for eid in edge_marks:
        edge = (graph.get("edges") or {}).get(eid) or {}
        centre |= {end for end in (edge.get("source"), edge.get("target")) if end is not None}
    if not centre:
        return None, ""
    attempts: list[tuple[set[str] | None, str]] = [(None, "")] if total <= WHOLE_FLOW_NODES else []
    for limit in (NEIGHBOURHOOD, 15):
        near = neighbourhood(graph, centre, limit=limit)
        attempts.append((near, f"_Drawn: the changed nodes and their neighbours, {len(near)} of {total} nodes._"))
    attempts.append((centre, f"_Drawn: only the {len(centre)} changed nodes of {total}._"))
    for only, note in attempts:
        chart = draw(only)
        if fits(chart):
            return chart, note
    return None, f"_The picture of the {len(centre)} changed nodes is over GitHub's Mermaid limits; not drawn._"


def _flow_picture(pair, changes) -> tuple[str | None, str]:
    from flowvault.render.mermaid import flowchart

    if pair.new is None or pair.old is None:
        return None, ""
    new, old = pair.new.doc.flow, pair.old.doc.flow
    marks, edge_marks = _marks(changes)
    removed = {k: v for k, v in (old.get("nodes") or {}).items() if marks.get(k) == "removed"}
    removed_edges = {k: v for k, v in (old.get("edges") or {}).items() if isinstance(v, dict) and (
        edge_marks.get(k) == "removed" or v.get("source") in removed or v.get("target") in removed)}
    merged = {**new, "nodes": {**removed, **(new.get("nodes") or {})},
              "edges": {**removed_edges, **(new.get("edges") or {})}}
    for eid in removed_edges:
        edge_marks.setdefault(eid, "removed")

    def draw(only):
        return flowchart(new, marks=marks, only=only, extra_nodes=removed, extra_edges=removed_edges,
                         edge_marks=edge_marks)

    return _draw(merged, marks, edge_marks, draw, len(merged["nodes"]))


def _workflow_picture(pair, changes) -> tuple[str | None, str]:
    from flowvault.normalize import bpmn  # lazy: lxml
    from flowvault.render.mermaid import workflow_chart

    if pair.new is None or pair.old is None:
        return None, ""
    try:
        new, old = bpmn.elements(pair.new.bpmn), bpmn.elements(pair.old.bpmn)
    except Exception:  # noqa: BLE001 - a picture is a courtesy: an unreadable side gets the list alone
        return None, ""
    marks, edge_marks = _marks(changes)
    elements = {**{k: v for k, v in old["elements"].items() if marks.get(k) == "removed"}, **new["elements"]}
    flows = {**{k: v for k, v in old["flows"].items() if edge_marks.get(k) == "removed"}, **new["flows"]}
    merged = {**new, "elements": elements, "flows": flows}
    graph = {"edges": {k: {"source": v.get("sourceRef"), "target": v.get("targetRef")} for k, v in flows.items()}}

    def draw(only):
        return workflow_chart(merged, marks=marks, only=only, edge_marks=edge_marks)

    return _draw(graph, marks, edge_marks, draw, len(elements))


def _picture(pair, changes) -> tuple[str | None, str]:
    if pair is None:
        return None, ""
    if pair.kind == "flow":
        return _flow_picture(pair, changes)
    if pair.kind == "workflow":
        return _workflow_picture(pair, changes)
    return None, ""


# --- the comment ------------------------------------------------------------------------------------------------


# entities for HTML, for what could become a link or emphasis, and for GitHub's @mentions and #123 references
_HTML_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;",
                                "[": "&#91;", "]": "&#93;", "(": "&#40;", ")": "&#41;", ":": "&#58;", "`": "&#96;",
                                "*": "&#42;", "_": "&#95;", "|": "&#124;", "@": "&#64;", "#": "&#35;"})


def _html(text) -> str:
    """Text safe in the HTML of a <summary>: one line, entities for HTML and for what could become a link."""
    return safe_text(text).translate(_HTML_ENTITIES)


def _fence(lines: list[str]) -> str:
    longest = max((len(m) for line in lines for m in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _item(change) -> str:
    text = f"- {_MARK[change.action]} {describe(change, MARKDOWN)}\n"
    body = hunks(change)
    if not body:
        return text
    shown = [safe_text(line) for line in body[:MAX_HUNK_LINES]]
    if len(body) > MAX_HUNK_LINES:
        shown.append(f"… {len(body) - MAX_HUNK_LINES} more lines")
    fence = _fence(shown)
    block = "\n".join("  " + line for line in shown)
    return (f"{text}  <details><summary>changed lines</summary>\n\n  {fence}diff\n{block}\n  {fence}\n\n"
            "  </details>\n")


def render_markdown(result, limit: int = BUDGET) -> str:
    """The PR comment; never longer than `limit` characters (BUDGET, under GitHub's LIMIT), every Mermaid block
    within GitHub's limits."""
    sides = [safe_text(side).replace("`", "") for side in (result.old or "old", result.new or "new")]
    head = [f"### flowvault diff `{sides[0]}` → `{sides[1]}`", "", f"**{summary_line(result)}**", ""]
    pairs = {(p.source, p.name, p.kind): p for p in result.pairs}
    groups: dict[tuple, list] = {}
    for c in result.changes:
        kind = "environment" if c.flow is None else "flow"
        if kind == "flow" and (c.source, c.flow, "workflow") in pairs:
            kind = "workflow"
        groups.setdefault((c.source, c.flow, kind), []).append(c)
    if groups:
        head += _table(groups, pairs, limit // 4)
    out = "\n".join(head) + "\n"
    total, shown = len(result.changes), 0
    pictures_budget = limit // 2  # pictures never crowd out the list

    truncated = False
    for (source, flow, kind), changes in groups.items():
        name = _html(flow) if flow is not None else "environment"
        where = f" ({_html(source)})" if source else ""
        opening = (f"<details><summary><b>{name}</b>{where}: {len(changes)} change{'s' if len(changes) != 1 else ''}"
                   f"</summary>\n\n")
        picture, note = _picture(pairs.get((source, flow, kind)), changes)
        if picture and len(out) + len(opening) + len(picture) + _RESERVE < pictures_budget:
            opening += "```mermaid\n" + picture + "```\n\n" + (note + "\n\n" if note else "")
        if len(out) + len(opening) + _RESERVE > limit:
            break
        out += opening
        for c in changes:
            line = _item(c)
            if len(out) + len(line) + _RESERVE > limit:
                truncated = True
                break
            out += line
            shown += 1
        out += "\n</details>\n\n"
        if truncated:
            break
    if shown < total:
        left = total - shown
        out += (f"\n**… {left} more change{'s' if left != 1 else ''} not shown** (this comment is kept under "
                f"{limit:,} characters; run `flowvault diff` locally for the full list).\n")
    return out[:limit]
