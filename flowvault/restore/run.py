"""Put a saved version of a DaVinci flow, with its subflows, into an environment: the same one or another
(promotion), as a plan first (issues 6 and 17, DESIGN.md "Restore is a plan").

The plan (restore.plan, .connectors, .variables, .policies) matches in the target, by name: the flow and the
subflows it calls (replaced in place when found, imported otherwise), the connector instance of every node
(connector id + instance name), the variables of the flows (context + name), and the flow policies that run the
flow (with their version pins). A dry run stops there; otherwise restore.apply writes it in dependency order and
undoes what it wrote when a step fails. Writes are sent once, never retried (STYLE.md "HTTP"); reads are retried.

- A match whose config, layout and references already equal the saved ones is left UNCHANGED (no needless version).
- A subflow reference found nowhere is *dangling*: reported, and fatal only when a configured, enabled node calls
  it (an unconfigured or disabled node never runs it).
- Redacted values (`{"redacted": ...}`) are never sent: the value comes from the environment variable that the
  target's `restore_secrets` names for it, else the target keeps its current value, else it is left out.
- Strings with redaction markers (`https://svc:«redacted:...»@host`) get their secrets from `restore_secrets` too,
  else keep the target's own when its string equals ours apart from the markers; else the plan says which key to
  set and the restore refuses (exit 2) before it writes anything. Marker text is never sent.
- `--deploy` deploys every flow of the plan whose current version is not the deployed one, subflows first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flowvault.errors import ConfigError, FlowvaultError, UsageError
from flowvault.restore.apply import Applier, prepare
from flowvault.restore.bodies import replace_body, same
from flowvault.restore.connectors import plan_connectors, unmatched_message
from flowvault.restore.plan import NEW_ID, Dangling, Plan, build_plan, dangling_error, select_flow
from flowvault.restore.policies import plan_policies, settle
from flowvault.restore.secrets import MissingSecret, missing_line, supplied_secrets
from flowvault.restore.target import Target
from flowvault.restore.variables import plan_variables

log = logging.getLogger(__name__)


@dataclass
class Result:
    """What a restore did (or, in a dry run, would do)."""

    flow: str
    source: str  # the vault source the flow was saved from
    target: str
    ref: str
    dry_run: bool
    deploy: bool
    steps: list = field(default_factory=list)  # every step, in the order they apply
    dangling: list[Dangling] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # a dry run that found what would stop the real one
    unresolved: bool = False  # ... and that is an unmatched connector instance (exit 1), not a usage error

    def to_dict(self) -> dict:
        """The result as plain JSON-ready data (`--format json`): {"steps": [{"kind", "name", "action", ...}], ...}."""
        doc = {"steps": [s.to_dict() for s in self.steps], "flow": self.flow, "source": self.source,
               "target": self.target, "ref": self.ref, "dry_run": self.dry_run, "deploy": self.deploy,
               "dangling": [vars(d) for d in self.dangling], "notes": self.notes}
        if self.error:  # "error" only on failure, as every command's JSON (README)
            doc["error"] = self.error
        return doc


def target_source(config, name: str, option: str = "--to"):
    """The configured DaVinci source `name` (ConfigError listing the valid ones)."""
    davinci = sorted(n for n, s in config.sources.items() if s.type == "davinci")
    source = config.sources.get(name)
    if source is None:
        raise ConfigError(f"unknown source {name!r} for {option}; "
                          f"configured DaVinci sources: {', '.join(davinci) or 'none'}")
    if source.type != "davinci":
        raise UsageError(f"source {name!r} is of type {source.type!r}; restore writes to DaVinci sources: "
                         f"{', '.join(davinci) or 'none configured'}")
    getattr(source, "require", lambda: None)()  # its secret is needed now, the other tables' are not (issue 19)
    return source


def restore(config, vault_dir, wanted: str, to: str, *, ref: str = "HEAD", source: str | None = None,
            deploy: bool = False, dry_run: bool = False, mappings: Mapping[str, str] | None = None,
            create_connections: bool = False, say: Callable[[str], None] = lambda line: None,
            client=None, source_client=None) -> Result:
    """Restore `wanted` (saved from `source`, if given) from the vault at `ref` into source `to`; the Result says
    what was (or would be) done. RestoreFailed (exit 3) when a step failed and what was written was undone."""
    from flowvault.vault.snapshot import load_ref, open_vault

    target_cfg = target_source(config, to)
    snapshot = load_ref(open_vault(vault_dir), ref)
    entry = select_flow(snapshot, wanted, source)
    supplied = supplied_secrets(to, target_cfg.settings)
    result = Result(flow=entry.name, source=str(entry.source), target=to, ref=ref, dry_run=dry_run, deploy=deploy)
    names, source_flows = _read_source(config, entry.source, to, source_client, result)
    target = Target(to, target_cfg.settings, client=client, secret_hint=target_cfg.secret_hint)
    try:
        plan = make_plan(target, snapshot, entry, supplied, deploy=deploy, source_names=names, mappings=mappings,
                         create_connections=create_connections)
        for d in plan.dangling:
            if source_flows is not None and d.subflow_id not in source_flows:
                # Broken in the environment it was saved from as well: the restore reproduces it, no worse.
                d.fatal, d.in_source = False, False
        result.steps = plan.steps_in_order()
        result.dangling = plan.dangling
        problem = dangling_error(plan.dangling, ref, to)
        missing = missing_secrets(plan, to)
        unmatched = unmatched_message(plan.connectors, to)
        if dry_run:
            result.error = problem or missing or unmatched
            result.unresolved = problem is None and missing is None and unmatched is not None
            return result
        if problem:
            raise UsageError(problem)
        if missing:
            raise MissingSecret(missing)
        if unmatched:
            raise UsageError(unmatched)
        say(f"restoring {entry.name!r} from {entry.source} at {ref} into {to}: "
            f"{sum(1 for s in result.steps if s.action not in ('unchanged',))} step(s) to apply")
        Applier(target, plan, supplied, deploy=deploy, say=say).run()
        return result
    finally:
        if client is None:
            target.close()


def make_plan(target: Target, snapshot, entry, supplied: Mapping[str, str], *, deploy: bool,
              source_names: Mapping[str, str] | None = None, mappings: Mapping[str, str] | None = None,
              create_connections: bool = False) -> Plan:
    """The whole plan of restoring `entry` into `target`, reading the target and writing nothing."""
    plan = build_plan(entry, snapshot, target.flows())
    entries = [e for e, _ in plan.steps]
    plan.connectors = plan_connectors(entries, target.connector_instances(), source_names=dict(source_names or {}),
                                      mappings=dict(mappings or {}), create=create_connections, target=target.name)
    plan.variables = plan_variables(entries, {e.slug: plan.ids.get(e.slug) for e in entries}, target.variables(),
                                    supplied)
    conn_ids = {c.old_id: c.new_id for c in plan.connectors if c.new_id}
    versions: dict[str, int | None] = {}
    for e, step in plan.steps:
        if step.action == "update":
            current = target.flow(step.in_target())
            raw, pending = prepare(target, plan, e, step, supplied, conn_ids=conn_ids, versions=versions,
                                   current=current)
            own_vars = any(v.flow_slug == e.slug and v.via == "flow" and v.action != "unchanged"
                           for v in plan.variables)
            if not pending and not own_vars and same(replace_body(raw, e), current):
                step.action = "unchanged"  # no write: a replace would save a needless version
                step.version_after = step.version_before
                versions[e.slug] = step.version_before
        else:
            prepare(target, plan, e, step, supplied, conn_ids=conn_ids, versions=versions, current=None)
            step.target_id = NEW_ID
        if deploy and not (step.action == "unchanged" and step.version_before == step.deployed_version):
            step.deployed = True  # would be; the Applier sets it again as it deploys
    plan.policies = plan_policies(target.policies(), plan.flow_steps(), deploy=deploy)
    settle(plan.policies, plan.flow_steps())
    for _e, step in plan.steps:
        if step.target_id == NEW_ID:
            step.target_id = None  # the Applier imports it; a dry run shows it as new
    plan.settle_remaps()
    return plan


def missing_secrets(plan: Plan, to: str) -> str | None:
    """The line that refuses the restore when a string to send holds redacted secrets that neither restore_secrets
    nor the target supplies (the first one, and how many more), or None."""
    missing = [(v.flow or "", v.missing) for v in plan.variables if v.missing]
    missing += [(step.name, s) for step in plan.flow_steps() for s in step.secrets if s.get("missing")]
    if not missing:
        return None
    flow, entry = missing[0]
    return missing_line(flow, entry, to) + (f" ({len(missing) - 1} more)" if len(missing) > 1 else "")


def _read_source(config, source: str | None, to: str, client, result: Result) \
        -> tuple[dict[str, str], set[str] | None]:
    """({connector instance id: name}, {flow id}) of the environment the flow was saved from, when it is a
    configured DaVinci source other than the target; ({}, None) when it is not, or cannot be read (the nodes' names
    are used for the instances then)."""
    cfg = config.sources.get(source) if source else None
    if source is None or cfg is None or cfg.type != "davinci" or source == to:
        return {}, None
    reader = Target(source, cfg.settings, client=client, secret_hint=cfg.secret_hint)
    try:
        names = {i["id"]: str(i.get("name") or "") for i in reader.connector_instances()}
        return names, {f["id"] for f in reader.flows()}
    except FlowvaultError as e:
        result.notes.append(f"{source} could not be read ({str(e).splitlines()[0]}); connector instances matched by "
                            "the nodes' names instead")
        return {}, None
    finally:
        if client is None:
            reader.close()
