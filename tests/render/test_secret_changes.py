"""Issue 18: a rotated secret reads "secret changed" in text and Markdown (JSON keeps both fingerprints), and
properties added to a node at once are one record each."""

import json

import pytest

from flowvault.diff import DiffResult
from flowvault.diff.flow import diff_flows
from flowvault.render import render
from tests.diff.diff_helpers import summary

OLD_FP, NEW_FP = "hmac-sha256:ceb5aaaaaaaa", "hmac-sha256:ee10bbbbbbbb"


def _flow(properties):
    node = {"nodeType": "CONNECTION", "connectorId": "httpConnector", "name": "Http",
            "capabilityName": "makeRestApiCall"}
    if properties is not None:
        node["properties"] = properties
    return {"name": "F", "nodes": {"n1": node}}, {}, {"flowId": "F"}


def _rendered(old_props, new_props):
    changes = diff_flows(_flow(old_props), _flow(new_props), source="prod")
    result = DiffResult(summary(flows_changed=1, changes=len(changes)), changes)
    return changes, {fmt: render(result, fmt) for fmt in ("text", "markdown", "json")}


def _headers(fp):
    return {"headers": {"value": [{"key": "Authorization", "value": {"redacted": fp}},
                                  {"key": "Accept", "value": "application/json"}]}}


@pytest.mark.parametrize(("old", "new"), [
    (_headers(OLD_FP), _headers(NEW_FP)),  # a redacted value inside a property
    ({"clientSecret": {"redacted": OLD_FP}}, {"clientSecret": {"redacted": NEW_FP}}),  # a whole property
    ({"url": {"value": f"https://svc:«redacted:{OLD_FP}»@host/x"}},  # a secret inside a string
     {"url": {"value": f"https://svc:«redacted:{NEW_FP}»@host/x"}}),
    ({"body": {"value": f"a=1\nclient_secret=«redacted:{OLD_FP}»\nb=2"}},  # ... of several lines
     {"body": {"value": f"a=1\nclient_secret=«redacted:{NEW_FP}»\nb=2"}}),
])
def test_a_rotated_secret_reads_secret_changed_and_json_keeps_the_fingerprints(old, new):
    changes, out = _rendered(old, new)
    assert len(changes) == 1
    prop = next(iter(old))
    assert f"node Http / makeRestApiCall [n1]: property `{prop}`: secret changed" in out["text"], out["text"]
    assert f"property `{prop}`: secret changed" in out["markdown"], out["markdown"]
    for fmt in ("text", "markdown"):
        assert OLD_FP not in out[fmt] and NEW_FP not in out[fmt], out[fmt]
    record = json.loads(out["json"])["changes"][0]
    assert OLD_FP in json.dumps(record["old"]) and NEW_FP in json.dumps(record["new"])


def test_a_string_that_changed_beside_its_secret_shows_the_change():
    _, out = _rendered({"url": {"value": f"https://svc:«redacted:{OLD_FP}»@host/x"}},
                       {"url": {"value": f"https://svc:«redacted:{OLD_FP}»@host/y"}})
    assert "secret changed" not in out["text"] and "host/x" in out["text"] and "host/y" in out["text"]


@pytest.mark.parametrize("before", [None, {}, {"kept": {"value": "k"}}])
def test_properties_added_at_once_are_one_record_each(before):
    added = {"url": {"value": "https://x"}, "method": {"value": "GET"}, "token": {"redacted": NEW_FP}}
    changes, out = _rendered(before, {**(before or {}), **added})
    assert sorted(c.path for c in changes) == [f"/nodes/n1/properties/{p}" for p in sorted(added)]
    text = out["text"]
    assert "property `url` added: 'https://x'" in text and "property `method` added: 'GET'" in text
    assert "property `token` added" in text
    assert "`properties`" not in text
