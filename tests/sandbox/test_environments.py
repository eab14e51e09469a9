"""--environments: one DaVinci environment per name, the same seed data under each environment's own ids."""

from __future__ import annotations

import requests
from click.testing import CliRunner

from flowvault.sandbox.envs import CLIENT_ID, ENV_ID
from flowvault.sandbox.server import Sandbox
from tests.sandbox.sandbox_helpers import PingOne, client_for

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

FULL_BASIC = "c7062a8857740ee2185694bb855f8f21"


def _flows_by_name(client: PingOne) -> dict[str, dict]:
    return {f["name"]: f for f in client.get("/flows").json()["_embedded"]["flows"]}


def _connection_ids(client: PingOne, flow_id: str, version: int) -> set[str]:
    nodes = client.export(flow_id, version).json()["graphData"]["elements"]["nodes"]
    return {n["data"]["connectionId"] for n in nodes if n["data"].get("connectionId")}


def test_default_is_one_environment_named_davinci_with_the_seed_ids(sandbox, p1):
    assert sandbox.config()["sources"]["davinci"]["environment_id"] == ENV_ID
    assert sandbox.config()["sources"]["davinci"]["client_id"] == CLIENT_ID
    assert FULL_BASIC in {f["id"] for f in p1.get("/flows").json()["_embedded"]["flows"]}


def test_each_environment_has_the_same_flows_under_its_own_ids(two_envs):
    staging, prod = client_for(two_envs, "staging"), client_for(two_envs, "prod")
    assert staging.env_id != prod.env_id and ENV_ID not in (staging.env_id, prod.env_id)
    s_flows, p_flows = _flows_by_name(staging), _flows_by_name(prod)
    assert set(s_flows) == set(p_flows) and "full-basic" in s_flows
    assert not {f["id"] for f in s_flows.values()} & {f["id"] for f in p_flows.values()}
    assert FULL_BASIC not in {f["id"] for f in s_flows.values()}
    fb = p_flows["full-basic"]
    assert fb["environment"] == {"id": prod.env_id}
    assert (fb["currentVersion"], fb["publishedVersion"]) == (3, 2)
    # subflow calls point at the same environment's subflows
    export = prod.export(fb["id"], 3, includeSubFlows=True).json()
    assert {s["flow"]["id"] for s in export["_embedded"]} == {p_flows["subflow 1"]["id"], p_flows["subflow 2"]["id"]}
    # variables, applications and policies have their own ids too
    s_vars = {(v["context"], v["name"]): v["id"]
              for v in staging.get("/variables", params={"limit": 500}).json()["_embedded"]["variables"]}
    p_vars = {(v["context"], v["name"]): v["id"]
              for v in prod.get("/variables", params={"limit": 500}).json()["_embedded"]["variables"]}
    assert set(s_vars) == set(p_vars) and not set(s_vars.values()) & set(p_vars.values())
    s_apps = staging.get("/davinciApplications").json()["_embedded"]["davinciApplications"]
    p_apps = prod.get("/davinciApplications").json()["_embedded"]["davinciApplications"]
    assert [a["name"] for a in s_apps] == [a["name"] for a in p_apps]
    assert not {a["id"] for a in s_apps} & {a["id"] for a in p_apps}
    p_policies = prod.get(f"/davinciApplications/{p_apps[0]['id']}/flowPolicies").json()["_embedded"]["flowPolicies"]
    assert all(d["id"] in {f["id"] for f in p_flows.values()} for p in p_policies for d in p["flowDistributions"])


def test_a_token_is_only_good_for_its_own_environment(two_envs):
    staging, prod = client_for(two_envs, "staging"), client_for(two_envs, "prod")
    r = requests.get(f"{prod.api}/flows", headers=staging.headers, timeout=5)
    assert r.status_code == 403 and r.json()["code"] == "ACCESS_FAILED"
    # prod's worker app is not staging's
    prod_client = two_envs.config()["sources"]["prod"]["client_id"]
    r = requests.post(staging.token_url, data={"grant_type": "client_credentials"}, auth=(prod_client, "sandbox"),
                      timeout=5)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    # the default environment is not served
    r = requests.post(f"{two_envs.url}/{ENV_ID}/as/token", data={"grant_type": "client_credentials"},
                      auth=(CLIENT_ID, "sandbox"), timeout=5)
    assert r.status_code == 401


def test_two_sandboxes_started_alike_serve_identical_environments():
    def snapshot(seed):
        with Sandbox(environments=["staging", "prod"], seed=seed) as sb:
            prod = client_for(sb, "prod")
            out = [prod.get("/flows").text, prod.get("/connectorInstances").text,
                   prod.get("/variables", params={"limit": 500}).text, prod.get("/davinciApplications").text]
            return [t.replace(sb.url, "URL") for t in out]

    first = snapshot(3)
    assert snapshot(3) == first
    assert snapshot(4) != first  # the seed is part of every derived id


