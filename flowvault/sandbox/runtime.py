"""DaVinci runtime: POST /v1/company/{companyId}/policy/{policyId}/start with X-SK-API-KEY (seed 000,
davinci-api.md §1.5).

The company id is the environment's id (one DaVinci company per served environment). The policy's flow runs from
its DEPLOYED version, or from the version its flow distribution pins (a version other than -1). The sandbox does
not execute connectors; it walks the graph:
- it starts at the flow's START node, else at the first node (in export order) that no edge enters and that is not
  an annotation;
- a CONNECTION node is taken to succeed, so the walk follows its edges; an EVAL node passes the walk on to every
  target whose condition fires when its trigger succeeded (`allTriggersTrue`, `anyTriggersTrue`, `always`,
  `allTriggersComplete`, or no condition set) and not to `allTriggersFalse` / `anyTriggersFalse` targets; of several
  branches, the first in edge order that reaches an answer wins;
- a flowConnector subflow call walks the subflow's deployed version: its success continues the caller, its error
  or UI node ends the run;
- the run ends at an HTTP "Send Success JSON Response" (createSuccessResponse: 200 with the node's JSON), an HTTP
  "Send Error JSON Response" (createErrorResponse: 400 with `capabilityName: createErrorResponse`), or a node that
  shows a page, which a headless API start cannot do ("This method is effective for flows without a UI component",
  seed 000): 400 naming that node's capability, which is not createErrorResponse, so a caller reads it as a
  misconfigured flow (davinci-api.md §1.5). A walk that reaches no answer is answered the same way.
Response bodies carry the DaVinci runtime envelope fields (interactionId, companyId, flowId, connectorId,
capabilityName, id, success); the success JSON's name/value pairs are under `additionalProperties`, where the
DaVinci widget's success callback finds them. Rendering of values: literal text is kept, `{{global.parameters.X}}`
becomes the input's X, other references become "".
"""

from __future__ import annotations

import json
import re

from flowvault.sandbox.app import HttpError, Request, Response, Router, SandboxContext, json_response
from flowvault.sandbox.envs import ENV_ID, derive, environments

OK_POLICY, FAIL_POLICY = "e31c3b327523685b8e71ab9d76c8a0c1", "e31c3b327523685b8e71ab9d76c8fa11"  # environment.json

FIRES = {"allTriggersTrue", "anyTriggersTrue", "always", "allTriggersComplete", None, ""}
UI_CAPABILITIES = {"customHtmlMessage", "customHTMLTemplate", "customHtml", "htmlTemplate", "showForm",
                   "returnSuccessResponseRedirect", "startUiSubFlow"}
UI_CONNECTORS = {"pingOneFormsConnector"}
MAX_STEPS = 500
_REF = re.compile(r"\{\{\s*global\.parameters\.([\w.-]+)\s*\}\}")


