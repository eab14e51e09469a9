"""DaVinci variables, connector instances, applications and flow policies of one environment (pingone-openapi.yaml).

Registered by davinci.py with its `route(method, pattern)` decorator: handlers get `(request, dv)` once the token
is checked for the environment (and, for a write, once fail_writes admits it). Writes as the spec declares them:
variables create (201) / replace (200) / delete (204); connector instances create / replace / delete; flow policies
create (201) / replace (200) / delete (204). Bodies are checked for the spec's required fields and enums, errors
are the PingOne error body with `details[].target`.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

from flowvault.sandbox.app import (
    HttpError,
    Request,
    Response,
    SandboxContext,
    json_response,
)
from flowvault.sandbox.dvviews import DaVinci, link, variable_key

VARIABLES_DEFAULT_LIMIT, VARIABLES_MAX_LIMIT = 10, 500
VARIABLE_CONTEXTS = ("company", "flow", "flowInstance", "user")
VARIABLE_TYPES = ("boolean", "number", "object", "secret", "string")
POLICY_STATUSES = ("enabled", "disabled")


def _invalid(target: str, message: str, code: str = "INVALID_VALUE") -> HttpError:
    return HttpError(400, "INVALID_DATA", f"{target}: {message}", details=[{"code": code, "target": target,
                                                                             "message": message}])


def _json_object(request: Request) -> dict:
    if request.content_type != "application/json":
        raise HttpError(415, "INVALID_REQUEST",  # UnsupportedMediaTypeError.code
                        f"Content-Type {request.content_type or '(none)'!r} is not supported here; "
                        "use application/json")
    body = request.json(default=None)
    if not isinstance(body, dict):
        raise HttpError(400, "INVALID_DATA", "The request body must be a JSON object")
    return body


def _variable_fields(body: dict, dv: DaVinci) -> dict:
    """The stored fields of a DaVinciVariableCreateRequest / ReplaceRequest body; 400 naming the first bad field."""
    for key in ("name", "context", "dataType", "mutable"):
        if key not in body:
            raise _invalid(key, f"{key} is required", "REQUIRED_VALUE")
    if not isinstance(body["name"], str) or not body["name"].strip():
        raise _invalid("name", "must be a non-empty string")
    if body["context"] not in VARIABLE_CONTEXTS:
        raise _invalid("context", f"must be one of {', '.join(VARIABLE_CONTEXTS)}")
    if body["dataType"] not in VARIABLE_TYPES:
        raise _invalid("dataType", f"must be one of {', '.join(VARIABLE_TYPES)}")
    if not isinstance(body["mutable"], bool):
        raise _invalid("mutable", "must be a boolean")
    out = {k: body[k] for k in ("name", "context", "dataType", "mutable")}
    if "displayName" in body:
        if not isinstance(body["displayName"], str):
            raise _invalid("displayName", "must be a string")
        out["displayName"] = body["displayName"]
    for bound in ("min", "max"):
        if bound in body:
            if not isinstance(body[bound], int) or isinstance(body[bound], bool):
                raise _invalid(bound, "must be an integer")
            out[bound] = body[bound]
    if "value" in body:
        if not isinstance(body["value"], (bool, int, float, str, dict)):
            raise _invalid("value", "must be a boolean, number, object or string")
        out["value"] = copy.deepcopy(body["value"])
    flow = body.get("flow")
    if flow is not None:
        if not isinstance(flow, dict) or not isinstance(flow.get("id"), str):
            raise _invalid("flow.id", "flow must be {\"id\": \"<flow id>\"}")
        if flow["id"] not in dv.store.data["flows"]:
            raise _invalid("flow.id", f"no flow with ID '{flow['id']}' in this environment")
        out["flow"] = {"id": flow["id"]}
    elif body["context"] == "flow":
        raise _invalid("flow", "a flow variable needs flow.id", "REQUIRED_VALUE")
    return out


def _instance_fields(body: dict) -> dict:
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise _invalid("name", "name is required", "REQUIRED_VALUE")
    connector = body.get("connector")
    if not isinstance(connector, dict) or not isinstance(connector.get("id"), str) or not connector["id"]:
        raise _invalid("connector.id", "connector.id is required", "REQUIRED_VALUE")
    properties = body.get("properties", {})
    if not isinstance(properties, dict):
        raise _invalid("properties", "must be an object")
    return {"name": body["name"], "connector": {"id": connector["id"]}, "properties": copy.deepcopy(properties)}


def _policy_fields(body: dict, dv: DaVinci, name_required: bool) -> dict:
    """The stored fields of a DaVinciFlowPolicyCreateRequest / ReplaceRequest body (flows must exist here)."""
    out: dict[str, Any] = {}
    if "name" in body or name_required:
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            raise _invalid("name", "name is required", "REQUIRED_VALUE")
        out["name"] = body["name"]
    dists = body.get("flowDistributions")
    if dists is None and not name_required:  # create: flowDistributions is required
        raise _invalid("flowDistributions", "flowDistributions is required", "REQUIRED_VALUE")
    if dists is not None:
        if not isinstance(dists, list):
            raise _invalid("flowDistributions", "must be an array")
        for i, dist in enumerate(dists):
            target = f"flowDistributions[{i}]"
            if not isinstance(dist, dict) or not isinstance(dist.get("id"), str) or not dist["id"]:
                raise _invalid(f"{target}.id", "id is required", "REQUIRED_VALUE")
            if not isinstance(dist.get("version"), (int, float)) or isinstance(dist.get("version"), bool):
                raise _invalid(f"{target}.version", "version is required (a number; -1 for the deployed version)",
                               "REQUIRED_VALUE")
            flow = dv.store.data["flows"].get(dist["id"])
            if flow is None:
                raise _invalid(f"{target}.id", f"no flow with ID '{dist['id']}' in this environment")
            if dist["version"] != -1 and str(int(dist["version"])) not in flow["versions"]:
                raise _invalid(f"{target}.version", f"flow '{dist['id']}' has no version {dist['version']}")
        out["flowDistributions"] = copy.deepcopy(dists)
    status = body.get("status", "enabled")
    if status not in POLICY_STATUSES:
        raise _invalid("status", f"must be one of {', '.join(POLICY_STATUSES)}")
    out["status"] = status
    if "trigger" in body:
        if not isinstance(body["trigger"], dict):
            raise _invalid("trigger", "must be an object")
        out["trigger"] = copy.deepcopy(body["trigger"])
    return out


def register(route: Callable[[str, str], Callable], ctx: SandboxContext) -> None:

    def now() -> str:
        return ctx.clock.iso(ctx.clock.tick(1))

    # --- variables

    @route("GET", "/variables")
    def list_variables(request: Request, dv: DaVinci) -> Response:
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
        links = {"self": link(f"{dv.api}/variables?limit={limit}"
                              + (f"&cursor={request.arg('cursor')}" if offset else "")),
                 "environment": link(dv.api)}
        if offset + limit < len(everything):
            cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode().rstrip("=")
            links["next"] = link(f"{dv.api}/variables?limit={limit}&cursor={cursor}")
        return json_response(200, {"_links": links, "_embedded": {"variables": page},
                                   "count": len(everything), "size": len(page)})

    def find_variable(dv: DaVinci, variable_id: str) -> dict:
        for var in dv.variables():
            if var["id"] == variable_id:
                return var
        raise HttpError(404, "NOT_FOUND", f"Unable to find variable with ID: '{variable_id}'")

    @route("GET", "/variables/{variableID}")
    def read_variable(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            return json_response(200, find_variable(dv, request.params["variableID"]))

    @route("POST", "/variables")
    def create_variable(request: Request, dv: DaVinci) -> Response:
        body = _json_object(request)
        with ctx.lock:
            fields = _variable_fields(body, dv)
            existing = {variable_key(v): v["id"] for v in dv.variables()}
            if variable_key(fields) in existing:
                raise HttpError(400, "INVALID_DATA",
                                f"A variable named {fields['name']!r} already exists in this context",
                                details=[{"code": "UNIQUENESS_VIOLATION", "target": "name",
                                          "message": "name must be unique within its context",
                                          "innerError": {"existingId": existing[variable_key(fields)]}}])
            stamp = now()
            fields.update(id=dv.store.new_id("variable", "created", dv.store.next_serial()), createdAt=stamp,
                          updatedAt=stamp)
            dv.store.data["variables"].append(fields)
            dv.store.save()
            return json_response(201, find_variable(dv, fields["id"]))

    @route("PUT", "/variables/{variableID}")
    def replace_variable(request: Request, dv: DaVinci) -> Response:
        body = _json_object(request)
        with ctx.lock:
            current = find_variable(dv, request.params["variableID"])
            fields = _variable_fields(body, dv)
            clash = [v for v in dv.variables() if variable_key(v) == variable_key(fields) and v["id"] != current["id"]]
            if clash:
                raise HttpError(400, "INVALID_DATA",
                                f"A variable named {fields['name']!r} already exists in this context",
                                details=[{"code": "UNIQUENESS_VIOLATION", "target": "name",
                                          "message": "name must be unique within its context",
                                          "innerError": {"existingId": clash[0]["id"]}}])
            fields.update(id=current["id"], createdAt=current.get("createdAt"), updatedAt=now())
            # Stored as the environment's own variable, which also overrides a flow's copy of it.
            dv.store.data["variables"] = [v for v in dv.store.data["variables"] if v["id"] != current["id"]] + [fields]
            dv.store.save()
            return json_response(200, find_variable(dv, current["id"]))

    @route("DELETE", "/variables/{variableID}")
    def delete_variable(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            current = find_variable(dv, request.params["variableID"])
            dv.store.data["variables"] = [v for v in dv.store.data["variables"] if v["id"] != current["id"]]
            dv.store.data.setdefault("deletedVariables", []).append(current["id"])
            dv.store.save()
        return Response(204)

    # --- connector instances

    def find_instance(dv: DaVinci, instance_id: str) -> dict:
        for instance in dv.store.data["connectorInstances"]:
            if instance["id"] == instance_id:
                return instance
        raise HttpError(404, "NOT_FOUND", f"Unable to find connector instance with ID: '{instance_id}'")

    @route("GET", "/connectorInstances")
    def list_instances(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            items = [dv.connector_instance(i) for i in dv.store.data["connectorInstances"]]
        return json_response(200, {"_links": {"self": link(f"{dv.api}/connectorInstances"),
                                              "environment": link(dv.api)},
                                   "_embedded": {"connectorInstances": items}})

    @route("GET", "/connectorInstances/{instanceID}")
    def read_instance(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            return json_response(200, dv.connector_instance(find_instance(dv, request.params["instanceID"])))

    @route("POST", "/connectorInstances")
    def create_instance(request: Request, dv: DaVinci) -> Response:
        body = _json_object(request)
        with ctx.lock:
            fields = _instance_fields(body)
            stamp = now()
            fields.update(id=dv.store.new_id("connectorInstance", dv.store.next_serial()).replace("-", ""),
                          createdAt=stamp, updatedAt=stamp)
            dv.store.data["connectorInstances"].append(fields)
            dv.store.save()
            return json_response(201, dv.connector_instance(fields))

    @route("PUT", "/connectorInstances/{instanceID}")
    def replace_instance(request: Request, dv: DaVinci) -> Response:
        body = _json_object(request)
        with ctx.lock:
            instance = find_instance(dv, request.params["instanceID"])
            fields = _instance_fields(body)
            if fields["connector"] != instance["connector"]:
                raise _invalid("connector.id", "an instance's connector cannot change")
            instance.update(fields, updatedAt=now())
            dv.store.save()
            return json_response(200, dv.connector_instance(instance))

    @route("DELETE", "/connectorInstances/{instanceID}")
    def delete_instance(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            instance = find_instance(dv, request.params["instanceID"])
            dv.store.data["connectorInstances"].remove(instance)
            dv.store.save()
        return Response(204)

    # --- applications and flow policies

    def find_app(dv: DaVinci, app_id: str) -> dict:
        for app in dv.store.data["applications"]:
            if app["id"] == app_id:
                return app
        raise HttpError(404, "NOT_FOUND", f"Unable to find DaVinci application with ID: '{app_id}'")

    def find_policy(app: dict, policy_id: str) -> dict:
        for policy in app.get("flowPolicies") or []:
            if policy["id"] == policy_id:
                return policy
        raise HttpError(404, "NOT_FOUND", f"Unable to find flow policy with ID: '{policy_id}'")

    @route("GET", "/davinciApplications")
    def list_apps(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            apps = [dv.application(a) for a in dv.store.data["applications"]]
        return json_response(200, {"_links": {"self": link(f"{dv.api}/davinciApplications"),
                                              "environment": link(dv.api)},
                                   "_embedded": {"davinciApplications": apps}})

    @route("GET", "/davinciApplications/{appID}")
    def read_app(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            return json_response(200, dv.application(find_app(dv, request.params["appID"])))

    @route("GET", "/davinciApplications/{appID}/flowPolicies")
    def list_policies(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            app = find_app(dv, request.params["appID"])
            policies = [dv.policy(app, p) for p in app.get("flowPolicies") or []]
        href = f"{dv.api}/davinciApplications/{app['id']}"
        return json_response(200, {"_links": {"self": link(f"{href}/flowPolicies"), "environment": link(dv.api),
                                              "davinciApplication": link(href)},
                                   "_embedded": {"flowPolicies": policies}})

    @route("GET", "/davinciApplications/{appID}/flowPolicies/{policyID}")
    def read_policy(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            app = find_app(dv, request.params["appID"])
            return json_response(200, dv.policy(app, find_policy(app, request.params["policyID"])))

    @route("POST", "/davinciApplications/{appID}/flowPolicies")
    def create_policy(request: Request, dv: DaVinci) -> Response:
        body = _json_object(request)
        with ctx.lock:
            app = find_app(dv, request.params["appID"])
            fields = _policy_fields(body, dv, name_required=False)
            stamp = now()
            policy = {"id": dv.store.new_id("flowPolicy", dv.store.next_serial()).replace("-", ""),
                      "name": fields.pop("name", ""), **fields, "createdAt": stamp, "updatedAt": stamp}
            app.setdefault("flowPolicies", []).append(policy)
            dv.store.save()
            return json_response(201, dv.policy(app, policy))

    @route("PUT", "/davinciApplications/{appID}/flowPolicies/{policyID}")
    def replace_policy(request: Request, dv: DaVinci) -> Response:
        body = _json_object(request)
        with ctx.lock:
            app = find_app(dv, request.params["appID"])
            policy = find_policy(app, request.params["policyID"])
            fields = _policy_fields(body, dv, name_required=True)
            created = policy.get("createdAt") or app.get("createdAt")
            kept = {"id": policy["id"], "createdAt": created}
            if "flowDistributions" not in fields:
                fields["flowDistributions"] = policy.get("flowDistributions") or []
            policy.clear()
            policy.update(kept, **fields, updatedAt=now())
            dv.store.save()
            return json_response(200, dv.policy(app, policy))

    @route("DELETE", "/davinciApplications/{appID}/flowPolicies/{policyID}")
    def delete_policy(request: Request, dv: DaVinci) -> Response:
        with ctx.lock:
            app = find_app(dv, request.params["appID"])
            app["flowPolicies"].remove(find_policy(app, request.params["policyID"]))
            dv.store.save()
        return Response(204)
