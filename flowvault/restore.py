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
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from flowvault.errors import ConfigError, FlowvaultError, RemoteError, UsageError

IMPORT_TYPES = {"platform": "application/vnd.pingidentity.flow.import+json",
                "legacy": "application/vnd.pingidentity.flow.import.legacy+json"}
DEPLOY_TYPE = "application/vnd.pingidentity.flow.deploy+json"
# DaVinciFlowReplaceRequest (reference/pingone-openapi.yaml): variables are not part of a replace.
REPLACE_KEYS = ("name", "description", "color", "graphData", "inputSchema", "outputSchema", "settings", "trigger")
NEW_ID = "(new id)"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Remap:
    """One subflow reference of a node, and where it points in the target."""

    node: str
    subflow: str  # the subflow's name (from the snapshot or the target), else the node's cached label
    old_id: str
    new_id: str | None  # None: dangling
    via: str  # "plan" (restored with it), "target" (already there) or "dangling"


@dataclass
class Step:
    """What restore does (or would do) with one flow of the plan."""

    name: str
    role: str  # "subflow" | "flow"
    vault_id: str
    action: str  # "import" | "replace" | "unchanged"
    target_id: str | None = None
    version_before: int | None = None
    version_after: int | None = None
    deployed_version: int | None = None
    deployed: bool = False
    remaps: list[Remap] = field(default_factory=list)
    secrets: list[dict] = field(default_factory=list)  # {"path": ..., "outcome": "kept from the target" | "left out"}


@dataclass
class Dangling:
    flow: str
    node: str
    subflow: str
    subflow_id: str
    fatal: bool


@dataclass
class PolicyRun:
    application: str
    policy: str
    policy_id: str
    flow: str
    flow_id: str
    version: Any  # the distribution's version: -1 means "latest deployed"
    runs: int | None  # the version that runs now (the deployed one for -1)


@dataclass
class Result:
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
        return asdict(self)


# --- choosing what to restore --------------------------------------------------------------------------------


def select_flow(snapshot, wanted: str):
    """The one FlowEntry of `snapshot` that `wanted` names (name, folder or id; `source/flow` narrows the source)."""
    from flowvault.snapshot import FlowEntry

    flows = [e for e in snapshot.flows if isinstance(e, FlowEntry)]
    found = [e for e in flows if wanted in (e.name, e.slug, e.id) or wanted.strip() == e.name.strip()]
    if not found and "/" in wanted:
        source, _, rest = wanted.partition("/")
        found = [e for e in flows if e.source == source and rest in (e.name, e.slug, e.id)]
    if not found:
        if any(wanted in (w.name, w.key) for w in snapshot.workflows):
            raise UsageError(f"{wanted!r} is a PingIDM workflow; restore puts back DaVinci flows only")
        raise UsageError(f"no flow {wanted!r} in the vault at {snapshot.label}; "
                         f"run `flowvault log` or `flowvault show` to see what was saved")
    if len(found) > 1:
        choices = ", ".join(sorted(f"{e.source}/{e.slug}" for e in found))
        raise UsageError(f"{wanted!r} names {len(found)} flows at {snapshot.label}; pick one of: {choices}")
    return found[0]


def _node_refs(entry) -> list[tuple[str, str | None, str | None, dict]]:
    """[(node id, subflow id, cached label, node)] of every node that calls a subflow."""
    nodes_meta = (entry.doc.meta or {}).get("nodes", {})
    out = []
    for nid, node in sorted((entry.doc.flow.get("nodes") or {}).items()):
        sub_id = (nodes_meta.get(nid) or {}).get("subFlowId")
        prop = ((node.get("properties") or {}).get("subFlowId") or {}).get("value")
        label = prop.get("label") if isinstance(prop, dict) else None
        if isinstance(sub_id, str) and sub_id:
            out.append((nid, sub_id, label, node))
    return out


def _calls(node: dict) -> bool:
    """Whether the node runs when the flow does: configured and not switched off in the designer."""
    return node.get("status", "configured") == "configured" and not node.get("isDisabled")


def _resolve(same: list, sub_id: str, label: str | None):
    """The entry of `same` that a node calling (sub_id, label) means: by id, else the one of that name."""
    by_id = [s for s in same if s.id == sub_id]
    return _unique(by_id) or _unique([s for s in same if label and s.name.strip() == label.strip()])


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


def _unique(items: list):
    return items[0] if len(items) == 1 else None


