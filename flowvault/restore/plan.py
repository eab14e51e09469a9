"""What a restore will write: the flow and the subflows it calls, matched in the target, with their references.

Every flow of the plan (the subflows it calls, transitively, from the same snapshot; then the flow itself) is matched
in the target by id, else by name: a match is updated in place (replaced), anything else is created (imported).
Subflow references (`subFlowId.value.value`) point at the subflow's own target id when it is in the plan, else at
the target flow of that id or name. A reference found nowhere is *dangling*: fatal only when a configured, enabled
node calls it (an unconfigured or disabled node never runs it). Nothing here talks to the target: it reads the
listing it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowvault.errors import ExitStatus, FlowvaultError, UsageError

NEW_ID = "(new id)"  # the target id of a flow a dry run would import
LATEST = (-1, "-1", None, "")  # a subflow call or policy distribution without a version pin: the deployed version


class UnresolvedPlan(FlowvaultError):
    """A dry run found what the real restore could not do as planned (an unmatched connector instance)."""

    exit_status = ExitStatus.FAILED


@dataclass
class Remap:
    """One subflow reference of a node, and where it points in the target."""

    node: str
    subflow: str  # the subflow's name (from the snapshot or the target), else the node's cached label
    old_id: str
    new_id: str | None  # None: dangling
    via: str  # "plan" (restored with it), "target" (already there) or "dangling"
    pin: Any = None  # the subflow version the node pins in the vault (None: no pin, the deployed version runs)
    new_pin: Any = None  # the version it pins in the target

    def to_dict(self) -> dict:
        out = {"node": self.node, "subflow": self.subflow, "from": self.old_id, "to": self.new_id, "via": self.via}
        if self.pin is not None:
            out.update(pin=self.pin, new_pin=self.new_pin)
        return out


@dataclass
class Step:
    """What restore does (or would do) with one flow of the plan."""

    name: str
    kind: str  # "subflow" | "flow"
    vault_id: str
    action: str  # "create" (import) | "update" (replace in place) | "unchanged"
    target_id: str | None = None
    version_before: int | None = None
    version_after: int | None = None
    deployed_version: int | None = None  # the target's deployed version before the restore
    deployed: bool = False  # deployed by this restore (or would be, in a dry run)
    deployed_after: int | None = None
    remaps: list[Remap] = field(default_factory=list)
    secrets: list[dict] = field(default_factory=list)  # {"path", "outcome"[, "markers", "missing": key to set]}
    findings: list[dict] = field(default_factory=list)  # what the target's validate found

    def in_target(self) -> str:
        """The flow's id in the target, for a step whose flow is there (matched, or written by now)."""
        if not self.target_id or self.target_id == NEW_ID:
            raise FlowvaultError(f"internal error: {self.kind} {self.name!r} has no id in the target yet")
        return self.target_id

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "action": self.action, "id": self.target_id,
                "vault_id": self.vault_id, "version_before": self.version_before,
                "version_after": self.version_after, "deployed_version": self.deployed_version,
                "deploy": self.deployed, "deployed_after": self.deployed_after,
                "remaps": [r.to_dict() for r in self.remaps], "secrets": self.secrets, "findings": self.findings}


@dataclass
class Dangling:
    """A subflow call to a flow that is in neither the vault's snapshot nor the target."""

    flow: str
    node: str
    subflow: str
    subflow_id: str
    fatal: bool  # the node runs (configured and enabled), so the flow would fail when it gets there
    in_source: bool = True  # False: the environment it was saved from lacks that subflow too (already broken there)


