"""Redaction: keyed fingerprints, unkeyed markers, flags and references left alone, application secrets."""

from __future__ import annotations

import json

import pytest
from normalize_helpers import DAVINCI, flow_with, load, var

from flowvault import canonical
from flowvault.normalize import davinci
from flowvault.normalize.redact import Redactor, is_literal_secret, redact_application

KEY = b"test-key-not-secret"


def test_secret_variable_gets_a_stable_keyed_fingerprint():
    doc = flow_with([var("smtpLogin", "hunter2", ftype="secret")])
    a = davinci.normalize(doc, redactor=Redactor(KEY))
    b = davinci.normalize(doc, redactor=Redactor(KEY))
    value = a.flow["variables"]["company/smtpLogin"]["fields"]["value"]
    assert value["redacted"].startswith("hmac-sha256:") and len(value["redacted"]) == len("hmac-sha256:") + 12
    assert canonical.dumps(a.flow) == canonical.dumps(b.flow)
    assert "hunter2" not in canonical.dumps(a.flow) + canonical.dumps(a.meta) + canonical.dumps(a.layout)
    assert a.meta["secret_paths"] == [["variables", "company/smtpLogin", "fields", "value"]]


def test_fingerprint_changes_with_the_secret_or_the_key():
    def fingerprint(secret, key):
        snap = davinci.normalize(flow_with([var("smtpLogin", secret, ftype="secret")]), redactor=Redactor(key))
        return snap.flow["variables"]["company/smtpLogin"]["fields"]["value"]["redacted"]

    assert fingerprint("hunter2", KEY) == fingerprint("hunter2", KEY)
    assert fingerprint("hunter3", KEY) != fingerprint("hunter2", KEY)
    assert fingerprint("hunter2", b"other key") != fingerprint("hunter2", KEY)


def test_without_a_key_the_value_is_left_out_and_the_redactor_says_so():
    redactor = Redactor(None)
    assert not redactor.keyed  # backup warns about this once, before the run (FLOWVAULT_REDACT_KEY unset)
    snap = davinci.normalize(flow_with([var("clientSecret", "s3cr3t-value")]), redactor=redactor)
    assert snap.flow["variables"]["company/clientSecret"]["fields"]["value"] == {"redacted": True}
    assert "s3cr3t-value" not in json.dumps(snap.flow)


def test_pattern_matched_variable_names_and_node_properties():
    doc = flow_with(
        [var("apiToken", "abc123"), var("companyName", "ACME"), var("passwordlessEnabled", "true", ftype="boolean")],
        {"clientSecret": {"value": "literal-secret"}, "headers": {"value": [{"key": "x", "authToken": "tok-1"}]}},
    )
    snap = davinci.normalize(doc, redactor=Redactor(KEY))
    variables = snap.flow["variables"]
    assert "redacted" in variables["company/apiToken"]["fields"]["value"]
    assert variables["company/companyName"]["fields"]["value"] == "ACME"
    assert variables["company/passwordlessEnabled"]["fields"]["value"] == "true"  # a flag, not a secret
    props = snap.flow["nodes"][next(iter(snap.flow["nodes"]))]["properties"]
    assert "redacted" in props["clientSecret"]["value"]
    assert "redacted" in props["headers"]["value"][0]["authToken"]
    assert "literal-secret" not in canonical.dumps(snap.flow) and "tok-1" not in canonical.dumps(snap.flow)


def test_boolean_flags_and_references_are_not_redacted():
    # real corpus node: returnUserPasswordStatus is a bool, "password" is a Slate chip pointing at another node
    doc = load(DAVINCI / "terraformer__tests_testdata_flows_PingOne-SSO-Authentication-Sensei---MASTER.json")
    plain = davinci.normalize(doc)
    redacted = davinci.normalize(doc, redactor=Redactor(KEY))
    # its one secret by shape, a reCAPTCHA secret key inside a JSON config variable (test_normalize_redact_values)
    assert redacted.meta["secret_paths"] == [["variables", "company/mf-configObject", "fields", "value"]]
    for snap in (plain, redacted):
        snap.flow["variables"].pop("company/mf-configObject")
    assert canonical.dumps(redacted.flow) == canonical.dumps(plain.flow)
    assert "returnUserPasswordStatus" in json.dumps(plain.flow)
    assert not is_literal_secret(True)
    assert not is_literal_secret("{{global.variables.password}}")
    assert not is_literal_secret('[{"children": [{"text": ""}, {"type": "link", "data": "{{local.a.password}}", '
                                 '"children": [{"text": "password"}]}]}]')  # fmt: skip
    assert is_literal_secret('[{"children": [{"text": "Bearer abc.def"}]}]')


def test_redaction_is_stable_under_renormalization():
    doc = flow_with([var("smtpLogin", "hunter2", ftype="secret")], {"apiKey": {"value": "k-123"}})
    snap = davinci.normalize(doc, redactor=Redactor(KEY))
    again = davinci.normalize(davinci.denormalize(snap), redactor=Redactor(KEY))
    assert canonical.dumps(again.flow) == canonical.dumps(snap.flow)


@pytest.mark.parametrize("key, expected", [(KEY, str), (None, bool)])
def test_application_secrets(key, expected):
    new = {"name": "app", "apiKey": {"enabled": True, "value": "sk-abc"},
           "oauth": {"clientSecret": "cs-1", "enabled": True, "values": {"redirectUris": ["https://x"]}}}  # fmt: skip
    legacy = {"name": "app", "apiKeys": {"prod": "p-1", "test": "t-1"}, "oauth": {"enabled": True,
              "values": {"clientSecret": "cs-2", "allowedGrants": ["authorizationCode"]}}}  # fmt: skip
    r = Redactor(key)
    a, b = redact_application(new, r), redact_application(legacy, r)
    assert isinstance(a["apiKey"]["value"]["redacted"], expected) and a["apiKey"]["enabled"] is True
    assert isinstance(a["oauth"]["clientSecret"]["redacted"], expected)
    assert isinstance(b["apiKeys"]["prod"]["redacted"], expected)
    assert isinstance(b["apiKeys"]["test"]["redacted"], expected)
    assert isinstance(b["oauth"]["values"]["clientSecret"]["redacted"], expected)
    assert b["oauth"]["values"]["allowedGrants"] == ["authorizationCode"]
    text = json.dumps([a, b])
    assert not any(s in text for s in ("sk-abc", "cs-1", "p-1", "t-1", "cs-2"))
    assert new["apiKey"]["value"] == "sk-abc"  # the input is not modified


def test_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "from-env")
    assert Redactor.from_environment().key == b"from-env"
    monkeypatch.delenv("FLOWVAULT_REDACT_KEY")
    key_file = tmp_path / "key"
    key_file.write_bytes(b"from-file\n")
    r = Redactor.from_environment(["*pin*"], key_file=key_file)
    assert r.key == b"from-file" and r.matches("userPIN") and r.matches("clientSecret")
    assert Redactor.from_environment().key is None
