"""Profitbase InVision Data Flows: start + status (seed 001; reference 3.1).

The key travels in the `x-api-key` header, which the docs allow, so it never sits in a URL that a log or an error
could show. Without `await_completion` the start returns at once and the status is polled with backoff until
Succeeded/Failed or the deadline; with it, the start call itself waits (the docs warn it may take hours) and the
run id is known only when it answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowvault.launch.base import (
    ERROR,
    FAILED,
    PASSED,
    BaseLauncher,
    Deadline,
    Result,
    RunOptions,
    backoff,
    json_or_none,
)

SECRET = {"secret": True}
PENDING = ("Pending", "Running")


@dataclass(frozen=True)
class Settings:
    url: str  # the API base including the app path, e.g. https://mydomain.com/invision
    dataflow_id: str
    api_key: str = field(metadata=SECRET)
    await_completion: bool = False  # await=true: the start call waits for the end (may take hours)
    poll_interval: float = 2.0


class Launcher(BaseLauncher):
    type = "invision"

    def launch(self, options: RunOptions, deadline: Deadline) -> Result:
        s = self.settings
        client = self.client(s.url, auth={"x-api-key": s.api_key}, timeout=min(30.0, max(1.0, deadline.remaining())))
        base = f"/api/pub/v1/dataflows/{s.dataflow_id}"
        params = {"await": "true"} if s.await_completion and options.wait else None
        options.progress.update("starting", f"data flow {s.dataflow_id}")
        # The start documents no input: arguments come from the workbook or the scheduler (reference 3.1).
        response = self.start_call(base + "/start", params=params, timeout=max(1.0, deadline.remaining()))
        if response.status >= 400:
            # The docs know one error, a bare 500; say what it usually means.
            return self.result(ERROR, f"start -> HTTP {response.status}: InVision could not start data flow "
                                      f"{s.dataflow_id}; check dataflow_id and the server log",
                               http_status=response.status, output=json_or_none(response))
        if not self._read(json_or_none(response)):
            return self.result(ERROR, f"start -> {response.status} without a runId: {response.text[:200]}")
        if not options.wait:
            return self.result(PASSED, f"started (status {self.last_status}); not waiting for the end")
        interval = backoff(s.poll_interval)
        while self.last_status in PENDING:
            options.progress.update(self.last_status, f"run {self.run_id}")
            if deadline.expired():
                return self.timed_out(deadline, f"data flow {s.dataflow_id}", waiting_on=f"status {self.last_status}")
            deadline.sleep(interval())
            body = client.get_json(f"{base}/runs/{self.run_id}/status")
            self._read(body)
        options.progress.update(self.last_status or "?", f"run {self.run_id}")
        if self.last_status == "Succeeded":
            return self.result(PASSED, "the data flow succeeded")
        if self.last_status == "Failed":
            return self.result(FAILED, "the data flow failed; its log in InVision has the details")
        return self.result(ERROR, f"unknown status {self.last_status!r} (expected Pending, Running, Succeeded, Failed)")

    def _read(self, body) -> bool:
        if not isinstance(body, dict) or not body.get("runId"):
            return False
        self.run_id = self.run_id or body["runId"]
        self.last_status = body.get("status")
        self.last_body = body
        return True