@dataclass
class Plan:
    """The flows to write, callees first, and where each one's subflow references point in the target."""

    steps: list[tuple[Any, Step]]  # (vault FlowEntry, its step)
    ids: dict[str, str]  # plan slug -> target id: the matched flow's, then the one written
    refs: dict[str, dict[str, str]]  # plan slug -> {subflow id in the vault: plan slug or "=<target id>"}
    dangling: list[Dangling]
    connectors: list = field(default_factory=list)  # restore.connectors.ConnectorStep
    variables: list = field(default_factory=list)  # restore.variables.VariableStep
    policies: list = field(default_factory=list)  # restore.policies.PolicyStep

    def flow_steps(self) -> list[Step]:
        return [s for _, s in self.steps]

    def steps_in_order(self) -> list:
        """Every step, in the order they are applied: connectors, variables, subflows, the flow, policies."""
        return [*self.connectors, *self.variables, *self.flow_steps(), *self.policies]

    def target_ids(self, entry) -> dict[str, str]:
        """{subflow id in the vault: target id} for the references of `entry` whose target id is known by now."""
        mapping = {old: (dest[1:] if dest.startswith("=") else self.ids.get(dest, NEW_ID))
                   for old, dest in self.refs[entry.slug].items()}
        return {k: v for k, v in mapping.items() if v != NEW_ID}

    def settle_remaps(self) -> None:
        """Guarantees that each reference to a flow of the plan shows the id it was written under."""
        for e, step in self.steps:
            for remap in step.remaps:
                if remap.via == "plan":
                    remap.new_id = self.ids.get(self.refs[e.slug][remap.old_id], NEW_ID)


def select_flow(snapshot, wanted: str, source: str | None = None):
    """The one FlowEntry of `snapshot` that `wanted` names (name, folder or id, ignoring case when that is unique,
    as `show` finds flows; `source/flow` or `source` narrow the vault source it was saved from); UsageError with the
    closest names when none does."""
    from flowvault.vault.snapshot import FlowEntry, did_you_mean, find_entries, suggest_names

    flows = [e for e in snapshot.flows if isinstance(e, FlowEntry)]
    if source is not None:
        sources = sorted({str(e.source) for e in flows})
        if source not in sources:
            raise UsageError(f"--from {source!r}: the vault at {snapshot.label} holds no flows of that source; "
                             f"sources with flows: {', '.join(sources) or 'none'}")
        flows = [e for e in flows if e.source == source]
    found = find_entries(flows, wanted)
    if not found:
        if find_entries(list(snapshot.workflows), wanted):
            raise UsageError(f"{wanted!r} is a PingIDM workflow; restore puts back DaVinci flows only")
        hint = did_you_mean(suggest_names([e.name for e in flows], wanted)) or "; give a flow's name, folder or id"
        raise UsageError(f"no flow {wanted!r} in the vault at {snapshot.label}{hint}")
    if len(found) > 1:
        names = sorted({e.name for e in found})
        if len(names) > 1:  # names that differ only in case: the user meant one of them
            raise UsageError(f"{wanted!r} names {len(found)} flows at {snapshot.label}{did_you_mean(names)}")
        choices = ", ".join(sorted(f"{e.source}/{e.slug}" for e in found))
        sources = sorted({str(e.source) for e in found})
        hint = f"; pick the source with --from ({', '.join(sources)})" if len(sources) > 1 else ""
        raise UsageError(f"{wanted!r} names {len(found)} flows at {snapshot.label}; pick one of: {choices}{hint}")
    return found[0]


def collect(entry, snapshot) -> list:
    """The flow and the subflows it calls, transitively, from the same source of `snapshot`, callees first."""
    same = [e for e in snapshot.flows if e.source == entry.source]
    order: list = []
    seen: set[str] = set()

    def visit(e) -> None:
        seen.add(e.slug)
        for _nid, sub_id, label, _node in _node_refs(e):
            sub = _resolve(same, sub_id, label)
            if sub is not None and sub.slug not in seen:
                visit(sub)
        order.append(e)

    visit(entry)
    return order


