"""The records a diff returns (DESIGN.md "Diff records") and the vocabulary they use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowvault.errors import UsageError

CATEGORIES = ("flow", "node", "edge", "variable", "setting", "schema", "trigger", "subflow", "policy", "application",
              "layout", "metadata")
ACTIONS = ("added", "removed", "changed")
LEVELS = ("config", "all")
#: Categories `--level config` leaves out.
NOISE_CATEGORIES = frozenset({"layout", "metadata"})


@dataclass(frozen=True)
class Change:
    """One meaningful change: DESIGN.md "Diff records". `flow` is None for an environment-wide record; `kind` is
    "flow" (DaVinci) or "workflow" (PingIDM BPMN)."""

    source: str | None
    flow: str | None
    category: str
    action: str
    target: str
    label: str
    path: str
    old: Any = None
    new: Any = None
    #: what the record belongs to, for the words a reviewer reads ("workflow `name` changed"); not in the JSON
    kind: str = field(default="flow", compare=False, repr=False)

    def to_dict(self) -> dict:
        """Return the record as JSON-ready dict, keys in DESIGN.md's order."""
        return {
            "source": self.source, "flow": self.flow, "category": self.category, "action": self.action,
            "target": self.target, "label": self.label, "path": self.path, "old": self.old, "new": self.new,
        }


@dataclass(frozen=True)
class FlowPair:
    """The two sides of one matched flow or workflow (either may be None), kept for renderers that draw it."""

    source: str | None
    name: str | None
    kind: str  # "flow" (DaVinci), "workflow" (BPMN) or "environment" (variables.json, applications.json)
    old: Any
    new: Any


@dataclass(frozen=True)
class DiffResult:
    """What `diff_snapshots` returns: the summary and the records; `pairs` are the flows that changed."""

    summary: dict
    changes: list
    old: str = ""
    new: str = ""
    pairs: tuple = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict:
        """Return the JSON output of `flowvault diff --format json` (pairs are left out)."""
        return {"old": self.old, "new": self.new, "summary": dict(self.summary),
                "changes": [c.to_dict() for c in self.changes]}


def action(old: Any, new: Any) -> str:
    """Return "added" when there is no old value, "removed" when there is no new one, else "changed"."""
    return "added" if old is None else "removed" if new is None else "changed"


def check_level(level: str) -> None:
    """Return None for a known `--level`; raise UsageError listing the valid ones otherwise."""
    if level not in LEVELS:
        raise UsageError(f"unknown diff level {level!r}; use one of: {', '.join(LEVELS)}")