# --- the target environment ----------------------------------------------------------------------------------


class Target:
    """The DaVinci environment restore writes to: a flowvault.http.Client on its Platform API."""

    def __init__(self, name: str, settings, *, client=None, secret_hint: str | None = None) -> None:
        self.name = name
        self.env = settings.environment_id
        if client is None:
            from flowvault.http import Client
            from flowvault.token import TokenProvider, api_base

            tokens = TokenProvider.from_settings(settings, source=name, secret_hint=secret_hint,
                                                 timeout=settings.timeout)
            client = Client(api_base(settings), source=name, timeout=settings.timeout, auth=tokens,
                            secret_hint=secret_hint)
        self.client = client

    def path(self, *parts: str) -> str:
        return "/".join(["/environments", self.env, *parts])

    def flows(self) -> list[dict]:
        body = self.client.get_json(self.path("flows"))
        return [f for f in _embedded(body, "flows") if isinstance(f, dict) and f.get("id")]

    def flow(self, flow_id: str) -> dict:
        return self.client.get_json(self.path("flows", flow_id))

    def replace(self, flow_id: str, body: dict) -> dict:
        return self.client.put(self.path("flows", flow_id), retry=False, json=body,
                               headers={"Content-Type": "application/json"}).data

    def import_flow(self, body: dict, shape: str) -> dict:
        return self.client.post(self.path("flows"), retry=False, json=body,
                                headers={"Content-Type": IMPORT_TYPES.get(shape, IMPORT_TYPES["platform"])}).data

    def deploy(self, flow_id: str) -> dict:
        return self.client.post(self.path("flows", flow_id), retry=False, json={},
                                headers={"Content-Type": DEPLOY_TYPE}).data

    def policies(self) -> list[tuple[dict, dict]]:
        """[(application, flow policy)] of the environment."""
        out = []
        for app in _embedded(self.client.get_json(self.path("davinciApplications")), "davinciApplications"):
            if isinstance(app, dict) and app.get("id"):
                body = self.client.get_json(self.path("davinciApplications", str(app["id"]), "flowPolicies"))
                out += [(app, p) for p in _embedded(body, "flowPolicies") if isinstance(p, dict)]
        return out

    def close(self) -> None:
        self.client.close()


def _embedded(body: Any, key: str) -> list:
    if not isinstance(body, dict):
        raise RemoteError(f"expected a JSON object with _embedded.{key}, got {type(body).__name__}")
    items = (body.get("_embedded") or {}).get(key, [])
    return items if isinstance(items, list) else []


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


# --- rebuilding the request bodies ---------------------------------------------------------------------------


def rebuild(entry) -> dict:
    """The raw export flow the vault holds for `entry` (a deep copy: callers change it)."""
    from flowvault.normalize.davinci import FlowSnapshot, denormalize

    doc = entry.doc
    return copy.deepcopy(denormalize(FlowSnapshot(doc.flow, doc.layout or {}, doc.meta or {})))


def _raw_nodes(raw: dict) -> list[dict]:
    nodes = ((raw.get("graphData") or {}).get("elements") or {}).get("nodes")
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def remap_refs(raw: dict, ids: dict[str, str]) -> None:
    """Point every subflow call of `raw` whose id is a key of `ids` at the mapped id (the label is kept)."""
    for node in _raw_nodes(raw):
        prop = (((node.get("data") or {}).get("properties") or {}).get("subFlowId") or {}).get("value")
        if isinstance(prop, dict) and prop.get("value") in ids:
            prop["value"] = ids[prop["value"]]


def _is_redacted(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"redacted"}


def _walk_redacted(obj: Any, path: tuple = ()):
    if _is_redacted(obj):
        yield path
    elif isinstance(obj, dict):
        for k, v in list(obj.items()):
            yield from _walk_redacted(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk_redacted(v, (*path, i))


def _get(obj: Any, path: tuple) -> tuple[bool, Any]:
    for part in path:
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj):
            obj = obj[part]
        else:
            return False, None
    return True, obj


def _node_path(raw: dict, path: tuple, current: dict | None) -> tuple | None:
    """The path in `current` of the value at `path` in `raw`: nodes are found by id, everything else by place."""
    if current is None:
        return None
    if path[:3] == ("graphData", "elements", "nodes") and len(path) > 3:
        ok, node = _get(raw, path[:4])
        nid = (node.get("data") or {}).get("id") if ok and isinstance(node, dict) else None
        ok, nodes = _get(current, path[:3])
        for index, other in enumerate(nodes if ok and isinstance(nodes, list) else []):
            if nid is not None and isinstance(other, dict) and (other.get("data") or {}).get("id") == nid:
                return (*path[:3], index, *path[4:])
        return None
    return path


