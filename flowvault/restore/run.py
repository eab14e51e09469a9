"""Put a saved version of a DaVinci flow, with its subflows, back into an environment (issue 6, DESIGN.md).

The export is rebuilt from the vault at a ref (flow.json + layout.json + meta.json, normalize.davinci.denormalize)
and written through the PingOne Platform API (reference/davinci-api.md §1.3, §2.4, §4):
- every flow of the plan (the subflows it calls, transitively, from the same snapshot; then the flow itself) is
  matched in the target by id, else by name. A match is REPLACED in place (`PUT /flows/{id}`,
  DaVinciFlowReplaceRequest), so its id, and the flow policies and callers pointing at it, stay valid; the target
  saves that as a new version. A match whose config and layout already equal the saved ones is left UNCHANGED (no
  write, no needless version). Anything else is IMPORTED (`POST /flows`, flow.import[.legacy]+json) as a new flow.
  Subflows get the same rule as the flow: an existing subflow is updated in place rather than duplicated.
- subflow references (`subFlowId.value.value`) are remapped to the target's ids: the subflow's own target id when it
  is in the plan, else the target flow of that id or name. A reference found nowhere is *dangling*: reported, and
  fatal only when a configured, enabled node calls it (an unconfigured or disabled node never runs it).
- redacted values (`{"redacted": ...}`) are never sent: the value comes from the environment variable that the
  target's `restore_secrets` names for it, else a replace keeps the target's current value at the same place (the
  node of the same id), else it is left out; the result lists each one and where its value came from.
- `--deploy` deploys every flow of the plan whose current version is not the deployed one, subflows first (a
  subflow call with version -1 runs the subflow's deployed version).
Writes (import, replace, deploy) are sent once, never retried (STYLE.md "HTTP"); reads are retried.

This module runs a restore and builds the request bodies; restore_plan decides what to write, restore_secrets
fills in redacted values, restore_target talks to the environment.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from flowvault.errors import ConfigError, RemoteError, UsageError
from flowvault.restore.plan import NEW_ID, Dangling, Plan, Step, build_plan, dangling_error, select_flow
from flowvault.restore.secrets import scrub_secrets, supplied_secrets
from flowvault.restore.target import Target

# DaVinciFlowReplaceRequest (reference/pingone-openapi.yaml): variables are not part of a replace.
REPLACE_KEYS = ("name", "description", "color", "graphData", "inputSchema", "outputSchema", "settings", "trigger")


@dataclass
class PolicyRun:
    """A flow policy of the target that runs a flow of the plan, and the version it runs."""

    application: str
    policy: str
    policy_id: str
    flow: str
    flow_id: str
    version: Any  # the distribution's version: -1 means "latest deployed"
    runs: int | None  # the version that runs now (the deployed one for -1)


@dataclass
class Result:
    """What a restore did (or, in a dry run, would do)."""

    flow: str
    source: str  # the vault source the flow was saved from
    target: str
    ref: str
    dry_run: bool
    deploy: bool
    steps: list[Step] = field(default_factory=list)
    dangling: list[Dangling] = field(default_factory=list)
    policies: list[PolicyRun] = field(default_factory=list)
    error: str | None = None  # a dry run that found what would stop the real one (a fatal dangling reference)

    def to_dict(self) -> dict:
        """The result as plain JSON-ready data (`--format json`)."""
        return asdict(self)


def target_source(config, name: str):
    """The configured DaVinci source `name` (ConfigError listing the valid ones)."""
    davinci = sorted(n for n, s in config.sources.items() if s.type == "davinci")
    source = config.sources.get(name)
    if source is None:
        raise ConfigError(f"unknown source {name!r} for --to; "
                          f"configured DaVinci sources: {', '.join(davinci) or 'none'}")
    if source.type != "davinci":
        raise UsageError(f"source {name!r} is of type {source.type!r}; restore writes to DaVinci sources: "
                         f"{', '.join(davinci) or 'none configured'}")
    getattr(source, "require", lambda: None)()  # its secret is needed now, the other tables' are not (issue 19)
    return source


def restore(config, vault_dir, wanted: str, to: str, *, ref: str = "HEAD", deploy: bool = False,
            dry_run: bool = False, client=None) -> Result:
    """Restore `wanted` from the vault at `ref` into source `to`; the Result says what was (or would be) done."""
    from flowvault.vault.snapshot import load_ref, open_vault

    source_cfg = target_source(config, to)
    snapshot = load_ref(open_vault(vault_dir), ref)
    entry = select_flow(snapshot, wanted)
    supplied = supplied_secrets(to, source_cfg.settings)
    target = Target(to, source_cfg.settings, client=client, secret_hint=source_cfg.secret_hint)
    try:
        return _run(target, snapshot, entry, to, ref, deploy, dry_run, supplied)
    finally:
        if client is None:
            target.close()


def _run(target: Target, snapshot, entry, to: str, ref: str, deploy: bool, dry_run: bool,
         supplied: Mapping[str, str]) -> Result:
    """The Result of planning the restore of `entry`, then (unless `dry_run`) writing and deploying it."""
    result = Result(flow=entry.name, source=str(entry.source), target=to, ref=ref, dry_run=dry_run, deploy=deploy)
    plan = build_plan(entry, snapshot, target.flows())
    result.steps = [s for _, s in plan.steps]
    result.dangling = plan.dangling
    message = dangling_error(plan.dangling, ref, to)
    if message:
        if not dry_run:
            raise UsageError(message)
        result.error = message  # the CLI shows the plan, then exits 2 with this
    _execute(target, plan, supplied, deploy, dry_run)
    plan.settle_remaps()
    result.policies = _policies(target, result.steps, dry_run)
    return result


def _execute(target: Target, plan: Plan, supplied: Mapping[str, str], deploy: bool, dry_run: bool) -> None:
    """Guarantees every step was written (and deployed if asked), callees first; a RemoteError lists what was done."""
    done: list[str] = []
    try:
        for e, step in plan.steps:
            _apply(target, e, step, plan.target_ids(e), supplied, dry_run)
            if step.target_id and step.target_id != NEW_ID:
                plan.ids[e.slug] = step.target_id  # the flows calling it, later in the plan, point here
            if step.action != "unchanged" and not dry_run:
                done.append(f"{step.action.rstrip('e')}ed {step.name!r} ({step.target_id})")
        if deploy:
            # Subflows first: a subflow call with version -1 runs the subflow's deployed version.
            for _e, step in plan.steps:
                if step.action == "unchanged" and step.version_before == step.deployed_version:
                    continue  # already runs what the vault holds
                step.deployed = True
                if not dry_run:
                    response = target.deploy(step.target_id)
                    step.deployed_version = response.get("publishedVersion") if isinstance(response, dict) else None
                    done.append(f"deployed {step.name!r}")
    except RemoteError as err:
        if done:
            raise type(err)(f"{err} (already done: {'; '.join(done)})", status=err.status) from err
        raise


def _apply(target: Target, e, step: Step, refs: dict[str, str], supplied: Mapping[str, str], dry_run: bool) -> None:
    """Guarantees `step` says what became of `e`: replaced, unchanged or imported (or would be, in a dry run)."""
    raw = rebuild(e)
    remap_refs(raw, refs)
    shape = (e.doc.meta or {}).get("shape", "platform")
    if step.action == "replace":
        current = target.flow(step.target_id)
        step.secrets = scrub_secrets(raw, current, supplied)
        body = replace_body(raw, e)
        if _same(body, current):
            step.action = "unchanged"  # no write: a replace would save a needless version
            step.version_after = step.version_before
            return
        if dry_run:
            return
        response = target.replace(step.target_id, body)
        step.version_after = response.get("currentVersion") if isinstance(response, dict) else None
        return
    step.secrets = scrub_secrets(raw, None, supplied)
    name = replace_body(raw, e)["name"]
    body = {"name": name, "description": raw.get("description", ""), "flowInfo": raw,
            "flowNameMapping": {e.id: name} if e.id else {}}
    if dry_run:
        step.target_id = NEW_ID
        return
    response = target.import_flow(body, shape) or {}
    new_id = (response.get("flow") or {}).get("id") or response.get("id")
    if not new_id:
        raise RemoteError(f"{target.name}: the import of {e.name!r} answered without the new flow's id")
    step.target_id = str(new_id)
    step.version_after = response.get("version") or response.get("currentVersion")


# --- the request bodies --------------------------------------------------------------------------------------


def rebuild(entry) -> dict:
    """The raw export flow the vault holds for `entry` (a deep copy: callers change it)."""
    from flowvault.normalize.davinci import FlowSnapshot, denormalize

    doc = entry.doc
    return copy.deepcopy(denormalize(FlowSnapshot(doc.flow, doc.layout or {}, doc.meta or {})))


def remap_refs(raw: dict, ids: dict[str, str]) -> None:
    """Point every subflow call of `raw` whose id is a key of `ids` at the mapped id (the label is kept)."""
    for node in _raw_nodes(raw):
        prop = (((node.get("data") or {}).get("properties") or {}).get("subFlowId") or {}).get("value")
        if isinstance(prop, dict) and prop.get("value") in ids:
            prop["value"] = ids[prop["value"]]


def _raw_nodes(raw: dict) -> list[dict]:
    """The node objects of a raw export flow's graph ([] when it has none)."""
    nodes = ((raw.get("graphData") or {}).get("elements") or {}).get("nodes")
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def replace_body(raw: dict, entry) -> dict:
    """DaVinciFlowReplaceRequest from a rebuilt export flow (either shape)."""
    body = {k: raw[k] for k in REPLACE_KEYS if k in raw and k != "name"}
    name = raw.get("name") if "name" in raw else (raw.get("flow") or {}).get("name")
    body["name"] = name if isinstance(name, str) and name.strip() else entry.name
    if "outputSchema" not in body and "outputSchemaCompiled" in raw:
        body["outputSchema"] = raw["outputSchemaCompiled"]  # a legacy export's output schema (canonical-format.md)
    if "color" not in body and "flowColor" in raw:
        body["color"] = raw["flowColor"]
    return body