def render(value, inputs: dict) -> str:
    """The text of a Slate rich-text property value, with input parameters filled in."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return _REF.sub(lambda m: str(inputs.get(m.group(1), "")), value)
        if isinstance(parsed, (list, dict)):
            return render(parsed, inputs)
        return value
    if isinstance(value, list):
        return "".join(render(v, inputs) for v in value)
    if isinstance(value, dict):
        if value.get("type") == "link" and isinstance(value.get("data"), str):
            m = _REF.fullmatch(value["data"].strip())
            return str(inputs.get(m.group(1), "")) if m else ""
        if "children" in value:
            return render(value["children"], inputs)
        return str(value.get("text", ""))
    return "" if value is None else str(value)


class Outcome(Exception):
    def __init__(self, kind: str, node: dict, flow_id: str) -> None:
        self.kind, self.node, self.flow_id = kind, node, flow_id


def _graph(content: dict) -> tuple[list[dict], list[dict]]:
    elements = (content.get("graphData") or {}).get("elements") or {}
    return elements.get("nodes") or [], elements.get("edges") or []


def walk(store, flow: dict, content: dict, depth: int = 0) -> None:
    """Walk `content` (one flow version); raises Outcome at the first answer; returns if the walk ends without one."""
    nodes, edges = _graph(content)
    by_id = {n["data"]["id"]: n["data"] for n in nodes if "id" in (n.get("data") or {})}
    out: dict[str, list[str]] = {}
    targets = set()
    for e in edges:
        d = e.get("data") or {}
        source, target = d.get("source"), d.get("target")
        if source is not None and target is not None:  # a dangling edge leads nowhere
            out.setdefault(source, []).append(target)
        targets.add(target)
    starts = [i for i, d in by_id.items() if d.get("nodeType") == "START"] or \
             [i for i, d in by_id.items() if i not in targets and d.get("nodeType") != "ANNOTATION"]
    visited: set[str] = set()

    def step(node_id: str, steps: int) -> None:
        if node_id in visited or node_id not in by_id or steps > MAX_STEPS:
            return
        visited.add(node_id)
        data = by_id[node_id]
        cap, connector = data.get("capabilityName"), data.get("connectorId")
        if data.get("isDisabled"):
            return
        if cap == "createSuccessResponse":
            raise Outcome("success", data, flow["id"])
        if cap == "createErrorResponse":
            raise Outcome("error", data, flow["id"])
        if connector == "flowConnector" and cap in ("startUiSubFlow", "startSubFlow"):
            target = ((data.get("properties") or {}).get("subFlowId") or {}).get("value") or {}
            sub = store.data["flows"].get(target.get("value")) if isinstance(target, dict) else None
            sub_content = store.deployed_content(sub) if sub else None
            if sub is None or sub_content is None or depth > 10:
                raise Outcome("ui", data, flow["id"])  # an unconfigured or undeployed subflow cannot answer
            try:
                walk(store, sub, sub_content, depth + 1)
            except Outcome as o:
                if o.kind != "success":
                    raise
            # the subflow answered success (or ran out): the caller carries on
        elif cap in UI_CAPABILITIES or connector in UI_CONNECTORS:
            raise Outcome("ui", data, flow["id"])
        for target_id in out.get(node_id, []):
            if data.get("nodeType") == "EVAL":
                cond = ((data.get("properties") or {}).get(target_id) or {}).get("value")
                if cond not in FIRES:
                    continue
            step(target_id, steps + 1)

    for start in starts[:1]:
        step(start, 0)


def register(router: Router, ctx: SandboxContext) -> None:

    def envelope(company: str, flow_id: str, node: dict, interaction: str) -> dict:
        return {"interactionId": interaction, "companyId": company, "flowId": flow_id,
                "connectionId": node.get("connectionId", ""), "connectorId": node.get("connectorId", ""),
                "id": node.get("id", ""), "capabilityName": node.get("capabilityName", "")}

    @router.route("POST", "/v1/company/{companyId}/policy/{policyId}/start")
    def start(request: Request) -> Response:
        key = request.headers.get("X-SK-API-KEY")
        if key is None:
            # The API gateway answers a call without the key before DaVinci sees it.
            return json_response(403, {"message": "Missing Authentication Token"})
        if not ctx.accepts(key):
            return json_response(401, {"success": False, "httpResponseCode": 401, "code": 1999,
                                       "message": "Invalid API key", "errorMessage": "Unauthorized"})
        company = request.params["companyId"]
        dv = ctx.state["davinci_environments"].get(company)
        inputs = request.json(default={})
        if not isinstance(inputs, dict):
            raise HttpError(400, "INVALID_DATA", "The input must be a JSON object")
        with ctx.lock:
            store = dv.store if dv is not None else None
            run = _policy_run(store, request.params["policyId"]) if store else None
            if run is None:
                # tf-pingone #576: a policy whose flow is gone (or never deployed) answers "FlowId/PolicyId not found".
                return json_response(404, {"success": False, "httpResponseCode": 404, "code": -1,
                                           "message": "FlowId/PolicyId not found"})
            policy, flow, content = run
            if flow["id"] in ctx.fail_ids:
                raise HttpError(500, "UNEXPECTED_ERROR", "An unexpected error occurred while running the flow.")
            ctx.state.setdefault("runtime_runs", 0)
            ctx.state["runtime_runs"] += 1
            interaction = ctx.new_id("interaction", policy["id"], ctx.state["runtime_runs"])
            try:
                walk(store, flow, content)
                outcome = None
            except Outcome as o:
                outcome = o
        if outcome is None:
            body = {"interactionId": interaction, "companyId": company, "flowId": flow["id"], "success": False,
                    "httpResponseCode": 400, "code": "requestFailed",
                    "message": "The flow ended without sending a JSON response"}
            return json_response(400, body)
        node = outcome.node
        props = node.get("properties") or {}
        claims = {}
        for pair in ((props.get("claimsNameValuePairs") or {}).get("value") or []):
            if isinstance(pair, dict) and pair.get("name"):
                claims[pair["name"]] = render(pair.get("value"), inputs)
        body = envelope(company, outcome.flow_id, node, interaction)
        if outcome.kind == "success":
            body.update({"success": True, "additionalProperties": claims})
            return json_response(200, body)
        if outcome.kind == "error":
            message = render((props.get("errorMessage") or {}).get("value"), inputs) or "Error"
            body.update({"success": False, "httpResponseCode": 400, "code": "requestFailed", "message": message,
                         "errorMessage": message, "additionalProperties": claims})
            reason = render((props.get("errorReason") or {}).get("value"), inputs)
            if reason:
                body["errorReason"] = reason
            return json_response(400, body)
        body.update({"success": False, "httpResponseCode": 400, "code": "requestFailed",
                     "message": f"Node {node.get('id')} ({node.get('connectorId')} / {node.get('capabilityName')}) "
                                "needs a user interface; a flow started by API must end in a JSON response"})
        return json_response(400, body)


def _policy_run(store, policy_id: str) -> tuple[dict, dict, dict] | None:
    """(policy, flow, flow version content) that starting `policy_id` runs; None when no application has that policy
    (the last one wins), it is disabled, or its flow is gone or not deployed."""
    policy = None
    for app in store.data["applications"]:
        for p in app.get("flowPolicies") or []:
            if p["id"] == policy_id:
                policy = p
    if policy is None or policy.get("status", "enabled") != "enabled":
        return None
    dists = policy.get("flowDistributions") or []
    flow = store.data["flows"].get(dists[0]["id"]) if dists else None
    if flow is None:
        return None
    pinned = _version_number(dists[0].get("version"))
    if pinned is not None and str(pinned) in flow["versions"]:
        content = flow["versions"][str(pinned)]["content"]
    else:
        content = store.deployed_content(flow)
    return None if content is None else (policy, flow, content)


def _version_number(value) -> int | None:
    """A flow distribution's pinned version, or None for -1 ("the deployed version") and anything unreadable."""
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def config_launchers(base_url: str, ctx: SandboxContext | None = None) -> dict[str, dict]:
    """davinci-ok and davinci-fail for --write-config (keys of flowvault.launch.davinci.Settings + common keys) for
    the first environment; davinci-ok-<name> and davinci-fail-<name> for every other one."""
    out: dict[str, dict] = {}
    names = [env.name for env in environments(ctx)] if ctx is not None else ["davinci"]
    seed = ctx.seed if ctx is not None else 0
    for index, name in enumerate(names):
        suffix = "" if index == 0 else f"-{name}"
        common = {"type": "davinci", "company_id": derive(seed, name, ENV_ID), "api_key": "${FLOWVAULT_SANDBOX_SECRET}",
                  "runtime_url": f"{base_url}/v1"}
        out[f"davinci-ok{suffix}"] = {**common, "policy_id": derive(seed, name, OK_POLICY),
                                      "input": {"userId": "sandbox-user"}, "expect": {"status": "success"}}
        out[f"davinci-fail{suffix}"] = {**common, "policy_id": derive(seed, name, FAIL_POLICY),
                                        "expect": {"status": "success"}}
    return out
