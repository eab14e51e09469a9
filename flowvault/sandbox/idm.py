"""PingIDM workflow endpoints (seed 004; reference/idm-and-launchers.md 1.2-1.8), serving the BPMN files in data/idm.

    GET    /openidm/workflow/processdefinition?_queryFilter=true | ?_queryId=query-all-ids | filtered-query
    GET    /openidm/workflow/processdefinition/{id}                  metadata only (the REST API never returns XML)
    POST   /openidm/workflow/processinstance?_action=create          {_key | _processDefinitionId, _businessKey, vars}
    GET    /openidm/workflow/processinstance?_queryId=query-all-ids  unfinished instances
    GET    /openidm/workflow/processinstance/{id}                    read from history, with tasks[]
    DELETE /openidm/workflow/processinstance/{id}
    GET    /openidm/workflow/processinstance/history/{id}            endTime / endActivityId set once ended
    GET    /openidm/config/workflow

Like the engine, a create runs the process synchronously to its first wait state: we walk the BPMN from the start
event (the first outgoing flow of a gateway, or its default) and stop at a user task or a timer. A script task whose
script throws makes the create answer 500 with the script error. A user task with a literal assignee is completed by
that (emulated) assignee USER_TASK_SECONDS later on the sandbox clock; one assigned to candidates or an expression
waits for ever; a timer fires after its timeDuration. Auth: X-OpenIDM-Username/-Password (the password must be the
sandbox secret) or `Authorization: Bearer <secret>`; errors are Common REST `{code, reason, message}`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from pathlib import Path

from flowvault.sandbox.app import HttpError, Request, Response, Router, SandboxContext, json_response

DATA_DIR = Path(__file__).parent / "data" / "idm"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
ACTIVITI = "{http://activiti.org/bpmn}"
FLOWABLE = "{http://flowable.org/bpmn}"
USER_TASK_SECONDS = 2.0
DEFAULT_TIMER_SECONDS = 3600.0
OK_KEY, FAIL_KEY, APPROVAL_KEY, WAITING_KEY = (
    "osgiProcess", "sandboxFailingScript", "managedUserApproval", "contractorOnboarding")
WORKFLOW_CONFIG = {"_id": "workflow", "useDataSource": "default", "workflowDirectory": "&{idm.instance.dir}/workflow",
                   "history": "audit"}
_THROW = re.compile(r"throw\s+new\s+([\w.]+)\s*\(\s*[\"'](.*?)[\"']\s*\)", re.S)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def _ext(element: ET.Element, name: str) -> str | None:
    return element.get(ACTIVITI + name) or element.get(FLOWABLE + name)


@dataclass
class Definition:
    key: str
    name: str
    resource_name: str
    deployment_id: str
    version: int
    category: str
    process: ET.Element = field(repr=False)

    @property
    def id(self) -> str:
        return f"{self.key}:{self.version}:{self.deployment_id}"

    def element(self, element_id: str) -> ET.Element:
        for child in self.process:
            if child.get("id") == element_id:
                return child
        raise KeyError(element_id)

    def outgoing(self, element: ET.Element) -> str | None:
        """The element the process goes to next from `element` (a gateway takes its default flow, else the first)."""
        flows = [f for f in self.process.findall(BPMN + "sequenceFlow") if f.get("sourceRef") == element.get("id")]
        if not flows:
            return None
        default = element.get("default")
        chosen = next((f for f in flows if f.get("id") == default), flows[0])
        return chosen.get("targetRef")

    def start_event(self) -> ET.Element | None:
        return self.process.find(BPMN + "startEvent")

    def start_id(self) -> str | None:
        """The id of the start event (None without one: the process ends where it begins)."""
        start = self.start_event()
        return start.get("id") if start is not None else None

    def user_tasks(self) -> list[ET.Element]:
        return self.process.findall(BPMN + "userTask")


def load_definitions(directory: Path = DATA_DIR) -> dict[str, Definition]:
    """The definitions of every *.bpmn20.xml in `directory`, by `_id`, deployed in file-name order."""
    definitions: dict[str, Definition] = {}
    for index, path in enumerate(sorted(directory.glob("*.bpmn20.xml"))):
        root = ET.parse(path).getroot()
        process = root.find(BPMN + "process")
        key = process.get("id") if process is not None else None
        if process is None or not key:
            raise ValueError(f"{path}: no <process> with an id")
        definition = Definition(key=key, name=process.get("name") or key,
                                resource_name=path.name, deployment_id=str(1 + 4 * index), version=1,
                                category=root.get("targetNamespace") or "", process=process)
        definitions[definition.id] = definition
    return definitions


def _form_properties(element: ET.Element) -> list[dict]:
    properties = []
    for prop in element.iter():
        if prop.tag not in (ACTIVITI + "formProperty", FLOWABLE + "formProperty"):
            continue
        values = {v.get("id"): v.get("name") for v in prop if v.tag.endswith("value")}
        properties.append({
            "_id": prop.get("id"), "name": prop.get("name"),
            "type": {"name": prop.get("type") or "string", "values": values or None,
                     "datePattern": prop.get("datePattern")},
            "readable": prop.get("readable", "true") == "true", "required": prop.get("required", "false") == "true",
            "writable": prop.get("writable", "true") == "true", "variableName": prop.get("variable") or prop.get("id"),
            "defaultExpression": prop.get("default"), "variableExpression": prop.get("expression"),
        })
    return properties


def _summary(d: Definition) -> dict:
    # The list-item fields of PingIDM 8.1's test-workflow page (reference 1.4).
    start = d.start_event()
    return {
        "_id": d.id, "_rev": "1", "candidateStarterGroupIdExpressions": [], "candidateStarterUserIdExpressions": [],
        "category": d.category, "deploymentId": d.deployment_id, "description": None, "eventSupport": {},
        "executionListeners": {}, "graphicalNotationDefined": d.process.find(f".//{BPMN}startEvent") is not None,
        "hasStartFormKey": start is not None and _ext(start, "formKey") is not None, "historyLevel": None,
        "ioSpecification": None, "key": d.key, "laneSets": [], "name": d.name, "participantProcess": None,
        "processDiagramResourceName": f"{d.resource_name[:-len('.bpmn20.xml')]}.{d.key}.png", "properties": {},
        "resourceName": d.resource_name, "revisionNext": 2, "startFormHandler": None, "suspended": False,
        "suspensionState": 1, "taskDefinitions": None, "tenantId": "", "variables": None, "version": d.version,
    }


def _detail(d: Definition) -> dict:
    body = _summary(d)
    start = d.start_event()
    form_key = _ext(start, "formKey") if start is not None else None
    body["formProperties"] = _form_properties(start) if start is not None else []
    if form_key:
        body["formResourceKey"] = form_key
        body["formGenerationTemplate"] = None  # the form file is not part of an .xml deployment
    body["taskDefinitions"] = {
        task.get("id"): {
            "assigneeExpression": _ext(task, "assignee"),
            "candidateGroupIdExpressions": [g.strip() for g in (_ext(task, "candidateGroups") or "").split(",")
                                            if g.strip()],
            "candidateUserIdExpressions": [u.strip() for u in (_ext(task, "candidateUsers") or "").split(",")
                                           if u.strip()],
            "nameExpression": task.get("name"),
            "taskFormHandler": {"formKey": _ext(task, "formKey"), "formPropertyHandlers": _form_properties(task)},
        }
        for task in d.user_tasks()
    }
    return body


def _timer_seconds(element: ET.Element) -> float:
    duration = element.find(f".//{BPMN}timeDuration")
    match = _DURATION.match((duration.text or "").strip()) if duration is not None else None
    if not match or not any(match.groups()):
        return DEFAULT_TIMER_SECONDS
    days, hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


class ScriptFailed(Exception):
    pass


@dataclass
class Instance:
    id: str
    definition: Definition
    business_key: str | None
    variables: dict
    created_at: datetime  # ctx.clock.now() at create
    started: float  # ctx.clock.elapsed() at create
    waiting: str | None = None  # the element the process waits in
    wake_at: float | None = None  # when the wait ends (None: never by itself)
    ended_at: float | None = None
    end_activity: str | None = None
    delete_reason: str | None = None
    tasks: list[dict] = field(default_factory=list)

    def run_from(self, element_id: str | None, at: float) -> None:
        """Walk from `element_id` until a wait state or an end event (ScriptFailed if a script throws)."""
        d = self.definition
        for _ in range(200):
            if element_id is None:
                self.ended_at, self.end_activity, self.waiting = at, self.end_activity, None
                return
            element = d.element(element_id)
            tag = element.tag.replace(BPMN, "")
            if tag == "endEvent":
                self.ended_at, self.end_activity, self.waiting = at, element_id, None
                return
            if tag == "scriptTask":
                script = element.findtext(BPMN + "script") or ""
                thrown = _THROW.search(script)
                if thrown:
                    cls = thrown.group(1) if "." in thrown.group(1) else f"java.lang.{thrown.group(1)}"
                    raise ScriptFailed(f"problem evaluating script: javax.script.ScriptException: {cls}: "
                                       f"{thrown.group(2)}")
            if tag == "userTask":
                assignee = _ext(element, "assignee")
                literal = bool(assignee and "${" not in assignee)
                self.waiting, self.wake_at = element_id, (at + USER_TASK_SECONDS if literal else None)
                self.tasks.append({"_id": str(int(self.id) + len(self.tasks) + 1), "name": element.get("name"),
                                   "taskDefinitionKey": element_id, "assignee": assignee if literal else None,
                                   "started": at, "ended": None})
                return
            if tag == "intermediateCatchEvent" and element.find(f".//{BPMN}timerEventDefinition") is not None:
                self.waiting, self.wake_at = element_id, at + _timer_seconds(element)
                return
            element_id = d.outgoing(element)
        raise ScriptFailed("the process did not reach a wait state or an end within 200 steps")

    def catch_up(self, now: float) -> None:
        """Complete the waits whose time has come (the emulated assignee approves, a timer fires)."""
        while self.ended_at is None and self.waiting and self.wake_at is not None and now >= self.wake_at:
            at, waiting = self.wake_at, self.waiting
            for task in self.tasks:
                if task["taskDefinitionKey"] == waiting and task["ended"] is None:
                    task["ended"] = at
                    self.variables.setdefault("requestApproved", "true")
            self.wake_at = None
            try:
                self.run_from(self.definition.outgoing(self.definition.element(waiting)), at)
            except ScriptFailed:  # a failing job after a wait goes to the dead-letter queue; the process stays put
                self.waiting = waiting


def register(router: Router, ctx: SandboxContext) -> None:
    definitions = load_definitions()
    state = ctx.state.setdefault("idm", {"instances": {}, "count": 0})
    instances: dict[str, Instance] = state["instances"]
    base = "/openidm/workflow"

    def authorize(request: Request) -> None:
        auth = request.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer ") and ctx.accepts(auth[7:].strip()):
            return
        if request.headers.get("X-OpenIDM-Username") and ctx.accepts(request.headers.get("X-OpenIDM-Password")):
            return
        raise HttpError(401, "Unauthorized", "Access Denied")

    def iso(instance: Instance, at: float | None) -> str | None:
        if at is None:
            return None
        return ctx.clock.iso(instance.created_at + timedelta(seconds=round(at - instance.started, 3)))

    def find_instance(request: Request) -> Instance:
        authorize(request)
        instance = instances.get(request.params["id"])
        if instance is None:
            raise HttpError(404, "Not Found", f"Process instance {request.params['id']} not found")
        with ctx.lock:
            instance.catch_up(ctx.clock.elapsed())
        return instance

    def latest(key: str) -> Definition | None:
        candidates = [d for d in definitions.values() if d.key == key]
        return max(candidates, key=lambda d: d.version) if candidates else None

    def envelope(items: list[dict]) -> dict:
        return {"result": items, "resultCount": len(items), "pagedResultsCookie": None,
                "totalPagedResultsPolicy": "NONE", "totalPagedResults": -1, "remainingPagedResults": -1}

    def history(instance: Instance) -> dict:
        ended = instance.ended_at
        return {
            "_id": instance.id, "_rev": "1", "businessKey": instance.business_key,
            "deleteReason": instance.delete_reason,
            "durationInMillis": None if ended is None else int(round((ended - instance.started) * 1000)),
            "endActivityId": instance.end_activity, "endTime": iso(instance, ended),
            "processDefinitionId": instance.definition.id, "processDefinitionName": instance.definition.name,
            "processInstanceId": instance.id, "processVariables": dict(instance.variables),
            "startActivityId": instance.definition.start_id(), "startTime": iso(instance, instance.started),
            "startUserId": "openidm-admin", "superProcessInstanceId": None, "tenantId": "", "name": None,
        }

    def task_body(instance: Instance, task: dict) -> dict:
        return {"_id": task["_id"], "name": task["name"], "taskDefinitionKey": task["taskDefinitionKey"],
                "assignee": task["assignee"], "processInstanceId": instance.id,
                "processDefinitionId": instance.definition.id, "startTime": iso(instance, task["started"]),
                "endTime": iso(instance, task["ended"])}

    def query(request: Request, items: list[dict], *, filters: tuple[str, ...]) -> dict:
        query_filter, query_id = request.arg("_queryFilter"), request.arg("_queryId")
        if query_filter is not None:
            if query_filter != "true":  # PingIDM 7/8 support only the literal `true` here (reference 1.3)
                raise HttpError(400, "Bad Request", f"Unsupported query filter: {query_filter}")
            return envelope(items)
        if query_id == "query-all-ids":
            return envelope(items)
        if query_id == "filtered-query":
            for name in filters:
                value = request.arg(name)
                if value is not None:
                    items = [i for i in items if str(i.get(name)) == value]
            return envelope(items)
        raise HttpError(400, "Bad Request", "Unknown query-id")

    @router.route("GET", base + "/processdefinition")
    def list_definitions(request: Request) -> Response:
        authorize(request)
        items = [_summary(d) for d in definitions.values()]
        return json_response(200, query(request, items, filters=("key", "_id", "name", "deploymentId", "category")))

    @router.route("GET", base + "/processdefinition/{id}")
    def read_definition(request: Request) -> Response:
        authorize(request)
        definition = definitions.get(request.params["id"])
        if definition is None:
            raise HttpError(404, "Not Found", f"Process definition {request.params['id']} not found")
        return json_response(200, _detail(definition))

    @router.route("POST", base + "/processinstance")
    def create(request: Request) -> Response:
        authorize(request)
        if request.arg("_action") != "create":
            raise HttpError(400, "Bad Request", "Unknown action")
        body = request.json(default={})
        if not isinstance(body, dict):
            raise HttpError(400, "Bad Request", "The request body must be a JSON object")
        definition_id, key = body.get("_processDefinitionId"), body.get("_key")
        if definition_id:  # more precise than _key, so it wins (seed 004)
            definition = definitions.get(definition_id)
            if definition is None:
                raise HttpError(404, "Not Found", f"no deployed process definition found with id '{definition_id}'")
        elif key:
            definition = latest(key)
            if definition is None:
                raise HttpError(404, "Not Found", f"no processes deployed with key '{key}'")
        else:
            raise HttpError(400, "Bad Request", "Either _key or _processDefinitionId must be specified")
        if definition.key in ctx.fail_ids or definition.id in ctx.fail_ids:
            raise HttpError(500, "Internal Server Error", "The process instance could not be created")
        variables = {k: v for k, v in body.items() if not k.startswith("_")}
        with ctx.lock:
            state["count"] += 1
            instance = Instance(id=str(100 + 4 * state["count"]), definition=definition,
                                business_key=body.get("_businessKey"), variables=variables,
                                created_at=ctx.clock.now(), started=ctx.clock.elapsed())
            try:
                instance.run_from(definition.start_id(), instance.started)
            except ScriptFailed as e:
                raise HttpError(500, "Internal Server Error", str(e)) from None
            instances[instance.id] = instance
        return json_response(201, {"_id": instance.id, "processInstanceId": instance.id,
                                   "status": "ended" if instance.ended_at is not None else "suspended",
                                   "businessKey": instance.business_key, "processDefinitionId": definition.id})

    @router.route("GET", base + "/processinstance")
    def list_instances(request: Request) -> Response:
        authorize(request)
        with ctx.lock:
            now = ctx.clock.elapsed()
            for instance in instances.values():
                instance.catch_up(now)
            items = [dict(history(i), processInstanceBusinessKey=i.business_key)
                     for i in instances.values() if i.ended_at is None]
        return json_response(200, query(request, items, filters=("processDefinitionId", "processInstanceBusinessKey")))

    @router.route("GET", base + "/processinstance/{id}")
    def read_instance(request: Request) -> Response:
        instance = find_instance(request)
        body = history(instance)
        body["tasks"] = [task_body(instance, t) for t in instance.tasks]
        return json_response(200, body)

    @router.route("DELETE", base + "/processinstance/{id}")
    def delete_instance(request: Request) -> Response:
        instance = find_instance(request)
        with ctx.lock:
            if instance.ended_at is None:
                instance.ended_at, instance.delete_reason = ctx.clock.elapsed(), "Deleted by Openidm"
                instance.waiting = None
        return json_response(200, history(instance))

    @router.route("GET", base + "/processinstance/history/{id}")
    def read_history(request: Request) -> Response:
        return json_response(200, history(find_instance(request)))

    @router.route("GET", "/openidm/config/workflow")
    def workflow_config(request: Request) -> Response:
        authorize(request)
        return json_response(200, WORKFLOW_CONFIG)

    def crest_error(status: int, code: str, message: str, details=None) -> dict:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = code
        body = {"code": status, "reason": reason, "message": message}
        if details:
            body["detail"] = details
        return body

    router.error_format("/openidm/", crest_error)


def config_sources(base_url: str) -> dict[str, dict]:
    """The [sources.idm] table: the workflow endpoints of this sandbox and the BPMN files it deployed."""
    # workflow_dir is absolute: the BPMN files ship in the package, next to this module, and the REST API cannot
    # return them (reference 1.5), so a config written anywhere still finds them.
    return {"idm": {"type": "idm", "url": f"{base_url}/openidm", "bearer_token": "${FLOWVAULT_SANDBOX_SECRET}",
                    "workflow_dir": str(DATA_DIR)}}


def config_launchers(base_url: str) -> dict[str, dict]:
    """The [launchers.idm-ok] / [launchers.idm-fail] tables for a sandbox at `base_url`."""
    common = {"type": "idm", "url": f"{base_url}/openidm", "username": "openidm-admin",
              "password": "${FLOWVAULT_SANDBOX_SECRET}", "business_key": "flowvault-smoke", "timeout": 30}
    return {
        "idm-ok": {**common, "key": OK_KEY, "expect": {"status": "ended"}},
        "idm-fail": {**common, "key": FAIL_KEY},
    }
