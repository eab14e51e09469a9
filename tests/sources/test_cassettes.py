"""The source clients replayed from recorded HTTP (cassettes/davinci, cassettes/idm); no cassette holds a secret."""

import json
import re

import pytest
import vcr_setup
from vcr.request import Request as VcrRequest
from vcr_setup import (
    CASSETTES,
    MARKER,
    RECORD_SECRET,
    SCENARIOS,
    SCRUBBED,
    SOURCE_CASSETTES,
    exercise,
    replay_settings,
)

from flowvault.normalize.redact import Redactor


def test_davinci_source_replays_token_list_export_and_extras(cassette_vcr):
    from flowvault.sources.davinci import Source

    source = Source("prod", replay_settings("davinci"), redactor=Redactor(b"k" * 16), jobs=1)
    with cassette_vcr.use_cassette("davinci/backup.yaml") as cassette:
        summary = exercise(source)
        assert cassette.all_played
    assert cassette.requests[0].path.endswith("/as/token")  # the worker-app token, then the reads
    assert len(summary["listed"]) >= 5
    # Every listed flow was exported as flow/layout/meta, and some exports carried embedded subflows.
    for flow_id, entries in summary["exported"].items():
        assert entries[0][0] == flow_id and entries[0][1] == ["flow.json", "layout.json", "meta.json"]
    assert any(len(entries) > 1 for entries in summary["exported"].values())
    assert summary["extras"] == ["applications.json", "variables.json"]


def test_davinci_replay_redacts_secret_variables_and_application_keys(cassette_vcr):
    from flowvault.sources.davinci import Source

    source = Source("prod", replay_settings("davinci"), redactor=Redactor(b"k" * 16), jobs=1)
    with cassette_vcr.use_cassette("davinci/backup.yaml"):
        source.list()
        extras = dict(source.extras())
    variables = json.loads(extras["variables.json"])["variables"]
    secrets = [v for v in variables.values() if v.get("dataType") == "secret"]
    assert secrets and all(str(v["value"].get("redacted", "")).startswith("hmac-sha256:") for v in secrets)
    apps = json.loads(extras["applications.json"])["applications"]
    assert apps and all("redacted" in app["apiKey"]["value"] for app in apps.values() if "value" in app["apiKey"])


def test_idm_source_replays_definitions_with_workflow_files(cassette_vcr):
    from flowvault.sandbox.idm import DATA_DIR
    from flowvault.sources.idm import Source

    source = Source("idm", replay_settings("idm", str(DATA_DIR)), jobs=1)
    with cassette_vcr.use_cassette("idm/backup.yaml") as cassette:
        summary = exercise(source)
        assert cassette.all_played
    assert "osgiProcess" in summary["listed"]
    files = summary["exported"]["osgiProcess"][0][1]
    assert files == [".bpmn20.xml", ".json"]


def test_the_shared_vcr_never_records(cassette_vcr):
    assert cassette_vcr.record_mode == "none"
    with pytest.raises(ValueError):
        vcr_setup.make_vcr("all")


def test_a_request_the_cassette_does_not_hold_fails_instead_of_reaching_out(cassette_vcr):
    from vcr.errors import CannotOverwriteExistingCassetteException

    from flowvault.errors import RemoteError
    from flowvault.sources.davinci import Source

    source = Source("prod", replay_settings("davinci"), jobs=1)
    with cassette_vcr.use_cassette("davinci/backup.yaml"):
        with pytest.raises((CannotOverwriteExistingCassetteException, RemoteError)):
            source.client.get_json("/environments/nope/connectorInstances")


# --- no secret in any cassette -----------------------------------------------------------------------------------

