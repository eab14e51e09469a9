"""PingOne DaVinci Admin API (Platform API, `/v1/environments/{envID}/...`; davinci-api.md §1.3, pingone-openapi.yaml).

One DaVinci environment per `--environments` name (envs.py), each with its own store. Served here: flows (list,
read, create, import, replace, delete; the deploy, validate and clone actions), versions (list, read, details,
export, revert, alias), and the test hooks `/_sandbox/flows/{flowId}/edit` and `/_sandbox/flows/{flowId}/deploy`;
dvconstructs.py serves variables, connector instances, applications and flow policies. Every admin-API write
(POST/PUT/PATCH/DELETE under /v1/environments/{envID}/) passes the `fail_writes` fault first (POST /_sandbox/faults).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from flowvault.sandbox import dvconstructs
from flowvault.sandbox.app import (
    HttpError,
    Request,
    Response,
    Router,
    SandboxContext,
    json_response,
)
from flowvault.sandbox.dvstore import (
    CONTENT_KEYS,
    Store,
    content_of,
    split_export,
    subflow_refs,
)
from flowvault.sandbox.dvviews import DaVinci, link
from flowvault.sandbox.envs import CLIENT_ID, ENV_ID, Environment, environments
from flowvault.sandbox.token import require_bearer

__all__ = ["CLIENT_ID", "ENV_ID", "Environments", "config_sources", "register"]  # ENV_ID, CLIENT_ID: the default's

EXPORT_TYPE = "application/vnd.pingidentity.flowversion.export+json"
REVERT_TYPE = "application/vnd.pingidentity.flowversion.revert+json"  # davinci-api.md §1.3 (docs only)
DEPLOY_TYPE = "application/vnd.pingidentity.flow.deploy+json"
VALIDATE_TYPE = "application/vnd.pingidentity.flow.validate+json"
CLONE_TYPE = "application/vnd.pingidentity.flow.clone+json"
IMPORT_TYPES = ("application/vnd.pingidentity.flow.import+json", "application/vnd.pingidentity.flow.import.legacy+json")
ENV = "/v1/environments/{envID}"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class Environments:
    """The served DaVinci environments: each one's store and representations, by environment id and by name."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.views: dict[str, DaVinci] = {}  # environment id -> views (with .store and .env)
        for env in environments(ctx):
            self.views[env.id] = DaVinci(ctx, Store(ctx, env))

    @property
    def data(self) -> dict:
        """Every environment's state by name (what a secret scan of ctx.state walks)."""
        return {dv.env.name: dv.store.data for dv in self.views.values()}

    @property
    def first(self) -> DaVinci:
        return next(iter(self.views.values()))

    def all(self) -> list[DaVinci]:
        return list(self.views.values())

    def get(self, env_id: str) -> DaVinci | None:
        return self.views.get(env_id)

    def holding(self, flow_id: str) -> DaVinci:
        """The environment that holds flow `flow_id` (flow ids are unique across environments); 404 if none."""
        for dv in self.views.values():
            if flow_id in dv.store.data["flows"]:
                return dv
        raise HttpError(404, "NOT_FOUND", f"Unable to find flow with ID: '{flow_id}'")


def routes(router: Router, ctx: SandboxContext, envs: Environments) -> Callable[[str, str], Callable]:
    """A decorator factory for `/v1/environments/{envID}` routes: `handler(request, dv)` runs once the bearer
    token is checked for that environment and, for a write, once the environment's fail_writes fault admits it."""

    def route(method: str, pattern: str) -> Callable:
        def decorate(handler: Callable[[Request, DaVinci], Response]) -> Callable:
            def guarded(request: Request) -> Response:
                require_bearer(request, ctx, request.params["envID"])
                dv = envs.get(request.params["envID"])
                if dv is None:  # a token is only ever issued for a served environment
                    raise HttpError(403, "ACCESS_FAILED", "The request could not be completed. "
                                    "You do not have access to this resource.")
                if method in WRITE_METHODS and not ctx.admit_write(dv.env.name):
                    raise HttpError(500, "UNEXPECTED_ERROR", "An unexpected error occurred. Try again later.")
                return handler(request, dv)

            router.add(method, ENV + pattern, guarded)
            return handler

        return decorate

    return route


