"""The DaVinci environment that restore writes to, through the PingOne Platform API (reference/davinci-api.md §1.3,
§2.4, §4).

Writes (import, replace, deploy) are sent once, never retried (STYLE.md "HTTP"): a retried import creates the flow
twice. Reads are retried.
"""

from __future__ import annotations

from typing import Any

from flowvault.errors import RemoteError

IMPORT_TYPES = {"platform": "application/vnd.pingidentity.flow.import+json",
                "legacy": "application/vnd.pingidentity.flow.import.legacy+json"}
DEPLOY_TYPE = "application/vnd.pingidentity.flow.deploy+json"


class Target:
    """The DaVinci environment restore writes to: a flowvault.http.Client on its Platform API."""

    def __init__(self, name: str, settings, *, client=None, secret_hint: str | None = None) -> None:
        self.name = name
        self.env = settings.environment_id
        if client is None:
            from flowvault.http import Client
            from flowvault.token import TokenProvider, api_base

            tokens = TokenProvider.from_settings(settings, source=name, secret_hint=secret_hint,
                                                 timeout=settings.timeout)
            client = Client(api_base(settings), source=name, timeout=settings.timeout, auth=tokens,
                            secret_hint=secret_hint)
        self.client = client

    def path(self, *parts: str) -> str:
        """The API path of `parts` under this environment."""
        return "/".join(["/environments", self.env, *parts])

    def flows(self) -> list[dict]:
        """Every flow of the environment (a listing entry each, all with an id)."""
        body = self.client.get_json(self.path("flows"))
        return [f for f in _embedded(body, "flows") if isinstance(f, dict) and f.get("id")]

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
        for app in _embedded(self.client.get_json(self.path("davinciApplications")), "davinciApplications"):
            if isinstance(app, dict) and app.get("id"):
                body = self.client.get_json(self.path("davinciApplications", str(app["id"]), "flowPolicies"))
                out += [(app, p) for p in _embedded(body, "flowPolicies") if isinstance(p, dict)]
        return out

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


def _embedded(body: Any, key: str) -> list:
    """The `_embedded.<key>` list of a listing response ([] if absent; RemoteError if `body` is not an object)."""
    if not isinstance(body, dict):
        raise RemoteError(f"expected a JSON object with _embedded.{key}, got {type(body).__name__}")
    items = (body.get("_embedded") or {}).get(key, [])
    return items if isinstance(items, list) else []
