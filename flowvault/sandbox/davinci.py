"""PingOne DaVinci Admin API (Platform API, `/v1/environments/{envID}/...`; davinci-api.md §1.3, pingone-openapi.yaml).

Served: flows (list, read, create, replace, import, deploy), versions (list, read, export), variables (paged),
DaVinci applications and their flow policies, plus the `/_sandbox/flows/{flowId}/edit` hook. Responses follow the
OpenAPI schemas; where seed 002's real example and the spec disagree, the example wins (noted inline).
"""

from __future__ import annotations

import base64
import copy

from flowvault.sandbox.app import HttpError, Request, Response, Router, SandboxContext, json_response
from flowvault.sandbox.dvstore import CONTENT_KEYS, Store, iso_from_ms, content_of, split_export
from flowvault.sandbox.token import CLIENT_ID, ENV_ID, require_bearer

EXPORT_TYPE = "application/vnd.pingidentity.flowversion.export+json"
DEPLOY_TYPE = "application/vnd.pingidentity.flow.deploy+json"
IMPORT_TYPES = ("application/vnd.pingidentity.flow.import+json", "application/vnd.pingidentity.flow.import.legacy+json")
VARIABLES_DEFAULT_LIMIT, VARIABLES_MAX_LIMIT = 10, 500
ENV = "/v1/environments/{envID}"


def _link(href: str) -> dict:
    return {"href": href}


