"""Helpers for the restore tests (the sandbox's ids, admin calls, CLI runs)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from helpers import sandbox_token

from flowvault.cli import cli
from flowvault.sandbox.davinci import ENV_ID

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
    token = sandbox_token(sb)
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


class FakeTarget:
    """An in-memory DaVinci environment with the methods of flowvault.restore.target.Target; records every write
    as (method, id); `fail_at` names the write (its method name) that answers 500 instead."""

    def __init__(self, flows=(), instances=(), variables=(), policies=(), fail_at=None):
        self.name, self.env = "fake", "fake-env"
        self.data = {f["id"]: f for f in flows}
        self.instances = list(instances)
        self.vars = list(variables)
        self.apps = list(policies)  # [(app, policy)]
        self.writes, self.fail_at, self.serial = [], fail_at, 0
        self.bodies = []

    def _write(self, what, ident=None, body=None):
        from flowvault.errors import RemoteError

        if self.fail_at == what:
            raise RemoteError(f"fake: {what} -> 500", status=500)
        self.writes.append((what, ident))
        self.bodies.append((what, body))

    def _new(self, prefix):
        self.serial += 1
        return f"{prefix}{self.serial}"

    def flows(self):
        return [{"id": i, "name": f["versions"][f["currentVersion"]]["name"], "currentVersion": f["currentVersion"],
                 "publishedVersion": f.get("publishedVersion")} for i, f in self.data.items()]

    def flow(self, flow_id):
        f = self.data[flow_id]
        return {**f["versions"][f["currentVersion"]], "id": flow_id, "currentVersion": f["currentVersion"]}

    def content(self, flow_id):
        f = self.data[flow_id]
        return f["versions"][f["currentVersion"]]

    def connector_instances(self):
        return self.instances

    def variables(self):
        return self.vars

    def policies(self):
        return self.apps

    def import_flow(self, body, shape):
        self._write("import_flow", None, body)
        new = self._new("new-flow-")
        content = {k: body["flowInfo"][k] for k in ("graphData", "variables") if k in body["flowInfo"]}
        self.data[new] = {"id": new, "currentVersion": 1, "versions": {1: {"name": body["name"], **content}}}
        return {"flow": {"id": new}, "version": 1}

    def replace(self, flow_id, body):
        self._write("replace", flow_id, body)
        f = self.data[flow_id]
        f["currentVersion"] = max(f["versions"]) + 1
        f["versions"][f["currentVersion"]] = dict(body)
        return {"currentVersion": f["currentVersion"]}

    def revert(self, flow_id, version):
        self._write("revert", flow_id)
        f = self.data[flow_id]
        number = max(f["versions"]) + 1
        f["versions"][number] = dict(f["versions"][version])
        f["currentVersion"] = number

    def deploy(self, flow_id):
        self._write("deploy", flow_id)
        f = self.data[flow_id]
        f["publishedVersion"] = f["currentVersion"]
        return {"publishedVersion": f["currentVersion"]}

    def validate(self, flow_id, graph=None):
        # with a graph: the preflight, before any write (it saves nothing); without: what the target saved
        self._write("validate" if graph is None else "preflight", flow_id)
        return self.linter(flow_id, graph) if graph is not None else {}

    def linter(self, flow_id, graph):
        """The preflight's answer for `graph`: no findings (a test replaces this)."""
        return {}

    def delete_flow(self, flow_id):
        self._write("delete_flow", flow_id)
        del self.data[flow_id]

    def create_variable(self, body):
        self._write("create_variable", None, body)
        var = {**body, "id": self._new("var-")}
        self.vars.append(var)
        return var

    def replace_variable(self, variable_id, body):
        self._write("replace_variable", variable_id, body)
        self.vars = [v for v in self.vars if v["id"] != variable_id] + [{**body, "id": variable_id}]
        return body

    def delete_variable(self, variable_id):
        self._write("delete_variable", variable_id)
        self.vars = [v for v in self.vars if v["id"] != variable_id]

    def create_connector_instance(self, body):
        self._write("create_connector_instance", None, body)
        made = {**body, "id": self._new("ci-")}
        self.instances.append(made)
        return made

    def delete_connector_instance(self, instance_id):
        self._write("delete_connector_instance", instance_id)
        self.instances = [i for i in self.instances if i["id"] != instance_id]

    def replace_policy(self, app_id, policy_id, body):
        self._write("replace_policy", policy_id, body)
        for _app, policy in self.apps:
            if policy["id"] == policy_id:
                policy.update(body)
        return body


def legacy_flow(flow_id, name, calls=(), variables=(), connection="ci-old-http"):
    """A minimal legacy export flow: an Http node, one flowConnector node per (subflow id, name, pinned version) of
    `calls`, and `variables` (legacy variable objects)."""
    nodes = [{"data": {"id": "http1", "nodeType": "CONNECTION", "connectorId": "httpConnector", "name": "Http",
                       "connectionId": connection, "capabilityName": "createSuccessResponse", "properties": {}}}]
    for i, (sub_id, sub_name, version) in enumerate(calls):
        nodes.append({"data": {"id": f"call{i}", "nodeType": "CONNECTION", "connectorId": "flowConnector",
                               "name": "Flow Connector", "connectionId": "ci-old-flow",
                               "capabilityName": "startSubFlow", "status": "configured",
                               "properties": {"subFlowId": {"value": {"label": sub_name, "value": sub_id}},
                                              "subFlowVersionId": {"value": version}}}})
    return {"flowId": flow_id, "name": name, "companyId": "old-company", "variables": list(variables),
            "graphData": {"elements": {"nodes": nodes, "edges": []}}}
