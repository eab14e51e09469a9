"""The DaVinci environment that restore writes to, through the PingOne Platform API (reference/davinci-api.md §1.3,
§2.4, §4), read through the one Platform API client (flowvault.pingone.client).

Writes (import, replace, deploy, revert, variables, connector instances, flow policies) are sent once, never
retried (STYLE.md "HTTP"): a retried import creates the flow twice. Reads are retried. A listing page without its
`_embedded` list is an error, never an empty environment: read as empty, a restore would create every flow anew.
Every write body passes one last guard (`_write`): a body that holds a redacted value or a «redacted» marker is
never sent (DESIGN.md "Secrets never land").
"""

from __future__ import annotations

from typing import Any

from flowvault.errors import FlowvaultError
from flowvault.pingone.client import PlatformClient
from flowvault.restore.secrets import holds_redacted

IMPORT_TYPES = {"platform": "application/vnd.pingidentity.flow.import+json",
                "legacy": "application/vnd.pingidentity.flow.import.legacy+json"}
DEPLOY_TYPE = "application/vnd.pingidentity.flow.deploy+json"
VALIDATE_TYPE = "application/vnd.pingidentity.flow.validate+json"
REVERT_TYPE = "application/vnd.pingidentity.flowversion.revert+json"  # davinci-api.md §1.3 (docs only)


class Target:
    """The DaVinci environment restore writes to (or, for `--from`, reads connector instance names from)."""

    def __init__(self, name: str, settings: Any, *, client: Any = None, secret_hint: str | None = None) -> None:
        self.name = name
        self.platform = PlatformClient(name, settings, client=client, secret_hint=secret_hint)
        self.env = self.platform.env
        self.client = self.platform.http

    def path(self, *parts: str) -> str:
        """The API path of `parts` under this environment."""
        return self.platform.path(*parts)

    # --- reads

    def flows(self) -> list[dict]:
        """Every flow of the environment (a listing entry each, all with an id)."""
        return [f for f in self.platform.listing(self.path("flows"), "flows") if isinstance(f, dict) and f.get("id")]

    def flow(self, flow_id: str) -> dict:
        """The full flow `flow_id` as the environment holds it now."""
        return self.client.get_json(self.path("flows", flow_id))

    def connector_instances(self) -> list[dict]:
        """Every connector instance of the environment (`GET /connectorInstances`)."""
        return [i for i in self.platform.listing(self.path("connectorInstances"), "connectorInstances")
                if isinstance(i, dict) and i.get("id")]

    def variables(self) -> list[dict]:
        """Every variable of the environment (`GET /variables`, all pages)."""
        return [v for v in self.platform.listing(self.path("variables"), "variables", params={"limit": 500})
                if isinstance(v, dict) and v.get("id")]

    def policies(self) -> list[tuple[dict, dict]]:
        """[(application, flow policy)] of the environment."""
        out = []
        for app in self.platform.listing(self.path("davinciApplications"), "davinciApplications"):
            if isinstance(app, dict) and app.get("id"):
                policies = self.platform.listing(self.path("davinciApplications", str(app["id"]), "flowPolicies"),
                                                 "flowPolicies")
                out += [(app, p) for p in policies if isinstance(p, dict)]
        return out

    # --- writes: each sent once

    def _write(self, method: str, path: str, body: dict, content_type: str = "application/json") -> Any:
        """The parsed response to one write, sent once; a body holding anything redacted is never sent."""
        if holds_redacted(body):
            raise FlowvaultError(f"{self.name}: internal error: {method} {path} would have sent a redacted value; "
                                 "it was not sent")
        send = self.client.put if method == "PUT" else self.client.post
        return send(path, retry=False, json=body, headers={"Content-Type": content_type}).data

    def replace(self, flow_id: str, body: dict) -> dict:
        """The response to a DaVinciFlowReplaceRequest of `flow_id`."""
        return self._write("PUT", self.path("flows", flow_id), body)

    def import_flow(self, body: dict, shape: str) -> dict:
        """The response to an import of `body` in the export `shape` ("platform" or "legacy")."""
        return self._write("POST", self.path("flows"), body, IMPORT_TYPES.get(shape, IMPORT_TYPES["platform"]))

    def delete_flow(self, flow_id: str) -> None:
        """Delete flow `flow_id` (what undoes an import)."""
        self.client.delete(self.path("flows", flow_id), retry=False)

    def deploy(self, flow_id: str) -> dict:
        """The response to a deploy of `flow_id`'s current version."""
        return self._write("POST", self.path("flows", flow_id), {}, DEPLOY_TYPE)

    def validate(self, flow_id: str, graph: dict | None = None) -> dict:
        """The flow with the linter's findings (`dvlinterErrorCount`, `graphData.allLinterErrors`). Ping counts
        this POST as a write (x-permission davinci:create:dvFlows), so it is sent once too."""
        return self._write("POST", self.path("flows", flow_id), {"graphData": graph} if graph else {}, VALIDATE_TYPE)

    def revert(self, flow_id: str, version: int) -> dict:
        """Save version `version` of `flow_id` as its new current version (what undoes a replace)."""
        return self._write("POST", self.path("flows", flow_id, "versions", str(version)), {}, REVERT_TYPE)

    def create_variable(self, body: dict) -> dict:
        return self._write("POST", self.path("variables"), body)

    def replace_variable(self, variable_id: str, body: dict) -> dict:
        return self._write("PUT", self.path("variables", variable_id), body)

    def delete_variable(self, variable_id: str) -> None:
        self.client.delete(self.path("variables", variable_id), retry=False)

    def create_connector_instance(self, body: dict) -> dict:
        return self._write("POST", self.path("connectorInstances"), body)

    def delete_connector_instance(self, instance_id: str) -> None:
        self.client.delete(self.path("connectorInstances", instance_id), retry=False)

    def replace_policy(self, app_id: str, policy_id: str, body: dict) -> dict:
        return self._write("PUT", self.path("davinciApplications", app_id, "flowPolicies", policy_id), body)

    def close(self) -> None:
        """Close the client's connections."""
        self.platform.close()
