"""Canonical snapshots -> a list of Change records, flow by flow. No I/O, no printing.

`diff_snapshots` matches the flows and workflows of two snapshots and hands each pair to its differ:
flow.py (DaVinci), workflow.py (PingIDM BPMN); environment.py reads variables.json and applications.json.
records.py holds the Change record, labels.py the names a reviewer reads, paths.py the JSON pointers and the one
lazy import of deepdiff (see its docstring on speed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flowvault.diff.environment import diff_environment, item_actions
from flowvault.diff.flow import diff_flows, flow_name
from flowvault.diff.labels import (
    bpmn_title,
    connector_display,
    is_subflow_call,
    node_kind,
    node_label,
    node_title,
    subflow_name,
)
from flowvault.diff.paths import pointer
from flowvault.diff.records import (
    ACTIONS,
    CATEGORIES,
    LEVELS,
    NOISE_CATEGORIES,
    Change,
    DiffResult,
    FlowPair,
    check_level,
)
from flowvault.diff.workflow import diff_workflows
from flowvault.errors import UsageError

__all__ = [
    "ACTIONS", "CATEGORIES", "LEVELS", "NOISE_CATEGORIES", "Change", "DiffResult", "FlowPair", "bpmn_title",
    "check_level", "connector_display", "diff_environment", "diff_flows", "diff_snapshots", "diff_workflows",
    "flow_name", "is_subflow_call", "item_actions", "node_kind", "node_label", "node_title", "pointer", "subflow_name",
]


def diff_snapshots(old, new, *, level: str = "config", flows: Iterable[str] | None = None) -> DiffResult:
    """Return the records between two snapshots: flows matched by (source, id), then by name, each pair diffed;
    `flows` keeps only the named ones (UsageError when none matches)."""
    check_level(level)
    wanted = [w for w in (flows or []) if w]
    pairs = _match(old.flows, new.flows, "flow") + _match(old.workflows, new.workflows, "workflow")
    if wanted:
        pairs = [p for p in pairs if any(_entry_matches(e, w) for w in wanted for e in (p[1], p[2]) if e)]
        if not pairs:
            raise UsageError(f"no flow named {', '.join(map(repr, wanted))} in either snapshot; "
                             "give a flow's name, folder name or id")
    changes: list[Change] = []
    kept = []
    summary = {f"{kind}_{act}": 0 for kind in ("flows", "workflows", "environment") for act in ACTIONS}
    summary["changes"] = 0
    for kind, a, b in pairs:
        source = (b or a).source
        if kind == "flow":
            records = diff_flows(a.doc if a else None, b.doc if b else None, level=level, source=source)
        else:
            records = diff_workflows(a if a else None, b if b else None, level=level, source=source)
        if level == "config":
            records = [c for c in records if c.category not in NOISE_CATEGORIES]
        if not records:
            continue
        summary[f"{kind}s_{'added' if a is None else 'removed' if b is None else 'changed'}"] += 1
        changes += records
        kept.append(FlowPair(source, records[0].flow, kind, a, b))
    if not wanted:  # `--flow` asks about flows; the environment is no flow's
        names = {e.id: e.name for snap in (old, new) for e in getattr(snap, "flows", []) if e.id}
        envs_a, envs_b = getattr(old, "environments", {}) or {}, getattr(new, "environments", {}) or {}
        for source in sorted(set(envs_a) | set(envs_b), key=str):
            records = diff_environment(envs_a.get(source), envs_b.get(source), source=source, level=level,
                                       flow_names=names)
            if records:
                _count_items(summary, records)
                changes += records
                kept.append(FlowPair(source, None, "environment", envs_a.get(source), envs_b.get(source)))
    summary["changes"] = len(changes)
    return DiffResult(summary, changes, getattr(old, "label", ""), getattr(new, "label", ""), tuple(kept))


def _count_items(summary: dict, records: list[Change]) -> None:
    """Count environment items (a variable, an application, a policy) by what happened to them as a whole."""
    for act in item_actions(records).values():
        summary[f"environment_{act}"] += 1


def _ident(entry) -> str:
    return str(getattr(entry, "id", None) or getattr(entry, "key", ""))


def _entry_name(entry) -> str:
    return str(getattr(entry, "name", "") or "")


def _entry_matches(entry, wanted: str) -> bool:
    return wanted in (_ident(entry), _entry_name(entry), getattr(entry, "slug", None), getattr(entry, "key", None))


def _match(old: list, new: list, kind: str) -> list[tuple]:
    """Return pairs (kind, old, new): same source and id first, then same source and name, then a lone pair."""
    pairs, left_old, left_new = [], list(old), list(new)
    for keyfunc in (_ident, _entry_name):
        index: dict[tuple[Any, str], Any] = {}
        for entry in left_new:
            index.setdefault((entry.source, keyfunc(entry)), entry)
        still_old = []
        for entry in left_old:
            match = index.pop((entry.source, keyfunc(entry)), None)
            if match is not None and keyfunc(entry):
                pairs.append((kind, entry, match))
                left_new.remove(match)
            else:
                still_old.append(entry)
        left_old = still_old
    # two exports of one flow from different environments: different ids, maybe a new name
    if len(old) == 1 and len(new) == 1 and len(left_old) == 1 and len(left_new) == 1:
        pairs.append((kind, left_old.pop(), left_new.pop()))
    pairs += [(kind, entry, None) for entry in left_old] + [(kind, None, entry) for entry in left_new]
    return sorted(pairs, key=lambda p: (str((p[2] or p[1]).source or ""), _entry_name(p[2] or p[1]).lower(),
                                        _ident(p[2] or p[1])))
