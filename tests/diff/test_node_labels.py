"""Node labels read as the designer named the node."""

from flowvault.diff import diff_flows, node_label, node_title
from flowvault.render import describe


def _flow(title: str) -> dict:
    node = {"nodeType": "CONNECTION", "connectorId": "pingOneSSOConnector", "capabilityName": "checkPassword",
            "name": "PingOne", "label": "PingOne",
            "properties": {"nodeTitle": {"value": title}, "username": {"value": "{{global.parameters.user}}"}}}
    return {"name": "PingOne Sign On", "nodes": {"1u2m5vzr49": node}, "edges": {}, "variables": {}}


def test_the_designer_title_names_the_node():
    node = _flow("Check password")["nodes"]["1u2m5vzr49"]
    assert node_title(node) == "Check password"
    assert node_label(node) == "Check password - PingOne SSO / checkPassword"


def test_a_node_without_title_falls_back_to_its_label_and_connector():
    node = {"nodeType": "CONNECTION", "connectorId": "httpConnector", "capabilityName": "customHTMLTemplate",
            "label": "Http", "name": "Http", "properties": {}}
    assert node_label(node) == "Http / customHTMLTemplate"


def test_a_property_change_reads_as_design_md_shows_it():
    old, new = _flow("Check password"), _flow("Check password")
    new["nodes"]["1u2m5vzr49"]["properties"]["username"]["value"] = "{{global.parameters.email}}"
    [change] = diff_flows((old, {}, {}), (new, {}, {}))
    assert change.category == "node" and change.target == "1u2m5vzr49"
    assert describe(change).startswith(
        "node 'Check password' (PingOne SSO / checkPassword): property `username` changed")