def test_edits_in_one_environment_stay_there(two_envs):
    staging, prod = client_for(two_envs, "staging"), client_for(two_envs, "prod")
    fb = _flows_by_name(prod)["full-basic"]["id"]
    assert staging.hook(f"flows/{fb}/edit", {"/description": "prod only"}).status_code == 200
    assert _flows_by_name(prod)["full-basic"]["currentVersion"] == 4
    assert _flows_by_name(staging)["full-basic"]["currentVersion"] == 3


def test_nodes_connections_are_the_environments_connector_instances(two_envs):
    staging, prod = client_for(two_envs, "staging"), client_for(two_envs, "prod")
    instances = {}
    for name, client in (("staging", staging), ("prod", prod)):
        body = client.get("/connectorInstances").json()
        instances[name] = {i["id"]: i for i in body["_embedded"]["connectorInstances"]}
        for flow in client.get("/flows").json()["_embedded"]["flows"]:
            assert _connection_ids(client, flow["id"], flow["currentVersion"]) <= set(instances[name]), flow["name"]
    assert not set(instances["staging"]) & set(instances["prod"])
    same = {(i["connector"]["id"], i["name"]) for i in instances["staging"].values()}
    assert same == {(i["connector"]["id"], i["name"]) for i in instances["prod"].values()}
    # a PingOne connector instance names its own environment
    sso = next(i for i in instances["prod"].values() if i["connector"]["id"] == "pingOneSSOConnector")
    assert sso["properties"]["envId"]["value"] == prod.env_id


def test_write_config_has_a_source_per_environment_and_suffixed_launchers(tmp_path, monkeypatch, two_envs):
    from flowvault.config import load_config

    monkeypatch.setenv("FLOWVAULT_SANDBOX_SECRET", "sandbox")
    doc = tomllib.loads(two_envs.write_config(tmp_path / "f.toml").read_text())
    assert {"staging", "prod", "idm"} <= set(doc["sources"]) and "davinci" not in doc["sources"]
    assert {doc["sources"][n]["type"] for n in ("staging", "prod")} == {"davinci"}
    launchers = set(doc["launchers"])
    assert {"davinci-ok", "davinci-fail", "davinci-ok-prod", "davinci-fail-prod", "idm-ok", "invision-ok"} <= launchers
    assert "davinci-ok-staging" not in launchers
    assert doc["launchers"]["davinci-ok-prod"]["company_id"] == doc["sources"]["prod"]["environment_id"]
    assert doc["launchers"]["davinci-ok"]["company_id"] == doc["sources"]["staging"]["environment_id"]
    config = load_config(tmp_path / "f.toml")
    assert config.sources["prod"].settings.environment_id == doc["sources"]["prod"]["environment_id"]


def test_the_runtime_runs_each_environments_policies(two_envs):
    doc = two_envs.config()["launchers"]
    for ok, fail in (("davinci-ok", "davinci-fail"), ("davinci-ok-prod", "davinci-fail-prod")):
        for name, status in ((ok, 200), (fail, 400)):
            launcher = doc[name]
            r = requests.post(f"{launcher['runtime_url']}/company/{launcher['company_id']}/policy/"
                              f"{launcher['policy_id']}/start", headers={"X-SK-API-KEY": "sandbox"},
                              json=launcher.get("input", {}), timeout=5)
            assert r.status_code == status, (name, r.text)
            assert r.json()["companyId"] == launcher["company_id"]
    # a policy of prod started under staging's company is not found there
    r = requests.post(f"{two_envs.url}/v1/company/{doc['davinci-ok']['company_id']}/policy/"
                      f"{doc['davinci-ok-prod']['policy_id']}/start", headers={"X-SK-API-KEY": "sandbox"}, json={},
                      timeout=5)
    assert r.status_code == 404


def test_environments_option_is_validated():
    from flowvault.cli.sandbox import command

    for bad in ("prod,prod", "bad name", ",", "a/b"):
        result = CliRunner().invoke(command, ["--environments", bad], obj=None)
        assert result.exit_code == 2, (bad, result.output)
        assert "--environments" in result.output


def test_an_environment_named_like_another_source_is_refused_in_the_config(tmp_path):
    with Sandbox(environments=["idm"]) as sb:
        try:
            sb.config()
        except ValueError as e:
            assert "idm" in str(e)
        else:
            raise AssertionError("a davinci source named idm must not silently replace the idm source")


def test_state_dir_keeps_each_environment_apart(tmp_path):
    with Sandbox(state_dir=tmp_path, environments=["staging", "prod"]) as sb:
        prod = client_for(sb, "prod")
        flow_id = _flows_by_name(prod)["full-basic"]["id"]
        prod.hook(f"flows/{flow_id}/edit", {"/description": "kept"})
    assert {p.name for p in tmp_path.iterdir()} == {"davinci.prod.json"}  # written when something changed
    with Sandbox(state_dir=tmp_path, environments=["staging", "prod"]) as sb:
        assert _flows_by_name(client_for(sb, "prod"))["full-basic"]["currentVersion"] == 4
        assert _flows_by_name(client_for(sb, "staging"))["full-basic"]["currentVersion"] == 3
