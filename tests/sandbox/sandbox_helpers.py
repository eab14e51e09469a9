"""Helpers for the sandbox tests: a plain-HTTP client of the sandbox's PingOne endpoints."""

from __future__ import annotations

import requests

from flowvault.sandbox.token import CLIENT_ID, ENV_ID


class PingOne:
    """A plain-HTTP client of the sandbox's PingOne endpoints, authenticated as the worker app."""

    def __init__(self, url: str, secret: str = "sandbox", env_id: str = ENV_ID, client_id: str = CLIENT_ID) -> None:
        self.url = url
        self.env_id = env_id
        self.api = f"{url}/v1/environments/{env_id}"
        self.token_url = f"{url}/{env_id}/as/token"
        response = requests.post(self.token_url, data={"grant_type": "client_credentials"},
                                 auth=(client_id, secret), timeout=5)
        response.raise_for_status()
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.api + path, headers=self.headers, timeout=10, **kw)

    def post(self, path: str, content_type: str, body=None) -> requests.Response:
        return requests.post(self.api + path, headers={**self.headers, "Content-Type": content_type},
                             json=body, timeout=10)

    def put(self, path: str, body, content_type: str = "application/json") -> requests.Response:
        return requests.put(self.api + path, headers={**self.headers, "Content-Type": content_type}, json=body,
                            timeout=10)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(self.api + path, headers=self.headers, timeout=10)

    def export(self, flow_id: str, version, **body) -> requests.Response:
        return self.post(f"/flows/{flow_id}/versions/{version}",
                         "application/vnd.pingidentity.flowversion.export+json", body)

    def hook(self, path: str, body) -> requests.Response:
        return requests.post(f"{self.url}/_sandbox/{path}", json=body, timeout=5)


def client_for(sb, name: str) -> PingOne:
    """A PingOne client of environment `name` of sandbox `sb`, with the credentials --write-config writes for it."""
    source = sb.config()["sources"][name]
    return PingOne(sb.url, env_id=source["environment_id"], client_id=source["client_id"])
