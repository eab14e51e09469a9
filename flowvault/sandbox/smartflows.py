"""Smart Flows (Xpertdoc / Experlogix) flow executions, as documented in seeds/003 and reference 3.2.

    POST   {base}/smartflows/api/v1/flows/executions?flowId=   XML body, X-API-Key ->
                                                               {id, percentage: 0, message, status}
    GET    .../flows/executions/{id}/progress?timeout=S        long-poll: answers when the progress changes, the
                                                               execution is stable, or after S seconds (default 30)
    POST   .../flows/executions/{id}/progress                  answer a UserInput form and continue
    DELETE .../flows/executions/{id}/progress                  cancel
    GET    .../flows/executions/{id}                           the execution with state.inputData/output/stages/report

Statuses on the wire are the Java SDK's FlowExecutionStatus names (`UserInput`, not the README's "User input").
An execution moves through its flow's stages on the sandbox clock (`ctx.clock.elapsed()`).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import timedelta

from flowvault.sandbox.app import HttpError, Request, Response, Router, SandboxContext, json_response

PREFIX = "/smartflows/api/v1/flows/executions"
STABLE = frozenset({"Success", "Error", "Canceled", "Interrupted", "UserInput", "Waiting"})
LONG_POLL_CAP = 60.0  # real seconds a progress call may hold its connection


@dataclass(frozen=True)
class Flow:
    id: str
    name: str
    stages: tuple[tuple[str, float], ...]  # (message while the stage runs, seconds)
    ending: str  # Success | Error | UserInput | Waiting
    error: str = ""  # the message of an Error ending


FLOWS: dict[str, Flow] = {
    flow.id: flow
    for flow in (
        Flow("6de9206a-de42-4182-8f86-a9a8d29fbd56", "Generate invoice",
             (("Validate input", 0.05), ("Generate document", 0.15), ("Convert to PDF", 0.1), ("Deliver", 0.05)),
             "Success"),
        Flow("1f3c9e6b-2a4d-4b8e-9c07-5d6e7f8a9b0c", "Generate contract (broken template)",
             (("Validate input", 0.05), ("Generate document", 0.1)),
             "Error", "Template 'Contract.docx' could not be found in the template library"),
        Flow("a7b8c9d0-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "Approve quote",
             (("Validate input", 0.05), ("Calculate discount", 0.1)), "UserInput"),
        Flow("b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e", "Wait for e-signature",
             (("Generate document", 0.1), ("Send for signature", 0.05)), "Waiting"),
        Flow("c0ffee00-1234-4abc-9def-0123456789ab", "Archive all documents (hours)",
             (("Collect documents", 0.1), ("Archive", 4 * 3600.0)), "Success"),
    )
}
OK_ID, FAIL_ID, INPUT_ID, WAITING_ID, SLOW_ID = list(FLOWS)


def _status_message(status: int, kind: str, message: str) -> dict:
    # The SDK's StatusMessage model {code, message, type, documentLocation}; the real error body is UNVERIFIED
    # (reference 3.2), so clients must log whatever body they get.
    return {"code": status, "message": message, "type": kind, "documentLocation": None}


def _xml_to_data(element: ET.Element):
    children = list(element)
    if not children:
        return (element.text or "").strip()
    data: dict = {}
    for child in children:
        value = _xml_to_data(child)
        if child.tag in data:
            if not isinstance(data[child.tag], list):
                data[child.tag] = [data[child.tag]]
            data[child.tag].append(value)
        else:
            data[child.tag] = value
    return data


class _Execution:
    def __init__(self, id: str, flow: Flow, started: float, created_at, input_root: ET.Element) -> None:
        self.id = id
        self.flow = flow
        self.started = started  # ctx.clock.elapsed() at creation
        self.created_at = created_at  # ctx.clock.now() at creation (deterministic dates)
        self.input_data = {input_root.tag: _xml_to_data(input_root)}
        self.canceled_at: float | None = None
        self.answered_at: float | None = None
        self.answer: dict | None = None

    def snapshot(self, now: float) -> tuple[str, int, str, float]:
        """(status, percentage, message, seconds into the run) at sandbox time `now`."""
        flow = self.flow
        total = sum(seconds for _, seconds in flow.stages)
        stop = now if self.canceled_at is None else min(now, self.canceled_at)
        age = stop - self.started
        done = 0.0
        for message, seconds in flow.stages:
            if age < done + seconds:
                percentage = int(90 * done / total) if total else 0  # steps at stage boundaries
                status = "Canceled" if self.canceled_at is not None else "Running"
                return status, percentage, "Canceled by the user" if status == "Canceled" else message, age
            done += seconds
        if flow.ending == "Success":
            return "Success", 100, "Done", age
        if flow.ending == "Error":
            return "Error", 60, flow.error, age
        if flow.ending == "UserInput":
            if self.answered_at is not None:
                if now - self.answered_at < 0.1:
                    return "Running", 90, "Generate quote", age
                return "Success", 100, "Done", age
            if self.canceled_at is not None:
                return "Canceled", 50, "Canceled by the user", age
            return "UserInput", 50, "Approve the discount", age
        if self.canceled_at is not None:
            return "Canceled", 80, "Canceled by the user", age
        return "Waiting", 80, "Waiting for the signature event", age


def register(router: Router, ctx: SandboxContext) -> None:
    state = ctx.state.setdefault("smartflows", {"executions": {}, "count": 0})
    executions: dict[str, _Execution] = state["executions"]

    def authorize(request: Request) -> None:
        if not ctx.accepts(request.headers.get("X-API-Key")):
            raise HttpError(401, "Unauthorized", "Missing or invalid API key (X-API-Key)")

    def find(request: Request) -> _Execution:
        authorize(request)
        execution = executions.get(request.params["id"])
        if execution is None:
            raise HttpError(404, "NotFound", f"Flow execution {request.params['id']} does not exist")
        return execution

    def progress(execution: _Execution) -> dict:
        status, percentage, message, _ = execution.snapshot(ctx.clock.elapsed())
        body = {"id": execution.id, "percentage": percentage, "message": message, "status": status}
        if status == "UserInput":
            body["schema"] = {"type": "object", "properties": {"approved": {"type": "boolean", "title": "Approve?"}},
                              "required": ["approved"]}
            body["model"] = {"approved": None}
            body["form"] = ["approved"]
        return body

    @router.route("POST", PREFIX)
    def create(request: Request) -> Response:
        authorize(request)
        flow_id = request.arg("flowId")
        flow = FLOWS.get(flow_id or "")
        if flow is None:
            raise HttpError(404, "NotFound", f"Flow {flow_id!r} does not exist")
        if flow.id in ctx.fail_ids:
            raise HttpError(500, "InternalServerError", "The flow execution could not be created")
        if request.content_type not in ("application/xml", "text/xml"):
            raise HttpError(415, "UnsupportedMediaType", "Send the input data as application/xml")
        try:
            root = ET.fromstring(request.body)
        except ET.ParseError as e:
            raise HttpError(400, "BadRequest", f"The input data is not well-formed XML: {e}") from None
        with ctx.lock:
            state["count"] += 1
            execution = _Execution(ctx.new_id("smartflows-execution", flow.id, state["count"]), flow,
                                   ctx.clock.elapsed(), ctx.clock.now(), root)
            executions[execution.id] = execution
        body = {"id": execution.id, "percentage": 0, "message": flow.stages[0][0], "status": "Running"}
        return json_response(200, body)

    @router.route("GET", PREFIX + "/{id}/progress")
    def get_progress(request: Request) -> Response:
        execution = find(request)
        try:
            wait = float(request.arg("timeout") or 30)
        except ValueError:
            raise HttpError(400, "BadRequest", "timeout must be a number of seconds") from None
        first = progress(execution)
        deadline = time.monotonic() + min(max(wait, 0.0), LONG_POLL_CAP)
        current = first
        while current["status"] not in STABLE and time.monotonic() < deadline:
            time.sleep(0.02)
            current = progress(execution)
            if (current["status"], current["percentage"], current["message"]) != (
                first["status"], first["percentage"], first["message"]
            ):
                break
        return json_response(200, current)

    @router.route("POST", PREFIX + "/{id}/progress")
    def answer(request: Request) -> Response:
        execution = find(request)
        if progress(execution)["status"] != "UserInput":
            raise HttpError(409, "Conflict", "The flow execution is not waiting for user input")
        data = request.json()
        if not isinstance(data, dict):
            raise HttpError(400, "BadRequest", "Expected the form model as a JSON object")
        with ctx.lock:
            execution.answer, execution.answered_at = data, ctx.clock.elapsed()
        return json_response(200, progress(execution))

    @router.route("DELETE", PREFIX + "/{id}/progress")
    def cancel(request: Request) -> Response:
        execution = find(request)
        with ctx.lock:
            if progress(execution)["status"] not in ("Success", "Error", "Canceled", "Interrupted"):
                execution.canceled_at = ctx.clock.elapsed()
        return json_response(200, progress(execution))

    @router.route("GET", PREFIX + "/{id}")
    def read(request: Request) -> Response:
        execution = find(request)
        status, percentage, message, age = execution.snapshot(ctx.clock.elapsed())
        return json_response(200, _execution_body(execution, status, percentage, message, age))

    router.error_format("/smartflows/", lambda status, code, message, details: _status_message(status, code, message))


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _execution_body(execution: _Execution, status: str, percentage: int, message: str, age: float) -> dict:
    flow = execution.flow
    stages, blocks, offset = [], [], 0.0
    for index, (name, seconds) in enumerate(flow.stages):
        if age <= offset:
            break
        finished = age >= offset + seconds
        start = execution.created_at + timedelta(seconds=offset)
        end = execution.created_at + timedelta(seconds=offset + seconds) if finished else None
        failed = finished and flow.ending == "Error" and index == len(flow.stages) - 1
        stages.append({"start": _iso(start), "end": _iso(end) if end else None, "input": execution.input_data,
                       "lastProgress": {"percentage": percentage, "message": name}})
        blocks.append({"id": f"block-{index + 1}", "displayName": name,
                       "step": {"start": _iso(start), "end": _iso(end) if end else None,
                                "status": "Error" if failed else "Success" if finished else "Running",
                                "input": None, "output": {"error": flow.error} if failed else None}})
        offset += seconds
    output = None
    if status == "Success":
        output = {"parts": [{"name": f"{flow.name}.pdf", "contentType": "application/pdf", "size": 48213}],
                  "schema": {"type": "object", "properties": {"documentName": {"type": "string"}}},
                  "model": {"documentName": f"{flow.name}.pdf"}, "form": ["documentName"]}
    waiting_for = {"UserInput": "userInput", "Waiting": "externalEvent"}.get(status)
    return {
        "id": execution.id,
        "createdAt": _iso(execution.created_at),
        "createdBy": "sandbox-api-user",
        "modifiedAt": _iso(execution.created_at + timedelta(seconds=round(age, 3))),
        "modifiedBy": "sandbox-api-user",
        "status": status,
        "percentage": percentage,
        "message": message,
        "flow": {"id": flow.id, "displayName": flow.name, "type": "flow"},
        "state": {"inputData": execution.input_data, "output": output, "stages": stages, "iterations": [],
                  "report": [{"id": "report-1", "blocks": blocks}], "waitingFor": waiting_for},
    }


def config_launchers(base_url: str) -> dict[str, dict]:
    """The [launchers.smartflows-ok] / [launchers.smartflows-fail] tables for a sandbox at `base_url`."""
    common = {"type": "smartflows", "url": f"{base_url}/smartflows", "api_key": "${FLOWVAULT_SANDBOX_SECRET}",
              "timeout": 30, "input": {"invoiceNumber": "INV-1001", "customer": "Example Corp"}}
    return {
        "smartflows-ok": {**common, "flow_id": OK_ID, "expect": {"status": "Success"}},
        "smartflows-fail": {**common, "flow_id": FAIL_ID},
    }
