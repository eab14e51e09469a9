"""Helpers for the diff tests: fixture exports as canonical flows, and edits a designer would make."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from flowvault.normalize import davinci
from flowvault.vault.snapshot import FlowDoc

DAVINCI = Path(__file__).resolve().parents[1] / "fixtures" / "davinci"


def raw(name: str) -> dict:
    return json.loads((DAVINCI / name).read_text(encoding="utf-8"))


def flows_of(doc: dict) -> list[FlowDoc]:
    return [FlowDoc(f.flow, f.layout, f.meta) for f in davinci.split_export(copy.deepcopy(doc)).flows]


def one_flow(doc: dict) -> FlowDoc:
    (flow,) = flows_of(doc)
    return flow


def raw_flows(doc: dict) -> list[dict]:
    """The flow objects inside an export document (legacy single or multi)."""
    if "flows" in doc:
        return doc["flows"]
    return [doc]


def rows(changes) -> list[tuple]:
    return [(c.category, c.action, c.target, c.path) for c in changes]


def summary(**counts) -> dict:
    """A diff summary: every count 0 but those given (flows_*, workflows_*, environment_*, changes)."""
    keys = [f"{kind}_{act}" for kind in ("flows", "workflows", "environment")
            for act in ("added", "removed", "changed")]
    return {**dict.fromkeys(keys, 0), "changes": 0, **counts}
