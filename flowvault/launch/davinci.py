"""DaVinci flow policy start: POST {runtime_url}/company/{companyId}/policy/{policyId}/start (seed 000).

The call is synchronous (reference/davinci-api.md 1.5, after the FR node's DaVinciClient): 2xx means the flow ended
in "Send Success JSON Response" (the body is that node's JSON); non-2xx with `capabilityName: createErrorResponse`
means it ended in "Send Error JSON Response"; anything else means it never got to either (not deployed, a UI node
reached in an API flow, a bad key, a wrong policy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowvault.launch.base import ERROR, FAILED, PASSED, BaseLauncher, Deadline, Result, RunOptions, json_or_none

SECRET = {"secret": True}


@dataclass(frozen=True)
class Settings:
    company_id: str
    policy_id: str
    api_key: str = field(metadata=SECRET)
    region: str = "com"
    runtime_url: str | None = None  # default https://orchestrate-api.pingone.{region}/v1


def runtime_base(settings: Settings) -> str:
    """The runtime API base: `runtime_url`, else the region's orchestrate-api URL."""
    if settings.runtime_url:
        return settings.runtime_url.rstrip("/")
    from flowvault.pingone.regions import orchestrate_url

    return orchestrate_url(settings.region)


class Launcher(BaseLauncher):
    type = "davinci"

    def launch(self, options: RunOptions, deadline: Deadline) -> Result:
        s = self.settings
        self.client(runtime_base(s), timeout=max(1.0, deadline.remaining()))
        path = f"/company/{s.company_id}/policy/{s.policy_id}/start"
        options.progress.update("starting", f"policy {s.policy_id}")
        response = self.start_call(path, json=options.input or {}, headers={"X-SK-API-KEY": s.api_key})
        body = json_or_none(response)
        self.last_body = body
        if isinstance(body, dict):
            self.run_id = body.get("interactionId") or body.get("id") or None
        if 200 <= response.status < 300:
            self.last_status = "success"
            if isinstance(body, dict) and body.get("success") is False:
                self.last_status = "error"
                return self.result(FAILED, _message(body) or "the flow answered success: false")
            return self.result(PASSED, "the flow sent its success response", http_status=response.status)
        if isinstance(body, dict) and body.get("capabilityName") == "createErrorResponse":
            self.last_status = "error"
            return self.result(FAILED, _message(body) or "the flow sent its error response",
                               http_status=response.status)
        self.last_status = f"HTTP {response.status}"
        return self.result(ERROR, f"{_hint(response.status)} ({_message(body) or 'no message'})",
                           http_status=response.status)


def _message(body) -> str:
    if not isinstance(body, dict):
        return ""
    for key in ("message", "errorMessage", "error_description", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _hint(status: int) -> str:
    if status == 404:
        return f"HTTP {status}: the policy or company was not found: check company_id and policy_id"
    return (f"HTTP {status} without the flow's error response: check that the flow is deployed and its policy "
            "points at it, that it reaches no UI node (an API-launched flow must end in an HTTP JSON response node), "
            "and that api_key is the application's key")
