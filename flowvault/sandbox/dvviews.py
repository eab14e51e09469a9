"""How the DaVinci Platform API represents one environment's objects (pingone-openapi.yaml schemas).

Where seed 002's real example and the spec disagree, the example wins (noted inline).
"""

from __future__ import annotations

import copy

from flowvault.sandbox.app import SandboxContext
from flowvault.sandbox.dvstore import CONTENT_KEYS, Store, iso_from_ms


def link(href: str) -> dict:
    return {"href": href}


class DaVinci:
    """Representations of one environment's objects (its store's), in the Platform API shape."""

    def __init__(self, ctx: SandboxContext, store: Store) -> None:
        self.ctx = ctx
        self.store = store
        self.env = store.env

    @property
    def api(self) -> str:
        return f"{self.ctx.base_url}/v1/environments/{self.env.id}"

    def flow(self, flow: dict, keep: set[str] | None = None) -> dict:
        """DaVinciFlowResponse for the flow's current version; only the `keep` fields (+ _links, id) if given.

        A listing with `attributes` copies no graph it would then drop (that copy was ~0.3 s per 100 flows).
        """
        content = self.store.current(flow)
        href = f"{self.api}/flows/{flow['id']}"
        out = {
            "_links": {
                "self": link(href), "environment": link(self.api),
                "connectorInstances": link(f"{self.api}/connectorInstances"),
                "connectors": link(f"{self.api}/connectors"),
                "flow.deploy": link(href), "flow.clone": link(href), "flow.validate": link(href),
                "flow.enabled": link(f"{href}/enabled"), "version": link(f"{href}/versions/{flow['currentVersion']}"),
            },
            "environment": {"id": self.env.id},
            "id": flow["id"],
            "name": content.get("name", ""),
            "createdAt": flow["createdAt"],
            "updatedAt": flow["updatedAt"],
            "currentVersion": flow["currentVersion"],
        }
        if flow.get("publishedVersion"):
            out["publishedVersion"] = flow["publishedVersion"]
            out["deployedAt"] = flow["deployedAt"]
        for key in CONTENT_KEYS:
            if key not in ("name", "variables") and key in content and (keep is None or key in keep):
                out[key] = copy.deepcopy(content[key])
        if keep is not None:
            # `environment` stays: DaVinciFlowResponse requires it, and the listing's items are DaVinciFlowResponse.
            out = {k: v for k, v in out.items() if k in keep or k in ("_links", "id", "environment")}
        return out

    def version(self, flow: dict, number: int) -> dict:
        """DaVinciFlowVersionResponse."""
        version = flow["versions"][str(number)]
        href = f"{self.api}/flows/{flow['id']}/versions/{number}"
        out = {
            "_links": {"self": link(href), "environment": link(self.api), "details": link(f"{href}/details"),
                       "flow.export": link(href), "flow.revert": link(href)},
            "environment": {"id": self.env.id},
            "flow": {"id": flow["id"], "name": version["content"].get("name", "")},
            "version": number,
        }
        for key in ("alias", "clonedFrom"):
            if version.get(key) is not None:
                out[key] = version[key]
        out["createdAt"] = version["createdAt"]
        out["updatedAt"] = version["updatedAt"]
        if version.get("deployedAt"):
            out["deployedAt"] = version["deployedAt"]
        return out

    def details(self, flow: dict, number: int) -> dict:
        """DaVinciFlowVersionDetailResponse: the version's configuration and dates, with a link per node's connector
        instance (`connectorInstances.<nodeId>`, as the spec names them)."""
        version = flow["versions"][str(number)]
        content = version["content"]
        href = f"{self.api}/flows/{flow['id']}/versions/{number}"
        links = {"self": link(f"{href}/details"), "environment": link(self.api), "flow.export": link(href),
                 "flow.revert": link(href)}
        for node in ((content.get("graphData") or {}).get("elements") or {}).get("nodes") or []:
            data = node.get("data") or {}
            if data.get("id") and data.get("connectionId"):
                links[f"connectorInstances.{data['id']}"] = link(
                    f"{self.api}/connectorInstances/{data['connectionId']}")
        out = {"_links": links, "flow": {"id": flow["id"], "name": content.get("name", "")}, "version": number}
        for key in ("alias", "description", "enabled", "color", "connectors", "settings", "graphData", "inputSchema",
                    "outputSchema", "trigger"):
            source = version if key == "alias" else content
            if source.get(key) is not None:
                out[key] = copy.deepcopy(source[key])
        for key in ("createdAt", "updatedAt", "deployedAt"):
            if version.get(key):
                out[key] = version[key]
        return out

    def connector_instance(self, instance: dict) -> dict:
        """DaVinciConnectorInstanceResponse."""
        href = f"{self.api}/connectorInstances/{instance['id']}"
        out = {"_links": {"self": link(href), "environment": link(self.api), "connectorInstance.clone": link(href)},
               "environment": {"id": self.env.id}}
        out.update(copy.deepcopy(instance))
        return out

    def export(self, flow: dict, number: int, values: bool) -> dict:
        """DaVinciExportFlowVersionResponse, in the field order of seed 002's example.

        Shares its nested objects with the store (a deep copy of every graph was most of an export's time, under the
        sandbox lock): serialize it under ctx.lock, or deep-copy it before changing anything inside."""
        version = flow["versions"][str(number)]
        content = dict(version["content"])
        out = {
            "_links": {"self": link(f"{self.api}/flows/{flow['id']}/versions/{number}"), "environment": link(self.api)},
            "flow": {"id": flow["id"], "name": content.pop("name", "")},
            "environment": {"id": self.env.id},
            "description": content.pop("description", ""),
            "version": number,
        }
        variables = content.pop("variables", None)
        if variables:
            if not values:
                variables = [_without_value(var) for var in variables]
            out["variables"] = variables  # seed 002: a flow without variables has no `variables` key
        out["enabled"] = content.pop("enabled", True)
        # The spec requires publishedVersion; for a never-deployed flow it is 0, as in legacy exports of such flows
        # (tfprovider simple.json: currentVersion 0, publishedVersion 0).
        out["publishedVersion"] = flow.get("publishedVersion") or 0
        out.update(content)
        for key in ("alias", "clonedFrom"):
            if version.get(key) is not None:
                out[key] = version[key]
        out["createdAt"] = version["createdAt"]
        out["updatedAt"] = version["updatedAt"]
        out = {k: out[k] for k in sorted(out, key=_export_rank)}
        # No deployedAt: seed 002's real export of a published version has none (the spec allows it).
        return out

    def imported(self, flow: dict) -> dict:
        """DaVinciImportFlowResponse: the new flow's version 1 as exported, with the flow's links."""
        out = self.export(flow, 1, values=True)
        href = f"{self.api}/flows/{flow['id']}"
        out["_links"] = {**self.flow(flow)["_links"], "flow.export": link(f"{href}/versions/1"), "self": link(href)}
        return out

    def variables(self) -> list[dict]:
        """Every variable of the environment (DaVinciVariableResponse): the environment's own plus the flows'."""
        seen: dict[tuple, dict] = {}
        # A flow's variable written through /variables (PUT) is stored as the environment's and wins; one deleted
        # (DELETE) is remembered by id, as it still appears inside the flow's versions.
        deleted = set(self.store.data.get("deletedVariables") or ())
        for var in self.store.data["variables"]:
            item = {k: v for k, v in var.items()}
            item.setdefault("createdAt", "2026-01-01T00:00:00.000Z")
            item.setdefault("updatedAt", item["createdAt"])
            seen[variable_key(item)] = item
        for flow in self.store.flows():
            for var in self.store.current(flow).get("variables") or []:
                parts = str(var.get("name", "")).split("##SK##")
                base, context = parts[0], var.get("context") or (parts[1] if len(parts) > 1 else "flowInstance")
                flow_ref = parts[2] if len(parts) > 2 else (flow["id"] if context == "flow" else None)
                key = (context, base, flow_ref)
                if key in seen or not base:
                    continue
                fields = var.get("fields") or {}
                item = {"id": var.get("id") or self.store.new_id("variable", *map(str, key)), "name": base,
                        "context": context, "dataType": fields.get("type", "string"),
                        "displayName": fields.get("displayName", ""), "mutable": bool(fields.get("mutable", True))}
                for bound in ("min", "max"):
                    if isinstance(fields.get(bound), (int, float)):
                        item[bound] = fields[bound]
                if isinstance(fields.get("value"), (str, int, float, bool)):
                    item["value"] = fields["value"]
                if flow_ref:
                    item["flow"] = {"id": flow_ref}
                created = var.get("createdDate")
                item["createdAt"] = iso_from_ms(created) if isinstance(created, (int, float)) else flow["createdAt"]
                updated = var.get("updatedDate")
                item["updatedAt"] = iso_from_ms(updated) if isinstance(updated, (int, float)) else item["createdAt"]
                seen[key] = item
        out = []
        seen = {key: item for key, item in seen.items() if item["id"] not in deleted}
        for key in sorted(seen, key=lambda k: (k[0], k[1], k[2] or "")):
            item = dict(seen[key])
            item["environment"] = {"id": self.env.id}
            item["_links"] = {"self": link(f"{self.api}/variables/{item['id']}"), "environment": link(self.api)}
            out.append(item)
        return out

    def application(self, app: dict) -> dict:
        href = f"{self.api}/davinciApplications/{app['id']}"
        out = {"_links": {"self": link(href), "environment": link(self.api),
                          "flowPolicies": link(f"{href}/flowPolicies"),
                          "davinciApplication.rotateKey": link(f"{href}/key"),
                          "davinciApplication.rotateSecret": link(f"{href}/secret")},
               "environment": {"id": self.env.id}}
        out.update({k: copy.deepcopy(v) for k, v in app.items() if k != "flowPolicies"})
        return out

    def policy(self, app: dict, policy: dict) -> dict:
        href = f"{self.api}/davinciApplications/{app['id']}/flowPolicies/{policy['id']}"
        links = {"self": link(href), "environment": link(self.api),
                 "davinciApplication": link(f"{self.api}/davinciApplications/{app['id']}")}
        for i, dist in enumerate(policy.get("flowDistributions") or []):
            links[f"flow.{i}"] = link(f"{self.api}/flows/{dist['id']}")
            links[f"version.{dist['id']}.{i}"] = link(
                f"{self.api}/flows/{dist['id']}/versions/{dist.get('version', -1)}")
        out = {"_links": links, "environment": {"id": self.env.id}, "application": {"id": app["id"]}}
        out.update(copy.deepcopy(policy))
        out.setdefault("createdAt", app.get("createdAt"))
        out.setdefault("updatedAt", app.get("updatedAt"))
        return out


def variable_key(var: dict) -> tuple:
    """What makes a variable unique in an environment: (context, name, flow id or None)."""
    return var.get("context"), var.get("name"), (var.get("flow") or {}).get("id")


# The field order of seed 002's real example; fields it does not show go before the dates.
_EXPORT_ORDER = ("_links", "flow", "environment", "description", "version", "variables", "enabled", "publishedVersion",
                 "connectors", "settings", "color", "graphData", "inputSchema", "outputSchema", "trigger")


def _without_value(var: dict) -> dict:
    """A copy of a flow variable without its value (includeVariableValues false)."""
    var = {k: v for k, v in var.items() if k != "value"}
    if isinstance(var.get("fields"), dict):
        var["fields"] = {k: v for k, v in var["fields"].items() if k != "value"}
    return var


def _export_rank(key: str) -> int:
    if key in ("createdAt", "updatedAt"):
        return 100 + ("createdAt", "updatedAt").index(key)
    return _EXPORT_ORDER.index(key) if key in _EXPORT_ORDER else 50