class DaVinci:
    """Representations of the store's objects, in the Platform API shape."""

    def __init__(self, ctx: SandboxContext, store: Store) -> None:
        self.ctx = ctx
        self.store = store

    @property
    def api(self) -> str:
        return f"{self.ctx.base_url}/v1/environments/{ENV_ID}"

    def flow(self, flow: dict, keep: set[str] | None = None) -> dict:
        """DaVinciFlowResponse for the flow's current version; only the `keep` fields (+ _links, id) if given.

        A listing with `attributes` copies no graph it would then drop (that copy was ~0.3 s per 100 flows).
        """
        content = self.store.current(flow)
        href = f"{self.api}/flows/{flow['id']}"
        out = {
            "_links": {
                "self": _link(href), "environment": _link(self.api),
                "connectorInstances": _link(f"{self.api}/connectorInstances"), "connectors": _link(f"{self.api}/connectors"),
                "flow.deploy": _link(href), "flow.clone": _link(href), "flow.validate": _link(href),
                "flow.enabled": _link(f"{href}/enabled"), "version": _link(f"{href}/versions/{flow['currentVersion']}"),
            },
            "environment": {"id": ENV_ID},
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
            out = {k: v for k, v in out.items() if k in keep or k in ("_links", "id")}
        return out

    def version(self, flow: dict, number: int) -> dict:
        """DaVinciFlowVersionResponse."""
        version = flow["versions"][str(number)]
        href = f"{self.api}/flows/{flow['id']}/versions/{number}"
        out = {
            "_links": {"self": _link(href), "environment": _link(self.api), "details": _link(f"{href}/details"),
                       "flow.export": _link(href), "flow.revert": _link(href)},
            "environment": {"id": ENV_ID},
            "flow": {"id": flow["id"], "name": version["content"].get("name", "")},
            "version": number,
            "createdAt": version["createdAt"],
            "updatedAt": version["updatedAt"],
        }
        if version.get("deployedAt"):
            out["deployedAt"] = version["deployedAt"]
        return out

    def export(self, flow: dict, number: int, values: bool) -> dict:
        """DaVinciExportFlowVersionResponse, in the field order of seed 002's example.

        Shares its nested objects with the store (a deep copy of every graph was most of an export's time, under the
        sandbox lock): serialize it under ctx.lock, or deep-copy it before changing anything inside."""
        version = flow["versions"][str(number)]
        content = dict(version["content"])
        out = {
            "_links": {"self": _link(f"{self.api}/flows/{flow['id']}/versions/{number}"), "environment": _link(self.api)},
            "flow": {"id": flow["id"], "name": content.pop("name", "")},
            "environment": {"id": ENV_ID},
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
        out["createdAt"] = version["createdAt"]
        out["updatedAt"] = version["updatedAt"]
        out = {k: out[k] for k in sorted(out, key=_export_rank)}
        # No deployedAt: seed 002's real export of a published version has none (the spec allows it).
        return out

    def imported(self, flow: dict) -> dict:
        """DaVinciImportFlowResponse: the new flow's version 1 as exported, with the flow's links."""
        out = self.export(flow, 1, values=True)
        href = f"{self.api}/flows/{flow['id']}"
        out["_links"] = {**self.flow(flow)["_links"], "flow.export": _link(f"{href}/versions/1"), "self": _link(href)}
        return out

    def variables(self) -> list[dict]:
        """Every variable of the environment (DaVinciVariableResponse): the environment's own plus the flows'."""
        seen: dict[tuple, dict] = {}
        for var in self.store.data["variables"]:
            item = {k: v for k, v in var.items()}
            item.setdefault("createdAt", "2026-01-01T00:00:00.000Z")
            item.setdefault("updatedAt", item["createdAt"])
            seen[(item["context"], item["name"], None)] = item
        for flow in self.store.flows():
            for var in self.store.current(flow).get("variables") or []:
                parts = str(var.get("name", "")).split("##SK##")
                base, context = parts[0], var.get("context") or (parts[1] if len(parts) > 1 else "flowInstance")
                flow_ref = parts[2] if len(parts) > 2 else (flow["id"] if context == "flow" else None)
                key = (context, base, flow_ref)
                if key in seen or not base:
                    continue
                fields = var.get("fields") or {}
                item = {"id": var.get("id") or self.ctx.new_id("variable", *map(str, key)), "name": base,
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
        for key in sorted(seen, key=lambda k: (k[0], k[1], k[2] or "")):
            item = dict(seen[key])
            item["environment"] = {"id": ENV_ID}
            item["_links"] = {"self": _link(f"{self.api}/variables/{item['id']}"), "environment": _link(self.api)}
            out.append(item)
        return out

    def application(self, app: dict) -> dict:
        href = f"{self.api}/davinciApplications/{app['id']}"
        out = {"_links": {"self": _link(href), "environment": _link(self.api), "flowPolicies": _link(f"{href}/flowPolicies"),
                          "davinciApplication.rotateKey": _link(f"{href}/key"),
                          "davinciApplication.rotateSecret": _link(f"{href}/secret")},
               "environment": {"id": ENV_ID}}
        out.update({k: copy.deepcopy(v) for k, v in app.items() if k != "flowPolicies"})
        return out

    def policy(self, app: dict, policy: dict) -> dict:
        href = f"{self.api}/davinciApplications/{app['id']}/flowPolicies/{policy['id']}"
        links = {"self": _link(href), "environment": _link(self.api),
                 "davinciApplication": _link(f"{self.api}/davinciApplications/{app['id']}")}
        for i, dist in enumerate(policy.get("flowDistributions") or []):
            links[f"flow.{i}"] = _link(f"{self.api}/flows/{dist['id']}")
            links[f"version.{dist['id']}.{i}"] = _link(f"{self.api}/flows/{dist['id']}/versions/{dist.get('version', -1)}")
        out = {"_links": links, "environment": {"id": ENV_ID}, "application": {"id": app["id"]}}
        out.update(copy.deepcopy(policy))
        out.setdefault("createdAt", app.get("createdAt"))
        out.setdefault("updatedAt", app.get("updatedAt"))
        return out


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


def _require_type(request: Request, *allowed: str) -> None:
    if request.content_type not in allowed:
        raise HttpError(415, "UNSUPPORTED_MEDIA_TYPE",
                        f"Content-Type {request.content_type or '(none)'!r} is not supported here; use {' or '.join(allowed)}")


def _body_object(request: Request) -> dict:
    body = request.json(default={})
    if not isinstance(body, dict):
        raise HttpError(400, "INVALID_DATA", "The request body must be a JSON object")
    return body


def _pointer_set(doc: dict, pointer: str, value) -> None:
    """Set the value at RFC 6901 `pointer` in `doc` (`-` appends to an array)."""
    if not pointer.startswith("/"):
        raise HttpError(400, "INVALID_DATA", f"Not a JSON pointer: {pointer!r}")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]
    target = doc
    for part in parts[:-1]:
        try:
            target = target[int(part)] if isinstance(target, list) else target[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise HttpError(400, "INVALID_DATA", f"{pointer}: no such path in the flow's export") from None
    last = parts[-1]
    if isinstance(target, list):
        if last == "-":
            target.append(value)
            return
        try:
            target[int(last)] = value
        except (IndexError, ValueError):
            raise HttpError(400, "INVALID_DATA", f"{pointer}: no such array index") from None
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise HttpError(400, "INVALID_DATA", f"{pointer}: parent is not an object or array")


def register(router: Router, ctx: SandboxContext) -> None:
    store = Store(ctx)
    dv = DaVinci(ctx, store)
    ctx.state["davinci"] = store

    def auth(request: Request) -> None:
        require_bearer(request, ctx, request.params["envID"])

    # --- flows

    @router.route("GET", ENV + "/flows")
    def list_flows(request: Request) -> Response:
        auth(request)
        attributes = [a.strip() for a in (request.arg("attributes") or "").split(",") if a.strip()]
        with ctx.lock:
            flows = [dv.flow(f, set(attributes) if attributes else None) for f in store.flows()]
        return json_response(200, {"_links": {"self": _link(f"{dv.api}/flows"), "environment": _link(dv.api)},
                                   "_embedded": {"flows": flows}, "count": len(flows)})

    @router.route("GET", ENV + "/flows/{flowID}")
    def read_flow(request: Request) -> Response:
        auth(request)
        with ctx.lock:
            return json_response(200, dv.flow(store.flow(request.params["flowID"])))

    @router.route("POST", ENV + "/flows")
    def create_or_import(request: Request) -> Response:
        auth(request)
        _require_type(request, "application/json", *IMPORT_TYPES)
        body = _body_object(request)
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            raise HttpError(400, "INVALID_DATA", "name is required",
                            details=[{"code": "REQUIRED_VALUE", "target": "name", "message": "name is required"}])
        with ctx.lock:
            if request.content_type == "application/json":
                content = {k: copy.deepcopy(body[k]) for k in CONTENT_KEYS if k in body}
                content.setdefault("enabled", True)
                flow = store.create_flow(content)
                store.save()
                return json_response(201, dv.flow(flow))
            # Import: a new flow per flow in flowInfo (subflows too), ids remapped, nothing deployed (deploy is
            # its own call, davinci-api.md §4); importing a name that exists creates another flow, as create does.
            if "flowInfo" not in body:
                raise HttpError(400, "INVALID_DATA", "flowInfo is required",
                                details=[{"code": "REQUIRED_VALUE", "target": "flowInfo", "message": "flowInfo is required"}])
            try:
                flows = split_export(body["flowInfo"])
            except ValueError as e:
                raise HttpError(400, "INVALID_DATA", f"flowInfo: {e}") from None
            mapping = body.get("flowNameMapping") if isinstance(body.get("flowNameMapping"), dict) else {}
            created = store.import_flows(body["name"].strip(), body.get("description"), flows, mapping)
            store.save()
            main = dv.imported(created[0])
            if len(created) > 1:
                main["_embedded"] = [dv.imported(sub) for sub in created[1:]]
            return json_response(201, main)

    @router.route("PUT", ENV + "/flows/{flowID}")
    def replace_flow(request: Request) -> Response:
        auth(request)
        _require_type(request, "application/json")
        body = _body_object(request)
        with ctx.lock:
            flow = store.flow(request.params["flowID"])
            if not isinstance(body.get("name"), str) or not body["name"].strip():
                raise HttpError(400, "INVALID_DATA", "name is required")
            content = copy.deepcopy(store.current(flow))
            content.update({k: copy.deepcopy(body[k]) for k in CONTENT_KEYS if k in body})
            store.save_version(flow, content)
            store.save()
            return json_response(200, dv.flow(flow))

    @router.route("POST", ENV + "/flows/{flowID}")
    def flow_action(request: Request) -> Response:
        auth(request)
        _require_type(request, DEPLOY_TYPE)
        with ctx.lock:
            flow = store.flow(request.params["flowID"])
            store.deploy(flow)
            store.save()
            return json_response(201, dv.flow(flow))

    # --- versions

    @router.route("GET", ENV + "/flows/{flowID}/versions")
    def list_versions(request: Request) -> Response:
        auth(request)
        with ctx.lock:
            flow = store.flow(request.params["flowID"])
            versions = [dv.version(flow, int(n)) for n in sorted(flow["versions"], key=int, reverse=True)]
        href = f"{dv.api}/flows/{flow['id']}/versions"
        return json_response(200, {"_links": {"self": _link(href), "environment": _link(dv.api)},
                                   "_embedded": {"versions": versions}})

    @router.route("GET", ENV + "/flows/{flowID}/versions/{versionID}")
    def read_version(request: Request) -> Response:
        auth(request)
        with ctx.lock:
            flow = store.flow(request.params["flowID"])
            store.version(flow, request.params["versionID"])
            return json_response(200, dv.version(flow, int(request.params["versionID"])))

    @router.route("POST", ENV + "/flows/{flowID}/versions/{versionID}")
    def export_version(request: Request) -> Response:
        auth(request)
        _require_type(request, EXPORT_TYPE)
        body = _body_object(request)
        for key in ("includeSubFlows", "includeVariableValues", "includeForms"):
            if key in body and not isinstance(body[key], bool):
                raise HttpError(400, "INVALID_DATA", f"{key} must be a boolean",
                                details=[{"code": "INVALID_VALUE", "target": key, "message": "must be a boolean"}])
        with ctx.lock:
            flow = store.flow(request.params["flowID"])
            store.version(flow, request.params["versionID"])
            if flow["id"] in ctx.fail_ids:
                raise HttpError(500, "UNEXPECTED_ERROR", "An unexpected error occurred while exporting the flow version.")
            number = int(request.params["versionID"])
            values = bool(body.get("includeVariableValues"))
            out = dv.export(flow, number, values)
            if body.get("includeSubFlows"):
                content = flow["versions"][str(number)]["content"]
                out["_embedded"] = [dv.export(sub, n, values) for sub, n in store.resolve_subflows(content, flow["id"])]
            return json_response(200, out)  # under the lock: `out` shares the store's objects

    # --- variables

    @router.route("GET", ENV + "/variables")
    def list_variables(request: Request) -> Response:
        auth(request)
        try:
            limit = int(request.arg("limit", str(VARIABLES_DEFAULT_LIMIT)))
            offset = int(base64.urlsafe_b64decode((request.arg("cursor") or "") + "==").decode() or 0) \
                if request.arg("cursor") else 0
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "INVALID_DATA", "limit must be a number and cursor a value from _links.next") from None
        if not 1 <= limit <= VARIABLES_MAX_LIMIT:
            raise HttpError(400, "INVALID_DATA", f"limit must be between 1 and {VARIABLES_MAX_LIMIT}",
                            details=[{"code": "INVALID_VALUE", "target": "limit",
                                      "message": f"must be between 1 and {VARIABLES_MAX_LIMIT}"}])
        with ctx.lock:
            everything = dv.variables()
        page = everything[offset:offset + limit]
        links = {"self": _link(f"{dv.api}/variables?limit={limit}" + (f"&cursor={request.arg('cursor')}" if offset else "")),
                 "environment": _link(dv.api)}
        if offset + limit < len(everything):
            cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode().rstrip("=")
            links["next"] = _link(f"{dv.api}/variables?limit={limit}&cursor={cursor}")
        return json_response(200, {"_links": links, "_embedded": {"variables": page},
                                   "count": len(everything), "size": len(page)})

    @router.route("GET", ENV + "/variables/{variableID}")
    def read_variable(request: Request) -> Response:
        auth(request)
        with ctx.lock:
            for var in dv.variables():
                if var["id"] == request.params["variableID"]:
                    return json_response(200, var)
        raise HttpError(404, "NOT_FOUND", f"Unable to find variable with ID: '{request.params['variableID']}'")

    # --- applications and flow policies

    def find_app(app_id: str) -> dict:
        for app in store.data["applications"]:
            if app["id"] == app_id:
                return app
        raise HttpError(404, "NOT_FOUND", f"Unable to find DaVinci application with ID: '{app_id}'")

    @router.route("GET", ENV + "/davinciApplications")
    def list_apps(request: Request) -> Response:
        auth(request)
        with ctx.lock:
            apps = [dv.application(a) for a in store.data["applications"]]
        return json_response(200, {"_links": {"self": _link(f"{dv.api}/davinciApplications"), "environment": _link(dv.api)},
                                   "_embedded": {"davinciApplications": apps}})

    @router.route("GET", ENV + "/davinciApplications/{appID}")
    def read_app(request: Request) -> Response:
        auth(request)
        with ctx.lock:
            return json_response(200, dv.application(find_app(request.params["appID"])))

    @router.route("GET", ENV + "/davinciApplications/{appID}/flowPolicies")
    def list_policies(request: Request) -> Response:
        auth(request)
        with ctx.lock:
            app = find_app(request.params["appID"])
            policies = [dv.policy(app, p) for p in app.get("flowPolicies") or []]
        href = f"{dv.api}/davinciApplications/{app['id']}"
        return json_response(200, {"_links": {"self": _link(f"{href}/flowPolicies"), "environment": _link(dv.api),
                                              "davinciApplication": _link(href)},
                                   "_embedded": {"flowPolicies": policies}})

    @router.route("GET", ENV + "/davinciApplications/{appID}/flowPolicies/{policyID}")
    def read_policy(request: Request) -> Response:
        auth(request)
        with ctx.lock:
            app = find_app(request.params["appID"])
            for policy in app.get("flowPolicies") or []:
                if policy["id"] == request.params["policyID"]:
                    return json_response(200, dv.policy(app, policy))
        raise HttpError(404, "NOT_FOUND", f"Unable to find flow policy with ID: '{request.params['policyID']}'")

    # --- test hook: a designer edits and saves a flow

    @router.route("POST", "/_sandbox/flows/{flowId}/edit")
    def edit_flow(request: Request) -> Response:
        edits = _body_object(request)
        with ctx.lock:
            flow = store.flow(request.params["flowId"])
            doc = copy.deepcopy(dv.export(flow, flow["currentVersion"], values=True))
            for pointer, value in edits.items():
                _pointer_set(doc, pointer, value)
            content = content_of(doc, "platform")
            store.save_version(flow, content)
            store.save()
            return json_response(200, dv.flow(flow))


def config_sources(base_url: str) -> dict[str, dict]:
    """The [sources.davinci] table for --write-config (keys of flowvault.sources.davinci.Settings)."""
    return {"davinci": {
        "type": "davinci",
        "api_url": f"{base_url}/v1",
        "auth_url": base_url,
        "environment_id": ENV_ID,
        "client_id": CLIENT_ID,
        "client_secret": "${FLOWVAULT_SANDBOX_SECRET}",
        "include_subflows": True,
        "include_variable_values": True,
    }}