def _require_type(request: Request, *allowed: str) -> None:
    if request.content_type not in allowed:
        raise HttpError(415, "INVALID_REQUEST",  # UnsupportedMediaTypeError.code
                        f"Content-Type {request.content_type or '(none)'!r} is not supported here; "
                        f"use {' or '.join(allowed)}")


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
    envs = Environments(ctx)
    ctx.state["davinci"] = envs.first.store  # the first environment's store, as before environments existed
    ctx.state["davinci_environments"] = envs
    ctx.state["index"] = {"environments": [
        {"name": dv.env.name, "id": dv.env.id, "api": dv.api, "token": f"{ctx.base_url}/{dv.env.id}/as/token"}
        for dv in envs.all()]}
    route = routes(router, ctx, envs)

    # --- flows

    @route("GET", "/flows")
    def list_flows(request: Request, dv: DaVinci) -> Response:
        attributes = _attributes(request)
        with ctx.lock:
            flows = [dv.flow(f, attributes) for f in dv.store.flows()]
        return json_response(200, {"_links": {"self": link(f"{dv.api}/flows"), "environment": link(dv.api)},
                                   "_embedded": {"flows": flows}, "count": len(flows)})

    @route("GET", "/flows/{flowID}")
    def read_flow(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            return json_response(200, dv.flow(dv.store.flow(request.params["flowID"]), _attributes(request)))

    @route("POST", "/flows")
    def create_or_import(request: Request, dv: DaVinci) -> Response:
        store = dv.store
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
                                details=[{"code": "REQUIRED_VALUE", "target": "flowInfo",
                                          "message": "flowInfo is required"}])
            try:
                flows = split_export(body["flowInfo"])
            except ValueError as e:
                raise HttpError(400, "INVALID_DATA", f"flowInfo: {e}") from None
            mapping = body.get("flowNameMapping")
            if not isinstance(mapping, dict):
                mapping = {}
            created = store.import_flows(body["name"].strip(), body.get("description"), flows, mapping)
            store.save()
            main = dv.imported(created[0])
            if len(created) > 1:
                main["_embedded"] = [dv.imported(sub) for sub in created[1:]]
            return json_response(201, main)

    @route("PUT", "/flows/{flowID}")
    def replace_flow(request: Request, dv: DaVinci) -> Response:
        _require_type(request, "application/json")
        body = _body_object(request)
        with ctx.lock:
            flow = dv.store.flow(request.params["flowID"])
            if not isinstance(body.get("name"), str) or not body["name"].strip():
                raise HttpError(400, "INVALID_DATA", "name is required",
                                details=[{"code": "REQUIRED_VALUE", "target": "name", "message": "name is required"}])
            content = copy.deepcopy(dv.store.current(flow))
            content.update({k: copy.deepcopy(body[k]) for k in CONTENT_KEYS if k in body})
            dv.store.save_version(flow, content)
            dv.store.save()
            return json_response(200, dv.flow(flow))

    @route("DELETE", "/flows/{flowID}")
    def delete_flow(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            dv.store.delete_flow(dv.store.flow(request.params["flowID"]))
            dv.store.save()
        return Response(204)

    @route("POST", "/flows/{flowID}")
    def flow_action(request: Request, dv: DaVinci) -> Response:
        # One path, three actions, told apart by Content-Type (pingone-openapi.yaml #deploy+json, #validate+json,
        # #clone+json).
        _require_type(request, DEPLOY_TYPE, VALIDATE_TYPE, CLONE_TYPE)
        body = _body_object(request)
        with ctx.lock:
            flow = dv.store.flow(request.params["flowID"])
            if request.content_type == DEPLOY_TYPE:
                # "promotes the current version of the flow to the deployed state"
                dv.store.deploy(flow)
                dv.store.save()
                return json_response(201, dv.flow(flow))
            if request.content_type == VALIDATE_TYPE:
                return json_response(200, _validated(dv, flow, body))
            name = body.get("name", f"{dv.store.current(flow).get('name', '')} (clone)")
            if not isinstance(name, str) or not name.strip():
                raise HttpError(400, "INVALID_DATA", "name must be a non-empty string",
                                details=[{"code": "INVALID_VALUE", "target": "name",
                                          "message": "must be a non-empty string"}])
            content = copy.deepcopy(dv.store.current(flow))
            content["name"] = name.strip()
            clone = dv.store.create_flow(content)
            dv.store.save()
            return json_response(201, dv.flow(clone))

    # --- versions

    @route("GET", "/flows/{flowID}/versions")
    def list_versions(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            flow = dv.store.flow(request.params["flowID"])
            versions = [dv.version(flow, int(n)) for n in sorted(flow["versions"], key=int, reverse=True)]
        href = f"{dv.api}/flows/{flow['id']}/versions"
        return json_response(200, {"_links": {"self": link(href), "environment": link(dv.api)},
                                   "_embedded": {"versions": versions}})

    @route("GET", "/flows/{flowID}/versions/{versionID}")
    def read_version(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            flow = dv.store.flow(request.params["flowID"])
            dv.store.version(flow, request.params["versionID"])
            return json_response(200, dv.version(flow, int(request.params["versionID"])))

    @route("GET", "/flows/{flowID}/versions/{versionID}/details")
    def version_details(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            flow = dv.store.flow(request.params["flowID"])
            dv.store.version(flow, request.params["versionID"])
            return json_response(200, dv.details(flow, int(request.params["versionID"])))

    @route("PUT", "/flows/{flowID}/versions/{versionID}/alias")
    def set_alias(request: Request, dv: DaVinci) -> Response:
        _require_type(request, "application/json")
        body = _body_object(request)
        alias = body.get("alias")
        if not isinstance(alias, str):
            raise HttpError(400, "INVALID_DATA", "alias is required",
                            details=[{"code": "REQUIRED_VALUE", "target": "alias", "message": "alias is required"}])
        with ctx.lock:
            flow = dv.store.flow(request.params["flowID"])
            version = dv.store.version(flow, request.params["versionID"])
            version["alias"] = alias
            dv.store.save()
        href = f"{dv.api}/flows/{flow['id']}/versions/{request.params['versionID']}"
        return json_response(200, {"_links": {"self": link(f"{href}/alias"), "environment": link(dv.api),
                                              "flowVersion": link(href)}, "alias": alias})

    @route("POST", "/flows/{flowID}/versions/{versionID}")
    def version_action(request: Request, dv: DaVinci) -> Response:
        _require_type(request, EXPORT_TYPE, REVERT_TYPE)
        body = _body_object(request)
        if request.content_type == REVERT_TYPE:
            # Revert saves the version's configuration as a new current version (clonedFrom names its origin);
            # the spec's 201 DaVinciFlowVersionResponse on this path is that answer. Deploying stays its own call.
            with ctx.lock:
                flow = dv.store.flow(request.params["flowID"])
                source = dv.store.version(flow, request.params["versionID"])
                number = dv.store.save_version(flow, copy.deepcopy(source["content"]),
                                               cloned_from=int(request.params["versionID"]))
                dv.store.save()
                return json_response(201, dv.version(flow, number))
        for key in ("includeSubFlows", "includeVariableValues", "includeForms"):
            if key in body and not isinstance(body[key], bool):
                raise HttpError(400, "INVALID_DATA", f"{key} must be a boolean",
                                details=[{"code": "INVALID_VALUE", "target": key, "message": "must be a boolean"}])
        with ctx.lock:
            flow = dv.store.flow(request.params["flowID"])
            dv.store.version(flow, request.params["versionID"])
            if flow["id"] in ctx.fail_ids:
                raise HttpError(500, "UNEXPECTED_ERROR",
                                "An unexpected error occurred while exporting the flow version.")
            number = int(request.params["versionID"])
            values = bool(body.get("includeVariableValues"))
            out = dv.export(flow, number, values)
            if body.get("includeSubFlows"):
                content = flow["versions"][str(number)]["content"]
                out["_embedded"] = [dv.export(sub, n, values)
                                    for sub, n in dv.store.resolve_subflows(content, flow["id"])]
            return json_response(200, out)  # under the lock: `out` shares the store's objects

    dvconstructs.register(route, ctx)

    # --- test hooks: a designer edits and saves a flow, or deploys one of its versions

    @router.route("POST", "/_sandbox/flows/{flowId}/edit")
    def edit_flow(request: Request) -> Response:
        edits = _body_object(request)
        alias = edits.pop("alias", None)
        if alias is not None and not isinstance(alias, str):
            raise HttpError(400, "INVALID_DATA", "alias must be a string")
        with ctx.lock:
            dv = envs.holding(request.params["flowId"])
            flow = dv.store.flow(request.params["flowId"])
            doc = copy.deepcopy(dv.export(flow, flow["currentVersion"], values=True))
            for pointer, value in edits.items():
                _pointer_set(doc, pointer, value)
            if "name" in doc:  # a rename: `/name` as the flow (DaVinciFlowResponse) has it; the export's flow.name
                name = doc.pop("name")
                if not isinstance(name, str) or not name.strip():  # as PUT /flows/{flowID} answers
                    raise HttpError(400, "INVALID_DATA", "name is required", details=[
                        {"code": "REQUIRED_VALUE", "target": "name", "message": "name is required"}])
                doc["flow"]["name"] = name
            content = content_of(doc, "platform", dv.env.id)
            dv.store.save_version(flow, content, alias=alias)
            dv.store.save()
            return json_response(200, dv.flow(flow))

    @router.route("POST", "/_sandbox/flows/{flowId}/deploy")
    def deploy_hook(request: Request) -> Response:
        body = _body_object(request)
        with ctx.lock:
            dv = envs.holding(request.params["flowId"])
            flow = dv.store.flow(request.params["flowId"])
            number = body.get("version", flow["currentVersion"])
            if not isinstance(number, int) or isinstance(number, bool):
                raise HttpError(400, "INVALID_DATA", 'Expected {"version": <a version number>} or {}')
            dv.store.version(flow, str(number))
            dv.store.deploy(flow, number)
            dv.store.save()
            return json_response(200, dv.flow(flow))


def _attributes(request: Request) -> set[str] | None:
    """The `attributes=` query parameter as a set of top-level fields, or None for every field."""
    names = {a.strip() for value in request.query.get("attributes", []) for a in value.split(",") if a.strip()}
    return names or None


def _validated(dv: DaVinci, flow: dict, body: dict) -> dict:
    """The flow as the validate action answers it: DaVinciFlowResponse with the linter's counts and findings for the
    graph in the body (else the current version's). Checked: edges between existing nodes, nodes' connector
    instances exist in this environment, subflow calls name an existing flow. Nothing is saved."""
    graph = (body.get("graphData") if isinstance(body.get("graphData"), dict)
             else dv.store.current(flow).get("graphData"))
    graph = copy.deepcopy(graph or {})
    elements = graph.get("elements") or {}
    nodes = [n for n in elements.get("nodes") or [] if isinstance(n, dict)]
    node_ids = {(n.get("data") or {}).get("id") for n in nodes}
    instances = {i["id"] for i in dv.store.data["connectorInstances"]}
    findings = []

    def finding(code: str, message: str, recommendation: str, node_id: str | None = None) -> None:
        item = {"code": code, "message": message, "type": "error", "recommendation": recommendation,
                "flowId": flow["id"]}
        if node_id:
            item["nodeId"] = node_id
        findings.append(item)

    for edge in elements.get("edges") or []:
        data = (edge or {}).get("data") or {}
        for end in ("source", "target"):
            if data.get(end) not in node_ids:
                finding("dv-er-edge-001", f"Edge {data.get('id')} has no {end} node {data.get(end)!r}",
                        "Remove the edge or reconnect it")
    for node in nodes:
        data = node.get("data") or {}
        connection = data.get("connectionId")
        if connection and connection not in instances:
            finding("dv-er-connection-001", f"Node {data.get('id')} uses connector instance {connection!r}, "
                    "which this environment does not have", "Select a connector instance of this environment",
                    data.get("id"))
    for sub_id, _ in subflow_refs({"graphData": graph}):
        if sub_id not in dv.store.data["flows"]:
            finding("dv-er-subflow-001", f"Subflow {sub_id!r} does not exist in this environment",
                    "Select an existing flow")
    out = dv.flow(flow)
    graph["allLinterErrors"] = findings
    out["graphData"] = graph
    out["dvlinterErrorCount"] = len(findings)
    out["dvlinterWarningCount"] = 0
    return out


def config_sources(base_url: str, ctx: SandboxContext | None = None) -> dict[str, dict]:
    """A [sources.<environment name>] table per environment for --write-config (keys of
    flowvault.sources.davinci.Settings); without a context, the default environment's."""
    envs = environments(ctx) if ctx is not None else [Environment("davinci", ENV_ID, CLIENT_ID)]
    return {env.name: {
        "type": "davinci",
        "api_url": f"{base_url}/v1",
        "auth_url": base_url,
        "environment_id": env.id,
        "client_id": env.client_id,
        "client_secret": "${FLOWVAULT_SANDBOX_SECRET}",
        "include_subflows": True,
        "include_variable_values": True,
    } for env in envs}
