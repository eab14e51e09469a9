"""Helpers for the restore tests (the sandbox's ids, admin calls, CLI runs)."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from flowvault.cli import cli
from flowvault.sandbox.davinci import CLIENT_ID, ENV_ID

API_SUCCESS = "5b0c5a1d0c0ffee0000000000000a0c1"  # "Sandbox API Success", run by policy sandbox-ok (davinci-ok)
FULL_BASIC = "c7062a8857740ee2185694bb855f8f21"  # calls "subflow 1" and "subflow 2"
SUBFLOW_1 = "00f66e8926ced6ef5b83619fde4a314a"
SUBFLOW_2 = "07503fed5c02849dbbd5ee932da654b2"
SUBFLOW_1_FILE = "tfprovider__internal_acctest_flows_full-basic-subflow-1.json"
NODE_CALLING_SUBFLOW_2 = "xb74p6rkd8"
SECRET_MARKERS = ("hmac-sha256:", '"redacted"')


@dataclass
class World:
    sb: object
    vault: Path

    @property
    def config(self) -> str:
        return str(self.vault / "flowvault.toml")

    def run(self, *args: str):
        return CliRunner().invoke(cli, ["--config", self.config, *args])

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.vault), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    def backup(self, *args: str) -> None:
        result = self.run("backup", *args)
        assert result.exit_code == 0, result.output


def hook(sb, path: str, body=None):
    """A /_sandbox/ test hook (not counted in the stats)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(sb.url + path, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def api(sb, method: str, path: str, body=None, content_type: str = "application/json"):
    """A DaVinci admin API call with a fresh worker token (what a designer or another tool would do)."""
    basic = base64.b64encode(f"{CLIENT_ID}:sandbox".encode()).decode()
    req = urllib.request.Request(f"{sb.url}/{ENV_ID}/as/token", data=b"grant_type=client_credentials",
                                 headers={"Authorization": f"Basic {basic}",
                                          "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req) as resp:
        token = json.load(resp)["access_token"]
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{sb.url}/v1/environments/{ENV_ID}{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def stored(sb) -> dict:
    """Everything the sandbox's DaVinci environment holds, flows by id (its in-memory state)."""
    return sb.ctx.state["davinci"].data["flows"]


def by_name(sb, name: str) -> list[dict]:
    store = sb.ctx.state["davinci"]
    return [f for f in store.flows() if store.current(f).get("name", "").strip() == name]


def writes(stats_before: dict, stats_after: dict) -> dict:
    """Routes other than reads and the token endpoint whose count went up between two /_sandbox/stats answers."""
    before, after = stats_before["by_route"], stats_after["by_route"]
    return {route: n - before.get(route, 0) for route, n in after.items()
            if n > before.get(route, 0) and not route.startswith("GET ") and "/as/token" not in route}


def subflow_ids(content: dict) -> dict[str, str]:
    """{node id: subflow id} of a flow version's content as the sandbox stores it."""
    out = {}
    for node in content["graphData"]["elements"]["nodes"]:
        data = node["data"]
        target = ((data.get("properties") or {}).get("subFlowId") or {}).get("value")
        if isinstance(target, dict) and "value" in target:
            out[data["id"]] = target["value"]
    return out


def row(output: str, kind: str, name: str) -> str:
    """The line of restore's plan table for step (kind, name) ("" when there is none)."""
    for line in output.splitlines():
        parts = line.split()
        if parts[:1] == [kind] and f"  {name}  " in line:
            return " ".join(parts)
    return ""


def env_store(sb, name: str):
    """The store of the sandbox's DaVinci environment `name` (--environments)."""
    [dv] = [dv for dv in sb.ctx.state["davinci_environments"].all() if dv.env.name == name]
    return dv.store
