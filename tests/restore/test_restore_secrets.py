"""Redacted values on restore: from restore_secrets, else the target's value, else left out; never a fingerprint."""

import json

import pytest

from flowvault.errors import ConfigError
from flowvault.restore.secrets import scrub_secrets, supplied_secrets
from flowvault.sandbox.tomlw import dumps as toml_dumps
from flowvault.sources.davinci import Settings
from tests.restore.restore_helpers import API_SUCCESS, SECRET_MARKERS, by_name, hook

FINGERPRINT = {"redacted": "hmac-sha256:0123456789ab"}


def _node(nid, **props):
    return {"data": {"id": nid, "properties": {k: {"value": v} for k, v in props.items()}}}


def test_the_targets_value_is_found_by_node_id_not_by_position():
    raw = {"graphData": {"elements": {"nodes": [_node("a", apiKey=FINGERPRINT), _node("b", token=FINGERPRINT)]}}}
    current = {"graphData": {"elements": {"nodes": [_node("b", token="SBXSECRET-b"),
                                                    _node("a", apiKey="SBXSECRET-a")]}}}
    report = scrub_secrets(raw, current)
    nodes = raw["graphData"]["elements"]["nodes"]
    assert nodes[0]["data"]["properties"]["apiKey"] == {"value": "SBXSECRET-a"}
    assert nodes[1]["data"]["properties"]["token"] == {"value": "SBXSECRET-b"}
    assert {r["outcome"] for r in report} == {"kept from the target"}


def test_without_a_value_anywhere_the_marker_is_left_out():
    raw = {"graphData": {"elements": {"nodes": [_node("a", apiKey=FINGERPRINT)]}},
           "variables": [{"name": "key##SK##company", "fields": {"type": "secret", "value": {"redacted": True}}}]}
    report = scrub_secrets(raw, None)
    assert raw["graphData"]["elements"]["nodes"][0]["data"]["properties"]["apiKey"] == {}
    assert "value" not in raw["variables"][0]["fields"]
    assert not any(m in json.dumps(raw) for m in SECRET_MARKERS)
    assert [r["outcome"] for r in report] == ["left out (not sent)"] * 2


def test_restore_secrets_supply_values_by_name():
    raw = {"graphData": {"elements": {"nodes": [_node("a", apiKey=FINGERPRINT), _node("b", apiKey=FINGERPRINT)]}},
           "variables": [{"name": "key##SK##company", "fields": {"type": "secret", "value": FINGERPRINT}}]}
    current = {"graphData": {"elements": {"nodes": [_node("a", apiKey="target-a"), _node("b", apiKey="target-b")]}}}
    scrub_secrets(raw, current, {"b/apiKey": "from-env-b", "company/key": "from-env-var"})
    nodes = raw["graphData"]["elements"]["nodes"]
    assert nodes[0]["data"]["properties"]["apiKey"]["value"] == "target-a"
    assert nodes[1]["data"]["properties"]["apiKey"]["value"] == "from-env-b"
    assert raw["variables"][0]["fields"]["value"] == "from-env-var"


def test_restore_secrets_name_variables_not_values():
    settings = Settings(environment_id="e", client_id="c", client_secret="s",
                        restore_secrets={"apiKey": "DV_KEY", "other": "literal secret!"})
    with pytest.raises(ConfigError, match="must name an environment variable"):
        supplied_secrets("prod", settings, env={"DV_KEY": "x"})
    settings = Settings(environment_id="e", client_id="c", client_secret="s", restore_secrets={"apiKey": "DV_KEY"})
    with pytest.raises(ConfigError, match="DV_KEY is not set"):
        supplied_secrets("prod", settings, env={})
    assert supplied_secrets("prod", settings, env={"DV_KEY": "v4lue"}) == {"apiKey": "v4lue"}


def test_an_imported_flow_gets_the_value_named_in_the_config(world, other, monkeypatch):
    hook(world.sb, f"/_sandbox/flows/{API_SUCCESS}/edit",
         {"/graphData/elements/nodes/0/data/properties/apiKey": {"value": "SBXSECRET-node-api-key-5150"}})
    world.backup("--source", "davinci")
    config = world.sb.config()
    config["sources"]["other"] = {**other.config()["sources"]["davinci"], "restore_secrets": {"apiKey": "OTHER_KEY"}}
    (world.vault / "flowvault.toml").write_text(toml_dumps(config), encoding="utf-8")

    unset = world.run("restore", API_SUCCESS, "--to", "other")
    assert unset.exit_code == 2 and "OTHER_KEY is not set" in unset.stderr
    assert not by_name(other, "Sandbox API Success")

    monkeypatch.setenv("OTHER_KEY", "SBXSECRET-other-environment-key")
    result = world.run("restore", API_SUCCESS, "--to", "other", "--create-connections")
    assert result.exit_code == 0, result.output
    assert "from restore_secrets['apiKey']" in result.output and "SBXSECRET" not in result.output
    [flow] = by_name(other, "Sandbox API Success")
    text = json.dumps(flow)
    assert "SBXSECRET-other-environment-key" in text
    assert not any(m in text for m in SECRET_MARKERS)


def test_markers_in_a_long_list_are_left_out_without_shifting_the_others():
    from flowvault.restore.secrets import scrub_secrets

    items = [f"item-{i}" for i in range(12)]
    items[9] = {"redacted": "hmac-sha256:000000000009"}
    items[10] = {"redacted": "hmac-sha256:000000000010"}
    raw = {"graphData": {"elements": {"nodes": []}}, "settings": {"sensitiveInfoFields": items}}
    scrub_secrets(raw, None)
    assert raw["settings"]["sensitiveInfoFields"] == [f"item-{i}" for i in range(12) if i not in (9, 10)]