SECRET_PATTERNS = [
    re.compile(MARKER),
    re.compile(re.escape(RECORD_SECRET)),
    # Credential headers are dropped by filter_headers: their names must not appear as recorded headers at all.
    re.compile(r"(?im)^\s*(authorization|proxy-authorization|x-openidm-password|x-openidm-username|x-sk-api-key"
               r"|x-api-key|cookie|set-cookie):"),
    re.compile(r'"(access_token|refresh_token|id_token|client_secret|api_key)":\s*"(?!' + SCRUBBED + r'")'),
    re.compile(r"(client_secret|password|api_key|apikey|access_token)=(?!" + SCRUBBED + r"\b)"),
    re.compile(r"(?i)bearer\s+(?!" + SCRUBBED + r"\b)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"127\.0\.0\.1|localhost"),
]
ALL_FILES = sorted(p.relative_to(CASSETTES).as_posix() for p in CASSETTES.rglob("*") if p.is_file())


@pytest.mark.parametrize("cassette", ALL_FILES)
def test_cassettes_hold_no_secret(cassette):
    text = (CASSETTES / cassette).read_text("utf-8")
    for pattern in SECRET_PATTERNS:
        match = pattern.search(text)
        assert not match, f"{cassette}: {match.group(0)!r} matches {pattern.pattern}"


def test_launchers_toml_secrets_are_only_references():
    from vcr_setup import tomllib

    tables = tomllib.loads((CASSETTES / "launchers.toml").read_text("utf-8"))["launchers"]
    for name, table in tables.items():
        for key in ("api_key", "password", "bearer_token"):
            if key in table:
                assert table[key] == "${FLOWVAULT_CASSETTE_SECRET}", (name, key)


def test_the_secret_grep_catches_what_an_unscrubbed_recording_would_hold():
    leaks = ["Authorization:\n  - Bearer eyJhbGciOiJSUzI1NiJ9.abc",  # a fake JWT head: the grep must catch it
             "      X-SK-API-KEY:\n      - 0123456789",
             "uri: http://127.0.0.1:5000/start?api_key=k3y",
             '{"access_token": "eyJraWQiOi"}',
             f'"value": "{RECORD_SECRET}"']
    for leak in leaks:
        assert any(p.search(leak) for p in SECRET_PATTERNS), leak


def test_the_scrubbers_remove_every_kind_of_secret(monkeypatch):
    monkeypatch.setattr(vcr_setup, "_REWRITES", [("http://127.0.0.1:5000", vcr_setup.HOST)])
    monkeypatch.setattr(vcr_setup, "_SECRETS", ["plain-tenant-secret"])
    request = VcrRequest("POST", "http://127.0.0.1:5000/as/token?api_key=k3y&x=1",
                         b"grant_type=client_credentials&client_secret=plain-tenant-secret",
                         {"Authorization": "Basic abc", "X-SK-API-KEY": "k", "x-api-key": "k", "X-API-Key": "k",
                          "X-OpenIDM-Password": "p", "Accept": "application/json"})
    recorded = vcr_setup.VCR._build_before_record_request({})(request)
    assert recorded.uri == "http://recorded.invalid/as/token?x=1"
    assert recorded.headers == {"Accept": "application/json"}
    assert b"plain-tenant-secret" not in recorded.body and b"client_secret=SCRUBBED" in recorded.body
    body = {"access_token": "eyJ", "token_type": "Bearer", "note": "Bearer abcdefgh12", "apiKey": f"k-{MARKER}-1",
            "other": "plain-tenant-secret"}
    response = {"status": {"code": 200, "message": "OK"},
                "headers": {"Date": ["Mon"], "Set-Cookie": ["s=1"], "Location": ["http://127.0.0.1:5000/x"]},
                "body": {"string": json.dumps(body).encode()}}
    recorded = vcr_setup.VCR._build_before_record_response({})(response)
    assert recorded["headers"] == {"Set-Cookie": [SCRUBBED], "Location": ["http://recorded.invalid/x"]}
    body = json.loads(recorded["body"]["string"])
    assert body == {"access_token": SCRUBBED, "token_type": "Bearer", "note": f"Bearer {SCRUBBED}",
                    "apiKey": SCRUBBED, "other": SCRUBBED}


def test_every_client_has_its_cassettes():
    expected = set(SOURCE_CASSETTES.values()) | {s.cassette for s in SCENARIOS.values()} | {"launchers.toml"}
    assert expected <= set(ALL_FILES)
    assert {path.split("/")[0] for path in expected if "/" in path} == {
        "davinci", "idm", "davinci-runtime", "invision", "smartflows", "idm-launch"}