def secret_names(raw: dict, path: tuple) -> list[str]:
    """The names a `restore_secrets` key may give the redacted value at `path` of `raw`, most specific first.

    A node property: "<node id>/<property>", "<property>"; a variable: "<context>/<name>", "<name>".
    """
    if path[:3] == ("graphData", "elements", "nodes") and "properties" in path:
        prop = path[path.index("properties") + 1] if len(path) > path.index("properties") + 1 else None
        ok, node = _get(raw, path[:4])
        nid = (node.get("data") or {}).get("id") if ok and isinstance(node, dict) else None
        return [n for n in (f"{nid}/{prop}" if nid else None, prop) if isinstance(n, str)]
    if path[:1] == ("variables",) and len(path) > 1:
        ok, var = _get(raw, path[:2])
        if ok and isinstance(var, dict) and isinstance(var.get("name"), str):
            parts = var["name"].split("##SK##")
            context = parts[1] if len(parts) > 1 else var.get("context")
            return [f"{context}/{parts[0]}", parts[0]]
    return []


def scrub_secrets(raw: dict, current: dict | None, supplied: Mapping[str, str] | None = None) -> list[dict]:
    """Replace each redacted marker of `raw`: by a value `supplied` for its name (restore_secrets), else by the
    target's value at the same place, else leave it out. Fingerprints are never sent.

    Returns [{"path": "a/b/c", "outcome": ...}] for the result (never the values).
    """
    supplied = supplied or {}
    report = []
    for path in sorted(_walk_redacted(raw), key=lambda p: [str(x) for x in p], reverse=True):
        ok, parent = _get(raw, path[:-1])
        name = next((n for n in secret_names(raw, path) if n in supplied), None)
        where = _node_path(raw, path, current)
        found, value = _get(current, where) if where is not None else (False, None)
        if name is not None:
            parent[path[-1]] = supplied[name]
            outcome = f"from restore_secrets[{name!r}]"
        elif found and not _is_redacted(value) and value is not None:
            parent[path[-1]] = copy.deepcopy(value)
            outcome = "kept from the target"
        else:
            del parent[path[-1]]
            outcome = "left out (not sent)"
        report.append({"path": "/".join(str(p) for p in path), "outcome": outcome})
    report.reverse()
    if any(True for _ in _walk_redacted(raw)):  # pragma: no cover - the loop above removes every marker
        raise FlowvaultError("internal error: a redacted value would have been sent; nothing was written")
    return report


