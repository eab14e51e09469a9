"""Fixtures for the sandbox tests; every server listens on 127.0.0.1, port 0, and is stopped after the test."""

from __future__ import annotations

import pytest
import requests

from flowvault.sandbox.server import Sandbox
from flowvault.sandbox.token import CLIENT_ID, ENV_ID


class PingOne:
    """A plain-HTTP client of the sandbox's PingOne endpoints, authenticated as the worker app."""

    def __init__(self, url: str, secret: str = "sandbox") -> None:
        self.url = url
        self.api = f"{url}/v1/environments/{ENV_ID}"
        self.token_url = f"{url}/{ENV_ID}/as/token"
        response = requests.post(self.token_url, data={"grant_type": "client_credentials"},
                                 auth=(CLIENT_ID, secret), timeout=5)
        response.raise_for_status()
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.api + path, headers=self.headers, timeout=10, **kw)

    def post(self, path: str, content_type: str, body=None) -> requests.Response:
        return requests.post(self.api + path, headers={**self.headers, "Content-Type": content_type},
                             json=body, timeout=10)

    def export(self, flow_id: str, version, **body) -> requests.Response:
        return self.post(f"/flows/{flow_id}/versions/{version}",
                         "application/vnd.pingidentity.flowversion.export+json", body)

    def hook(self, path: str, body) -> requests.Response:
        return requests.post(f"{self.url}/_sandbox/{path}", json=body, timeout=5)


@pytest.fixture
def sandbox(monkeypatch):
    monkeypatch.delenv("FLOWVAULT_SANDBOX_SECRET", raising=False)
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def p1(sandbox):
    return PingOne(sandbox.url)
