"""The DaVinci environment the sandbox serves: flows with versions, variables, applications and flow policies.

Flows are read from export files in any shape (legacy single / multi `flows: [...]` / `flowInfo` import wrapper /
Platform `_embedded`) and kept as version *content* in the Platform API shape (seed 002): `name, description, color,
enabled, connectors, settings, graphData, inputSchema, outputSchema, trigger, variables`. Legacy-only fields
(`companyId`, `customerId`, `flowStatus`, `connectorIds`, `authTokenExpireIds`, `orx`...) do not survive the
conversion, as they do not appear in the Platform export. Connector instances are seeded from the (connectionId,
connectorId) pairs of the seeded flows' nodes, so every node's connection resolves. The whole state of one
environment is one JSON document, so `--state DIR` persists it as is; an environment other than the default one is
the seeded document with every id remapped (envs.py).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from flowvault.sandbox.app import HttpError, SandboxContext
from flowvault.sandbox.envs import DEFAULT, ENV_ID, Environment, derive, remap

MAX_VERSIONS = 100  # "100 stored versions per flow" (davinci-api.md, DaVinci flow limits): the oldest go first
CONTENT_KEYS = ("name", "description", "color", "enabled", "connectors", "settings", "graphData", "inputSchema",
                "outputSchema", "trigger", "variables")
LATEST = (-1, "-1", None, "")


def iso_from_ms(epoch_ms: int | float | None, fallback: str = "2026-01-01T00:00:00.000Z") -> str:
    if not isinstance(epoch_ms, (int, float)):
        return fallback
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _minus_days(iso: str, days: int) -> str:
    moment = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- reading exports ------------------------------------------------------------------------------------------


def split_export(doc: Any) -> list[tuple[str | None, dict, str]]:
    """[(flow id, flow object, "legacy" | "platform")] of every flow in an export document, main flow first."""
    if not isinstance(doc, dict):
        raise ValueError("an export is a JSON object")
    if isinstance(doc.get("flowInfo"), dict):
        return split_export(doc["flowInfo"])
    if isinstance(doc.get("flows"), list):
        return [(f.get("flowId"), f, "legacy") for f in doc["flows"] if isinstance(f, dict)]
    if isinstance(doc.get("flow"), dict) or isinstance(doc.get("_embedded"), list):
        out = [((doc.get("flow") or {}).get("id"), doc, "platform")]
        for sub in doc.get("_embedded") or []:
            out.append(((sub.get("flow") or {}).get("id"), sub, "platform"))
        return out
    if "graphData" in doc or "flowId" in doc:
        return [(doc.get("flowId"), doc, "legacy")]
    raise ValueError("not a DaVinci flow export (no flowId, flows, flowInfo or flow/_embedded)")


def content_of(flow: dict, kind: str, company_id: str = ENV_ID) -> dict:
    """The Platform-shaped content of one flow object from an export, its variables in company `company_id`."""
    if kind == "platform":
        content = {k: copy.deepcopy(flow[k]) for k in CONTENT_KEYS if k in flow and k != "name"}
        content["name"] = (flow.get("flow") or {}).get("name") or flow.get("name") or ""
    else:
        content = {
            "name": flow.get("name", ""),
            "description": flow.get("description", ""),
            "color": flow.get("flowColor"),
            "enabled": flow.get("flowStatus", "enabled") != "disabled",
            "connectors": [{"id": c} for c in flow.get("connectorIds") or []],
            "settings": copy.deepcopy(flow.get("settings")),
            "graphData": copy.deepcopy(flow.get("graphData")),
            "inputSchema": copy.deepcopy(flow.get("inputSchema")),
            "outputSchema": copy.deepcopy(flow.get("outputSchema")),
            "trigger": copy.deepcopy(flow.get("trigger")),
            "variables": copy.deepcopy(flow.get("variables") or []),
        }
    # An empty trigger ({} in some legacy exports) is absent in the Platform shape, whose trigger requires `type`.
    if not (content.get("trigger") or {}).get("type"):
        content.pop("trigger", None)
    for var in content.get("variables") or []:
        if "companyId" in var:
            var["companyId"] = company_id
    return {k: v for k, v in content.items() if v is not None}


def subflow_refs(content: dict) -> list[tuple[str, Any]]:
    """[(subflow id, version)] called by flowConnector nodes, in graph order."""
    refs = []
    nodes = ((content.get("graphData") or {}).get("elements") or {}).get("nodes") or []
    for node in nodes:
        data = node.get("data") or {}
        if data.get("connectorId") != "flowConnector":
            continue
        props = data.get("properties") or {}
        target = ((props.get("subFlowId") or {}).get("value") or {})
        if isinstance(target, dict) and target.get("value"):
            refs.append((target["value"], (props.get("subFlowVersionId") or {}).get("value")))
    return refs


# --- the store ------------------------------------------------------------------------------------------------


class Store:
    """State of one DaVinci environment; every mutation is saved when --state is given. Hold ctx.lock to mutate."""

    def __init__(self, ctx: SandboxContext, env: Environment | None = None) -> None:
        self.ctx = ctx
        self.env = env or Environment(DEFAULT, ENV_ID, "")
        saved = ctx.load_state(self.env.state_name)
        self.data: dict = saved if saved is not None else self._seed()
        if "connectorInstances" not in self.data:  # state saved before connector instances were served
            self.data["connectorInstances"] = _connector_instances(self.data)

    # --- seeding

    def _seed(self) -> dict:
        data: dict = {"flows": {}, "variables": [], "applications": [], "imports": 0}
        env = json.loads(
            resources.files("flowvault.sandbox").joinpath("data/davinci/environment.json").read_text("utf-8"))
        if self.ctx.flows_dir is None:
            base = resources.files("flowvault.sandbox").joinpath("data/davinci")
            for entry in env["flows"]:
                docs = [json.loads(base.joinpath(name).read_text("utf-8")) for name in entry["files"]]
                self._add_versions(data, docs, entry.get("deployed", len(docs)))
            data["variables"] = env["variables"]
        else:
            self._seed_dir(data, Path(self.ctx.flows_dir))
        data["applications"] = env["applications"]
        data["connectorInstances"] = _connector_instances(data)
        if self.env.name == DEFAULT:
            return data
        return remap(data, {old: derive(self.ctx.seed, self.env.name, old) for old in _seeded_ids(data)})

    def _seed_dir(self, data: dict, folder: Path) -> None:
        groups: dict[str, list[tuple[str, dict, str]]] = {}
        for path in sorted(folder.rglob("*.json")):
            try:
                flows = split_export(json.loads(path.read_text("utf-8")))
            except (ValueError, UnicodeDecodeError):
                continue  # not an export: --flows serves what it can read
            for flow_id, flow, kind in flows:
                key = flow_id or f"{path.stem}-{len(groups)}"
                groups.setdefault(key, []).append((key, flow, kind))
        for items in groups.values():
            self._add_versions(data, [(flow, kind) for _, flow, kind in items], len(items), typed=True)

    def _add_versions(self, data: dict, docs: list, deployed: int | None, typed: bool = False) -> None:
        """Add one flow whose versions 1..n are `docs` (oldest first); `deployed` is the published version."""
        pairs = docs if typed else [(d, "legacy") for d in docs]
        first, kind = pairs[0]
        flow_id = first.get("flowId") if kind == "legacy" else (first.get("flow") or {}).get("id")
        last = pairs[-1][0]
        updated = iso_from_ms(last.get("updatedDate") or last.get("savedDate")) if kind == "legacy" \
            else last.get("updatedAt", "2026-01-01T00:00:00.000Z")
        created = (iso_from_ms(first.get("createdDate"), updated) if kind == "legacy"
                   else first.get("createdAt", updated))
        n = len(pairs)
        versions: dict[str, dict[str, Any]] = {}
        for i, (doc, doc_kind) in enumerate(pairs, start=1):
            # The corpus revisions carry identical dates; space the versions a day apart, ending at the real date.
            stamp = _minus_days(updated, n - i)
            versions[str(i)] = {"createdAt": stamp, "updatedAt": stamp, "content": content_of(doc, doc_kind)}
        flow = {"id": flow_id, "createdAt": min(created, versions["1"]["createdAt"]), "updatedAt": updated,
                "currentVersion": n, "publishedVersion": None, "deployedAt": None, "versions": versions}
        if deployed:
            flow["publishedVersion"] = deployed
            flow["deployedAt"] = versions[str(deployed)]["updatedAt"]
            versions[str(deployed)]["deployedAt"] = flow["deployedAt"]
        data["flows"][flow_id] = flow

    def save(self) -> None:
        self.ctx.save_state(self.env.state_name, self.data)

    # --- reading

    def flows(self) -> list[dict]:
        return list(self.data["flows"].values())

    def flow(self, flow_id: str) -> dict:
        flow = self.data["flows"].get(flow_id)
        if flow is None:
            raise HttpError(404, "NOT_FOUND", f"Unable to find flow with ID: '{flow_id}'")
        return flow

    def version(self, flow: dict, version_id: str) -> dict:
        version = flow["versions"].get(str(version_id))
        if version is None:
            raise HttpError(404, "NOT_FOUND", f"Unable to find version '{version_id}' of flow '{flow['id']}'")
        return version

    def current(self, flow: dict) -> dict:
        return flow["versions"][str(flow["currentVersion"])]["content"]

    def deployed_content(self, flow: dict) -> dict | None:
        if not flow.get("publishedVersion"):
            return None
        return flow["versions"][str(flow["publishedVersion"])]["content"]

    def resolve_subflows(self, content: dict, exclude: str) -> list[tuple[dict, int]]:
        """[(subflow, version number)] called from `content`, transitively, each once; dangling refs are skipped."""
        out: list[tuple[dict, int]] = []
        seen = {exclude}
        queue = list(subflow_refs(content))
        while queue:
            sub_id, wanted = queue.pop(0)
            if sub_id in seen or sub_id not in self.data["flows"]:
                continue
            seen.add(sub_id)
            sub = self.data["flows"][sub_id]
            if wanted in LATEST or str(wanted) not in sub["versions"]:
                number = sub.get("publishedVersion") or sub["currentVersion"]  # -1 = the latest deployed version
            else:
                number = int(wanted)
            out.append((sub, number))
            queue.extend(subflow_refs(sub["versions"][str(number)]["content"]))
        return out

    # --- writing

    def new_id(self, kind: str, *parts: object) -> str:
        """A new deterministic id, unique to this environment (the default one keeps the single-environment ids)."""
        scope = () if self.env.name == DEFAULT else (f"env={self.env.name}",)
        return self.ctx.new_id(kind, *scope, *parts)

    def new_flow_id(self, *parts: object) -> str:
        return self.new_id("flow", *parts).replace("-", "")

    def next_serial(self) -> int:
        self.data["imports"] = self.data.get("imports", 0) + 1
        return self.data["imports"]

    def save_version(self, flow: dict, content: dict, alias: str | None = None, cloned_from: int | None = None) -> int:
        """Save `content` as a new current version of `flow` (not deployed); the clock moves one minute.

        Beyond MAX_VERSIONS, the oldest versions are dropped, never the deployed one."""
        number = max(int(v) for v in flow["versions"]) + 1
        stamp = self.ctx.clock.iso(self.ctx.clock.tick(60))
        version: dict[str, Any] = {"createdAt": stamp, "updatedAt": stamp, "content": content}
        if alias:
            version["alias"] = alias
        if cloned_from is not None:
            version["clonedFrom"] = cloned_from
        flow["versions"][str(number)] = version
        flow["currentVersion"] = number
        flow["updatedAt"] = stamp
        for old in sorted(flow["versions"], key=int):
            if len(flow["versions"]) <= MAX_VERSIONS:
                break
            if int(old) != flow.get("publishedVersion"):
                del flow["versions"][old]
        return number

    def create_flow(self, content: dict, flow_id: str | None = None) -> dict:
        stamp = self.ctx.clock.iso(self.ctx.clock.tick(60))
        serial = self.next_serial()
        flow_id = flow_id or self.new_flow_id(content.get("name"), serial)
        flow = {"id": flow_id, "createdAt": stamp, "updatedAt": stamp, "currentVersion": 1, "publishedVersion": None,
                "deployedAt": None, "versions": {"1": {"createdAt": stamp, "updatedAt": stamp, "content": content}}}
        self.data["flows"][flow_id] = flow
        return flow

    def delete_flow(self, flow: dict) -> None:
        del self.data["flows"][flow["id"]]

    def deploy(self, flow: dict, number: int | None = None) -> None:
        """Make version `number` (default: the current one) the deployed version; only it carries deployedAt."""
        number = flow["currentVersion"] if number is None else number
        stamp = self.ctx.clock.iso(self.ctx.clock.tick(1))
        for version in flow["versions"].values():
            version.pop("deployedAt", None)
        flow["publishedVersion"] = number
        flow["deployedAt"] = stamp
        flow["versions"][str(number)]["deployedAt"] = stamp

    def import_flows(self, name: str, description: str | None, flows: Iterable[tuple[str | None, dict, str]],
                     name_mapping: dict) -> list[dict]:
        """Create one new flow per flow of an import (main first), with subflow references remapped to the new ids."""
        items = list(flows)
        new_ids: dict[str, str] = {}
        contents = []
        for index, (old_id, flow, kind) in enumerate(items):
            content = content_of(flow, kind, self.env.id)
            content["name"] = name if index == 0 else name_mapping.get(old_id) or content.get("name", "")
            if index == 0:
                content["description"] = description if description is not None else \
                    f"Imported on {self.ctx.clock.now().strftime('%a %b %d %Y %H:%M:%S')} " \
                    "GMT+0000 (Coordinated Universal Time)"
            new_id = self.new_flow_id(content["name"], self.next_serial())
            if old_id:
                new_ids[old_id] = new_id
            contents.append((new_id, content))
        created = []
        for new_id, content in contents:
            for node in ((content.get("graphData") or {}).get("elements") or {}).get("nodes") or []:
                target = (((node.get("data") or {}).get("properties") or {}).get("subFlowId") or {}).get("value")
                if isinstance(target, dict) and target.get("value") in new_ids:
                    target["value"] = new_ids[target["value"]]
            created.append(self.create_flow(content, new_id))
        return created


# --- connector instances and ids of the seed -------------------------------------------------------------------


def _connector_instances(data: dict) -> list[dict]:
    """One connector instance per connectionId the flows' nodes use (every version), named after its nodes' name;
    a name that two instances of one connector would share gets a " 2", " 3"... suffix (restore maps by name)."""
    names: dict[str, dict[str, int]] = {}
    connectors: dict[str, str] = {}
    for flow in data["flows"].values():
        for version in flow["versions"].values():
            for node in ((version["content"].get("graphData") or {}).get("elements") or {}).get("nodes") or []:
                node_data = node.get("data") or {}
                cid, connector = node_data.get("connectionId"), node_data.get("connectorId")
                if isinstance(cid, str) and cid and isinstance(connector, str) and connector:
                    connectors.setdefault(cid, connector)
                    label = str(node_data.get("name") or connector)
                    names.setdefault(cid, {})[label] = names.setdefault(cid, {}).get(label, 0) + 1
    out, taken = [], set()
    for cid in sorted(connectors):
        counts = names[cid]
        name = min(counts, key=lambda label: (-counts[label], label))  # the name most nodes show
        unique, n = name, 1
        while (connectors[cid], unique) in taken:
            n += 1
            unique = f"{name} {n}"
        taken.add((connectors[cid], unique))
        out.append({"id": cid, "name": unique, "connector": {"id": connectors[cid]},
                    "properties": _instance_properties(connectors[cid]),
                    "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"})
    return out


def _instance_properties(connector: str) -> dict:
    """What a fresh instance of `connector` is configured with: PingOne connectors name their environment."""
    if connector.startswith("pingOne"):
        return {"envId": {"value": ENV_ID}, "region": {"value": "NA"}}
    return {}


def _seeded_ids(data: dict) -> set[str]:
    """Every id of an environment's seed: environment, flows, connector instances, variables, applications, policies."""
    ids = {ENV_ID, *data["flows"]}
    ids.update(i["id"] for i in data.get("connectorInstances") or [])
    ids.update(v["id"] for v in data.get("variables") or [] if v.get("id"))
    for flow in data["flows"].values():
        for version in flow["versions"].values():
            ids.update(v["id"] for v in version["content"].get("variables") or [] if isinstance(v.get("id"), str))
    for app in data.get("applications") or []:
        ids.add(app["id"])
        ids.update(p["id"] for p in app.get("flowPolicies") or [])
    return {i for i in ids if isinstance(i, str) and i}