def supplied_secrets(source_name: str, settings, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """{secret name: value} from the environment variables that [sources.NAME] restore_secrets names."""
    from flowvault.masking import register

    out = {}
    for key, var in (getattr(settings, "restore_secrets", None) or {}).items():
        where = f"[sources.{source_name}] restore_secrets[{key!r}]"
        if not isinstance(var, str) or not ENV_NAME.fullmatch(var):
            raise ConfigError(f"{where} must name an environment variable (e.g. \"DV_PARTNER_API_KEY\"), "
                              "not hold a value")
        if not env.get(var):
            raise ConfigError(f"{where}: environment variable {var} is not set")
        register(env[var])
        out[str(key)] = env[var]
    return out


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
    """Whether a replace with `body` would change the config or layout of the target's `current` flow."""
    from flowvault.normalize.davinci import normalize

    def canon(obj: dict):
        snap = normalize({"id": "x", "environment": {}, **{k: obj[k] for k in REPLACE_KEYS if k in obj}})
        snap.flow["name"] = str(snap.flow.get("name", "")).strip()
        return snap.flow, snap.layout

    return canon(body) == canon(current)


# --- the command ---------------------------------------------------------------------------------------------


def target_source(config, name: str):
    """The configured DaVinci source `name` (ConfigError listing the valid ones)."""
    davinci = sorted(n for n, s in config.sources.items() if s.type == "davinci")
    source = config.sources.get(name)
    if source is None:
        raise ConfigError(f"unknown source {name!r} for --to; "
                          f"configured DaVinci sources: {', '.join(davinci) or 'none'}")
    if source.type != "davinci":
        raise UsageError(f"source {name!r} is a {source.type} source; restore writes to DaVinci sources: "
                         f"{', '.join(davinci) or 'none configured'}")
    return source


def restore(config, vault_dir, wanted: str, to: str, *, ref: str = "HEAD", deploy: bool = False,
            dry_run: bool = False, client=None) -> Result:
    """Restore `wanted` from the vault at `ref` into source `to`; the Result says what was (or would be) done."""
    from flowvault.snapshot import load_ref, open_vault

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
    result = Result(flow=entry.name, source=str(entry.source), target=to, ref=ref, dry_run=dry_run, deploy=deploy)
    plan = collect(entry, snapshot)
    listed = target.flows()
    matches = {e.slug: _match(e, listed) for e in plan}
    ids: dict[str, str] = {e.slug: m["id"] for e in plan if (m := matches[e.slug])}  # plan slug -> target id
    refs: dict[str, dict[str, str]] = {}  # plan slug -> {subflow id in the vault: plan slug or "=<target id>"}

    steps: list[tuple[Any, Step]] = []
    for e in plan:
        m = matches[e.slug]
        step = Step(name=e.name, role="flow" if e is entry else "subflow", vault_id=e.id,
                    action="replace" if m else "import", target_id=m["id"] if m else None,
                    version_before=m.get("currentVersion") if m else None,
                    deployed_version=m.get("publishedVersion") if m else None)
        mine = refs.setdefault(e.slug, {})
        for nid, sub_id, label, node in _node_refs(e):
            sub = _resolve(plan, sub_id, label)
            if sub is not None:
                mine[sub_id] = sub.slug
                step.remaps.append(Remap(nid, sub.name, sub_id, ids.get(sub.slug, NEW_ID), "plan"))
                continue
            hit = next((f for f in listed if f["id"] == sub_id), None) or _unique(
                [f for f in listed if label and str(f.get("name") or "").strip() == label.strip()])
            if hit is not None:
                mine[sub_id] = "=" + hit["id"]
                step.remaps.append(Remap(nid, str(hit.get("name") or label), sub_id, hit["id"], "target"))
            else:
                step.remaps.append(Remap(nid, label or sub_id, sub_id, None, "dangling"))
                result.dangling.append(Dangling(e.name, nid, label or "", sub_id, fatal=_calls(node)))
        steps.append((e, step))
    result.steps = [s for _, s in steps]

    fatal = [d for d in result.dangling if d.fatal]
    if fatal:
        d = fatal[0]
        message = (
            f"{d.flow!r} calls subflow {d.subflow or d.subflow_id!r} ({d.subflow_id}) through node {d.node}, but "
            f"it is neither in the vault at {ref} nor in {to}; restore that subflow first"
            + (f" ({len(fatal) - 1} more)" if len(fatal) > 1 else ""))
        if not dry_run:
            raise UsageError(message)
        result.error = message  # the CLI shows the plan, then exits 2 with this

    done: list[str] = []
    try:
        for e, step in steps:
            mapping = {old: (dest[1:] if dest.startswith("=") else ids.get(dest, NEW_ID))
                       for old, dest in refs[e.slug].items()}
            _apply(target, e, step, {k: v for k, v in mapping.items() if v != NEW_ID}, supplied, dry_run)
            if step.target_id and step.target_id != NEW_ID:
                ids[e.slug] = step.target_id
            if step.action != "unchanged" and not dry_run:
                done.append(f"{step.action.rstrip('e')}ed {step.name!r} ({step.target_id})")
        if deploy:
            for _e, step in steps:
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
    for e, step in steps:
        for remap in step.remaps:
            if remap.via == "plan":
                remap.new_id = ids.get(refs[e.slug][remap.old_id], NEW_ID)
    result.policies = _policies(target, result.steps, dry_run)
    return result


def _apply(target: Target, e, step: Step, refs: dict[str, str], supplied: Mapping[str, str], dry_run: bool) -> None:
    raw = rebuild(e)
    remap_refs(raw, refs)
    shape = (e.doc.meta or {}).get("shape", "platform")
    if step.action == "replace":
        current = target.flow(step.target_id)
        step.secrets = scrub_secrets(raw, current, supplied)
        body = replace_body(raw, e)
        if _same(body, current):
            step.action = "unchanged"
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


def _policies(target: Target, steps: list[Step], dry_run: bool) -> list[PolicyRun]:
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