def build_plan(entry, snapshot, listed: list[dict]) -> Plan:
    """The Plan that restores `entry` of `snapshot` into a target whose flows are `listed` (Target.flows())."""
    flows = collect(entry, snapshot)
    matches = {e.slug: _match(e, listed) for e in flows}
    plan = Plan(steps=[], ids={e.slug: m["id"] for e in flows if (m := matches[e.slug])}, refs={}, dangling=[])
    for e in flows:
        m = matches[e.slug]
        step = Step(name=e.name, kind="flow" if e is entry else "subflow", vault_id=e.id,
                    action="update" if m else "create", target_id=m["id"] if m else None,
                    version_before=m.get("currentVersion") if m else None,
                    deployed_version=m.get("publishedVersion") if m else None)
        mine = plan.refs.setdefault(e.slug, {})
        for nid, sub_id, label, node in _node_refs(e):
            sub = _resolve(flows, sub_id, label)
            pin = _pin(node)
            if sub is not None:
                mine[sub_id] = sub.slug
                step.remaps.append(Remap(nid, sub.name, sub_id, plan.ids.get(sub.slug, NEW_ID), "plan", pin))
                continue
            hit = next((f for f in listed if f["id"] == sub_id), None) or _unique(
                [f for f in listed if label and str(f.get("name") or "").strip() == label.strip()])
            if hit is not None:
                mine[sub_id] = "=" + hit["id"]
                new_pin = None if pin is None else (hit.get("publishedVersion") or hit.get("currentVersion"))
                step.remaps.append(Remap(nid, str(hit.get("name") or label), sub_id, hit["id"], "target", pin,
                                         new_pin))
            else:
                step.remaps.append(Remap(nid, label or sub_id, sub_id, None, "dangling", pin, pin))
                plan.dangling.append(Dangling(e.name, nid, label or "", sub_id, fatal=_calls(node)))
        plan.steps.append((e, step))
    return plan


def dangling_error(dangling: list[Dangling], ref: str, to: str) -> str | None:
    """The message that stops a restore with a fatal dangling reference, or None when there is none."""
    fatal = [d for d in dangling if d.fatal]
    if not fatal:
        return None
    d = fatal[0]
    return (f"{d.flow!r} calls subflow {d.subflow or d.subflow_id!r} ({d.subflow_id}) through node {d.node}, but "
            f"it is neither in the vault at {ref} nor in {to}; restore that subflow first"
            + (f" ({len(fatal) - 1} more)" if len(fatal) > 1 else ""))


def _match(entry, flows: list[dict]) -> dict | None:
    """The target flow that is `entry`: same id, else the one flow of the same name (UsageError if several)."""
    for f in flows:
        if entry.id and f["id"] == entry.id:
            return f
    same = [f for f in flows if str(f.get("name") or "").strip() == entry.name.strip()]
    if len(same) > 1:
        ids = ", ".join(sorted(f["id"] for f in same))
        raise UsageError(f"the target has {len(same)} flows named {entry.name!r} ({ids}); rename or delete one")
    return same[0] if same else None


def _node_refs(entry) -> list[tuple[str, str, str | None, dict]]:
    """[(node id, subflow id, cached label, node)] of every node that calls a subflow."""
    nodes_meta = (entry.doc.meta or {}).get("nodes", {})
    out: list[tuple[str, str, str | None, dict]] = []
    for nid, node in sorted((entry.doc.flow.get("nodes") or {}).items()):
        sub_id = (nodes_meta.get(nid) or {}).get("subFlowId")
        prop = ((node.get("properties") or {}).get("subFlowId") or {}).get("value")
        label = prop.get("label") if isinstance(prop, dict) and isinstance(prop.get("label"), str) else None
        if isinstance(sub_id, str) and sub_id:
            out.append((nid, sub_id, label, node))
    return out


def _pin(node: dict):
    """The subflow version a calling node pins (None when it runs the deployed version: -1, "-1" or no value)."""
    prop = (node.get("properties") or {}).get("subFlowVersionId")
    value = prop.get("value") if isinstance(prop, dict) else None
    return None if value in LATEST else value


def _calls(node: dict) -> bool:
    """Whether the node runs when the flow does: configured and not switched off in the designer."""
    return node.get("status", "configured") == "configured" and not node.get("isDisabled")


def _resolve(same: list, sub_id: str, label: str | None):
    """The entry of `same` that a node calling (sub_id, label) means: by id, else the one of that name (or None)."""
    by_id = [s for s in same if s.id == sub_id]
    return _unique(by_id) or _unique([s for s in same if label and s.name.strip() == label.strip()])


def _unique(items: list):
    """The only item of `items`, or None when there are none or several."""
    return items[0] if len(items) == 1 else None
