"""Smart Flows (Xpertdoc / Experlogix): flow executions with progress long-poll (seed 003; reference 3.2).

Create an execution from an XML body, long-poll `progress` (its `timeout` parameter holds the call open until the
progress changes), then read the final execution. The outcome is decided on `status`, never on `percentage`: the
Java sample that spins until percentage >= 100 never ends when a flow errors at 60 %.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from flowvault.errors import InputError, RemoteError
from flowvault.launch.base import (
    BLOCKED,
    ERROR,
    FAILED,
    PASSED,
    BaseLauncher,
    Deadline,
    Result,
    RunOptions,
    json_or_none,
)

SECRET = {"secret": True}
# Java SDK FlowExecutionStatus; the README spells UserInput "User input": accept both.
PENDING = frozenset({"Queued", "Running", "SelectFlow"})
FAILURES = frozenset({"Error", "Canceled", "Interrupted"})
BLOCKS = {"UserInput": "user input", "User input": "user input", "Waiting": "an external event"}


@dataclass(frozen=True)
class Settings:
    url: str  # e.g. https://smartflows.example.com:443
    flow_id: str
    api_key: str = field(metadata=SECRET)
    input_file: str | None = None  # XML body; otherwise rendered from `input`
    input_root: str = "data"  # the root element when the body is rendered from `input`
    poll_timeout: int = 10  # seconds per progress long-poll


def render_xml(data: Any, root: str = "data") -> bytes:
    """`data` (a dict of scalars, lists and dicts) as an XML document: keys become elements, lists repeat them."""
    element = ET.Element(root)
    _fill(element, data)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if not _valid_name(str(key)):
                raise InputError(f"input key {key!r} is not a valid XML element name")
            for item in child if isinstance(child, list) else [child]:
                _fill(ET.SubElement(element, str(key)), item)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def _valid_name(name: str) -> bool:
    try:
        ET.fromstring(f"<{name}/>")
    except ET.ParseError:
        return False
    return ":" not in name


class Launcher(BaseLauncher):
    type = "smartflows"

    def launch(self, options: RunOptions, deadline: Deadline) -> Result:
        s = self.settings
        poll = max(1, int(s.poll_timeout))
        client = self.client(s.url, auth={"X-API-Key": s.api_key}, timeout=poll + 15.0)
        base = "/api/v1/flows/executions"
        body = (options.input if isinstance(options.input, (str, bytes))
                else render_xml(options.input or {}, s.input_root))
        if isinstance(body, str):
            body = body.encode("utf-8")
        options.progress.update("starting", f"flow {s.flow_id}", 0)
        response = self.start_call(base, params={"flowId": s.flow_id}, data=body,
                                   headers={"Content-Type": 'application/xml; charset="utf-8"'},
                                   timeout=max(1.0, min(60.0, deadline.remaining())))
        reply = json_or_none(response)
        if response.status >= 400:
            detail = (reply.get("message") if isinstance(reply, dict) else None) or response.text[:200] or "no body"
            hint = {404: "check flow_id", 400: "check the input XML against the flow's input dataset"}.get(
                response.status, "the execution was not created")
            return self.result(ERROR, f"create -> HTTP {response.status}: {hint} ({detail})",
                               http_status=response.status, output=reply)
        if not isinstance(reply, dict) or not reply.get("id"):
            return self.result(ERROR, f"create -> {response.status} without an execution id: {response.text[:200]}")
        self.run_id = reply["id"]
        self._progress(reply, options)
        if not options.wait:
            return self.result(PASSED, f"started ({self.last_status}); not waiting for the end")
        while self.last_status in PENDING:
            if deadline.expired():
                return self.timed_out(deadline, f"flow {s.flow_id}", waiting_on=self._step())
            wait = max(1, min(poll, int(deadline.remaining()) or 1))
            progress = client.request("GET", f"{base}/{self.run_id}/progress", retry=True,
                                      params={"timeout": wait}, timeout=wait + 15.0).data
            self._progress(progress, options)
        final = client.get_json(f"{base}/{self.run_id}")
        if isinstance(final, dict):
            self.last_body = final
            self.last_status = final.get("status") or self.last_status
        status = self.last_status
        if status == "Success":
            return self.result(PASSED, "the flow execution succeeded")
        if status in FAILURES:
            return self.result(FAILED, f"the flow execution ended {status}: {self._step()}")
        if status in BLOCKS:
            return self.result(BLOCKED, f"the flow waits for {BLOCKS[status]} ({self._step()}); "
                                        "a headless smoke test cannot answer it", waiting_on=self._step())
        return self.result(ERROR, f"unknown status {status!r}")

    def _progress(self, body: Any, options: RunOptions) -> None:
        if not isinstance(body, dict):
            raise RemoteError(f"launcher {self.name}: progress answer is not a JSON object")
        self.last_status = body.get("status")
        self.last_message = body.get("message") or ""
        self.last_body = body
        options.progress.update(self.last_status or "?", self.last_message, body.get("percentage"))

    def _step(self) -> str:
        return getattr(self, "last_message", "") or str(self.last_status)

    def cancel(self) -> None:
        """DELETE the execution's progress: Smart Flows cancels the run."""
        if self.run_id and self._client is not None:
            self._client.request("DELETE", f"/api/v1/flows/executions/{self.run_id}/progress", retry=True,
                                 expect_json=False, timeout=5.0)