def _same(body: dict, current: dict) -> bool:
    """True when a replace with `body` would leave the config and layout of the target's `current` flow as they are."""
    from flowvault.normalize.davinci import normalize

    def canon(obj: dict):
        snap = normalize({"id": "x", "environment": {}, **{k: obj[k] for k in REPLACE_KEYS if k in obj}})
        snap.flow["name"] = str(snap.flow.get("name", "")).strip()
        return snap.flow, snap.layout

    return canon(body) == canon(current)


# --- reporting -----------------------------------------------------------------------------------------------


def _policies(target: Target, steps: list[Step], dry_run: bool) -> list[PolicyRun]:
    """The target's flow policies that run a flow of `steps`, with the version each one runs now."""
    wanted = {s.target_id: s for s in steps if s.target_id and s.target_id != NEW_ID}
    if not wanted:
        return []
    flows = {f["id"]: f for f in target.flows()} if not dry_run else {}
    out = []
    for app, policy in target.policies():
        for dist in policy.get("flowDistributions") or []:
            step = wanted.get(dist.get("id")) if isinstance(dist, dict) else None
            if step is None:
                continue
            version = dist.get("version", -1)
            flow = flows.get(step.target_id, {})
            deployed = flow.get("publishedVersion", step.deployed_version)
            runs = deployed if version in (-1, "-1", None) else version
            out.append(PolicyRun(str(app.get("name") or app.get("id")), str(policy.get("name") or policy.get("id")),
                                 str(policy.get("id")), step.name, step.target_id, version, runs))
    return out
