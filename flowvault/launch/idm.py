"""PingIDM workflow start: POST /openidm/workflow/processinstance?_action=create (seed 004; reference 1.6, 5.2).

The create runs the process synchronously to its first wait state: `ended` passes; a script error comes back as a
500 on the create itself (a failed flow); `suspended` means a user task or a timer, so we follow
`processinstance/history/{id}` until endTime/endActivityId is set or the deadline passes, and then name the step
it waits on (its open task, from `processinstance/{id}`).
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


@dataclass(frozen=True)
class Settings:
    url: str  # e.g. https://idm.example.com/openidm
    key: str | None = None  # _key: the process id; starts the latest deployed version
    process_definition_id: str | None = None  # _processDefinitionId: wins over key
    business_key: str | None = None
    username: str | None = None  # X-OpenIDM-Username (an account name, not a secret)
    password: str | None = field(default=None, metadata=SECRET)
    bearer_token: str | None = field(default=None, metadata=SECRET)  # platform deployments (AM as OIDC provider)
    poll_interval: float = 0.5

    def __post_init__(self) -> None:
        if not self.key and not self.process_definition_id:
            raise ValueError("give key (the process id) or process_definition_id")
        if not self.bearer_token and not (self.username and self.password):
            raise ValueError("give username and password, or bearer_token")


class Launcher(BaseLauncher):
    type = "idm"

    def launch(self, options: RunOptions, deadline: Deadline) -> Result:
        s = self.settings
        headers = {"Accept-API-Version": "resource=1.0", "X-OpenIDM-NoSession": "true"}
        if s.bearer_token:
            auth = {"Authorization": f"Bearer {s.bearer_token}"}
        else:
            auth = {"X-OpenIDM-Password": s.password}
            headers["X-OpenIDM-Username"] = s.username
        base = "/workflow/processinstance"
        client = self.client(s.url, auth=auth, headers=headers, timeout=min(30.0, max(1.0, deadline.remaining())))
        body = dict(options.input or {})  # every other field becomes a process variable
        if s.process_definition_id:
            body["_processDefinitionId"] = s.process_definition_id
        else:
            body["_key"] = s.key
        if s.business_key:
            body["_businessKey"] = s.business_key
        what = s.process_definition_id or s.key
        options.progress.update("starting", what)
        response = self.start_call(f"{base}", params={"_action": "create"}, json=body,
                                   timeout=max(1.0, deadline.remaining()))
        reply = json_or_none(response)
        self.last_body = reply
        if response.status >= 400:
            message = reply.get("message") if isinstance(reply, dict) else None
            self.last_status = f"HTTP {response.status}"
            if response.status >= 500 and message:
                # A script or engine exception on the way to the first wait state: the flow ran and failed.
                return self.result(FAILED, f"{what}: {message}", http_status=response.status)
            hint = {404: "no such process deployed: check key / process_definition_id",
                    400: "the create was refused"}.get(response.status, "the create failed")
            return self.result(ERROR, f"{what}: HTTP {response.status}: {hint}" + (f" ({message})" if message else ""),
                               http_status=response.status)
        if not isinstance(reply, dict) or not reply.get("_id"):
            return self.result(ERROR, f"create -> {response.status} without an _id: {response.text[:200]}")
        self.run_id, self.last_status = str(reply["_id"]), reply.get("status")
        if self.last_status == "ended":
            return self.result(PASSED, f"process {what} ran to its end")
        if not options.wait:
            return self.result(PASSED, f"started ({self.last_status}); not waiting for the end")
        interval = backoff(s.poll_interval, cap=10.0)
        while True:
            options.progress.update(self.last_status or "suspended", f"process instance {self.run_id}")
            if deadline.expired():
                return self.timed_out(deadline, f"process {what}", waiting_on=self._waiting_on(client, base))
            deadline.sleep(interval())
            history = client.get_json(f"{base}/history/{self.run_id}")
            self.last_body = history
            if history.get("endTime") or history.get("endActivityId"):
                self.last_status = "ended"
                if history.get("deleteReason"):
                    return self.result(FAILED, f"the process was deleted: {history['deleteReason']}")
                return self.result(PASSED, f"process {what} ended at {history.get('endActivityId')}")

    def _waiting_on(self, client, base: str) -> str:
        try:
            instance = client.get_json(f"{base}/{self.run_id}")
        except Exception:  # noqa: BLE001 - only for the message; the timeout is what we report
            return "an unknown step (the instance could not be read)"
        open_tasks = [t for t in instance.get("tasks") or [] if not t.get("endTime")]
        if open_tasks:
            return ", ".join(f"user task {t.get('name')!r} ({t.get('taskDefinitionKey')})"
                             + (f" assigned to {t['assignee']}" if t.get("assignee") else "") for t in open_tasks)
        return "a timer or an event (no open user task)"

    def cancel(self) -> None:
        # An instance left suspended is harmless and visible by its business key; deleting it is opt-in (reference 5.2).
        pass
