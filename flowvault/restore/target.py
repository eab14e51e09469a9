"""The DaVinci environment that restore writes to, through the PingOne Platform API (reference/davinci-api.md §1.3,
§2.4, §4), read through the one Platform API client (flowvault.pingone.client).

Writes (import, replace, deploy) are sent once, never retried (STYLE.md "HTTP"): a retried import creates the flow
twice. Reads are retried. A listing page without its `_embedded` list is an error, never an empty environment:
read as empty, a restore would create every flow anew.
"""

from __future__ import annotations

from typing import Any

from flowvault.pingone.client import PlatformClient

IMPORT_TYPES = {"platform": "application/vnd.pingidentity.flow.import+json",
                "legacy": "application/vnd.pingidentity.flow.import.legacy+json"}
DEPLOY_TYPE = "application/vnd.pingidentity.flow.deploy+json"


class Target:
    """The DaVinci environment restore writes to."""

    def __init__(self, name: str, settings: Any, *, client: Any = None, secret_hint: str | None = None) -> None:
        self.name = name
        self.platform = PlatformClient(name, settings, client=client, secret_hint=secret_hint)
        self.env = self.platform.env
        self.client = self.platform.http

    def path(self, *parts: str) -> str:
        """The API path of `parts` under this environment."""
        return self.platform.path(*parts)

    def flows(self) -> list[dict]:
        """Every flow of the environment (a listing entry each, all with an id)."""
        return [f for f in self.platform.listing(self.path("flows"), "flows") if isinstance(f, dict) and f.get("id")]

    def flow(self, flow_id: str) -> dict:
        """The full flow `flow_id` as the environment holds it now."""
        return self.client.get_json(self.path("flows", flow_id))

    def replace(self, flow_id: str, body: dict) -> dict:
        """The response to a DaVinciFlowReplaceRequest of `flow_id` (sent once)."""
        return self.client.put(self.path("flows", flow_id), retry=False, json=body,
                               headers={"Content-Type": "application/json"}).data

    def import_flow(self, body: dict, shape: str) -> dict:
        """The response to an import of `body` in the export `shape` ("platform" or "legacy"; sent once)."""
        return self.client.post(self.path("flows"), retry=False, json=body,
                                headers={"Content-Type": IMPORT_TYPES.get(shape, IMPORT_TYPES["platform"])}).data

    def deploy(self, flow_id: str) -> dict:
        """The response to a deploy of `flow_id`'s current version (sent once)."""
        return self.client.post(self.path("flows", flow_id), retry=False, json={},
                                headers={"Content-Type": DEPLOY_TYPE}).data

    def policies(self) -> list[tuple[dict, dict]]:
        """[(application, flow policy)] of the environment."""
        out = []
        for app in self.platform.listing(self.path("davinciApplications"), "davinciApplications"):
            if isinstance(app, dict) and app.get("id"):
                policies = self.platform.listing(self.path("davinciApplications", str(app["id"]), "flowPolicies"),
                                                 "flowPolicies")
                out += [(app, p) for p in policies if isinstance(p, dict)]
        return out

    def close(self) -> None:
        """Close the client's connections."""
        self.platform.close()
