"""Profitbase InVision Data Flows, as documented in seeds/001 (httpapi.md) and reference/idm-and-launchers.md 3.1.

    POST {base}/invision/api/pub/v1/dataflows/{id}/start[?await=true]   -> 200 {runId, status}
    GET  {base}/invision/api/pub/v1/dataflows/{id}/runs/{runId}/status  -> 200 {runId, status}

The API key goes in the `api_key` query parameter or the `x-api-key` header. A run moves Pending -> Running ->
Succeeded|Failed on the sandbox clock (`ctx.clock.elapsed()`, i.e. real seconds plus POST /_sandbox/clock advances).
The base path carries the app path (`/invision`), as the documented example URL does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flowvault.sandbox.app import Request, Response, Router, SandboxContext, json_response

PREFIX = "/invision/api/pub/v1/dataflows"
AWAIT_LIMIT = 300.0  # real seconds an `await=true` start may hold its connection, so a sandbox never hangs forever


@dataclass(frozen=True)
class DataFlow:
    id: str
    name: str
    pending: float  # seconds in Pending
    running: float  # then seconds in Running
    result: str  # Succeeded | Failed


# The first id is the one in the documented example URL (seeds/001).
DATAFLOWS: dict[str, DataFlow] = {
    flow.id: flow
    for flow in (
        DataFlow("2b081248-4963-43b3-ba06-5b7403d58b4d", "Load sales actuals", 0.1, 0.3, "Succeeded"),
        DataFlow("7c6d2f90-0b1e-4a55-9f3e-3d2b8e1a4c07", "Import exchange rates (broken source)", 0.1, 0.2, "Failed"),
        DataFlow("e4f1b3a8-5d7c-4c2e-8a9b-1f0e6d3c2b5a", "Rebuild forecast cube (nightly, hours)", 1.0, 4 * 3600.0,
                 "Succeeded"),
    )
}
OK_ID, FAIL_ID, SLOW_ID = list(DATAFLOWS)


def _error(status: int) -> Response:
    # The docs document errors only as "Code: 500 Internal Server Error" with no body: answer exactly that.
    return Response(status, b"", {"Content-Type": "text/plain"})


def register(router: Router, ctx: SandboxContext) -> None:
    runs: dict[str, dict] = ctx.state.setdefault("invision", {"runs": {}, "count": 0})["runs"]

    def authorize(request: Request) -> Response | None:
        key = request.arg("api_key") or request.headers.get("x-api-key")
        if ctx.accepts(key):
            return None
        # The docs name no error but 500. A bad or missing key is refused before any data flow is touched; InVision
        # runs on ASP.NET, whose API-key middleware answers 401 with an empty body, so that is what we do (a client
        # must not retry it and should say "check the key", which a 401 tells it and a 500 would not).
        return _error(401)

    def status_of(run: dict) -> str:
        flow = DATAFLOWS[run["dataflow"]]
        age = ctx.clock.elapsed() - run["started"]
        if age < flow.pending:
            return "Pending"
        if age < flow.pending + flow.running:
            return "Running"
        return flow.result

    def body(run: dict) -> dict:
        return {"runId": run["runId"], "status": status_of(run)}

    @router.route("POST", PREFIX + "/{id}/start")
    def start(request: Request) -> Response:
        refused = authorize(request)
        if refused:
            return refused
        flow = DATAFLOWS.get(request.params["id"])
        if flow is None or flow.id in ctx.fail_ids:
            return _error(500)
        with ctx.lock:
            state = ctx.state["invision"]
            state["count"] += 1
            run_id = ctx.new_id("invision-run", flow.id, state["count"])
            run = {"runId": run_id, "dataflow": flow.id, "started": ctx.clock.elapsed()}
            runs[run_id] = run
        if (request.arg("await") or "").lower() == "true":
            deadline = time.monotonic() + AWAIT_LIMIT
            while status_of(run) in ("Pending", "Running") and time.monotonic() < deadline:
                time.sleep(0.05)
        return json_response(200, body(run))

    @router.route("GET", PREFIX + "/{id}/runs/{runId}/status")
    def status(request: Request) -> Response:
        refused = authorize(request)
        if refused:
            return refused
        run = runs.get(request.params["runId"])
        if run is None or run["dataflow"] != request.params["id"]:
            return _error(500)  # an unknown run is an error like any other: the docs know only 500
        return json_response(200, body(run))

    # Unknown paths and methods under the API get the same bare answer a real InVision gives (no JSON body).
    router.error_format(PREFIX, lambda status, code, message, details: None)


def config_launchers(base_url: str) -> dict[str, dict]:
    """The [launchers.invision-ok] / [launchers.invision-fail] tables for a sandbox at `base_url`."""
    common = {"type": "invision", "url": f"{base_url}/invision", "api_key": "${FLOWVAULT_SANDBOX_SECRET}",
              "timeout": 30, "poll_interval": 0.2}
    return {
        "invision-ok": {**common, "dataflow_id": OK_ID, "expect": {"status": "Succeeded"}},
        "invision-fail": {**common, "dataflow_id": FAIL_ID},
    }
