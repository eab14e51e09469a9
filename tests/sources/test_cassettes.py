"""The source clients replayed from recorded HTTP (cassettes/davinci, cassettes/idm); cassettes hold no secret."""

import json
import re
from pathlib import Path

import pytest

from vcr_setup import CASSETTES, MARKER, SCRUBBED, exercise, make_vcr, replay_settings

from flowvault.normalize.redact import Redactor


def test_davinci_source_replays_list_export_and_extras():
    from flowvault.sources.davinci import Source

    source = Source("prod", replay_settings("davinci"), redactor=Redactor(b"k" * 16), jobs=1)
    with make_vcr().use_cassette("davinci/backup.yaml") as cassette:
        summary = exercise(source)
        assert cassette.all_played
    assert len(summary["listed"]) >= 5
    # Every listed flow was exported as flow/layout/meta, and some exports carried embedded subflows.
    for flow_id, entries in summary["exported"].items():
        assert entries[0][0] == flow_id and entries[0][1] == ["flow.json", "layout.json", "meta.json"]
    assert any(len(entries) > 1 for entries in summary["exported"].values())
    assert summary["extras"] == ["applications.json", "variables.json"]


def test_davinci_replay_redacts_secret_variables_and_application_keys():
    from flowvault.sources.davinci import Source

    source = Source("prod", replay_settings("davinci"), redactor=Redactor(b"k" * 16), jobs=1)
    with make_vcr().use_cassette("davinci/backup.yaml"):
        source.list()
        extras = dict(source.extras())
    variables = json.loads(extras["variables.json"])["variables"]
    secrets = [v for v in variables.values() if v.get("dataType") == "secret"]
    assert secrets and all(str(v["value"].get("redacted", "")).startswith("hmac-sha256:") for v in secrets)
    apps = json.loads(extras["applications.json"])["applications"]
    assert apps and all("redacted" in app["apiKey"]["value"] for app in apps.values() if "value" in app["apiKey"])


def test_idm_source_replays_definitions_with_workflow_files():
    from flowvault.sandbox.idm import DATA_DIR
    from flowvault.sources.idm import Source

    source = Source("idm", replay_settings("idm", str(DATA_DIR)), jobs=1)
    with make_vcr().use_cassette("idm/backup.yaml") as cassette:
        summary = exercise(source)
        assert cassette.all_played
    assert "osgiProcess" in summary["listed"]
    files = summary["exported"]["osgiProcess"][0][1]
    assert files == [".bpmn20.xml", ".json"]


def test_a_request_the_cassette_does_not_hold_fails_instead_of_reaching_out():
    from vcr.errors import CannotOverwriteExistingCassetteException

    from flowvault.errors import RemoteError
    from flowvault.sources.davinci import Source

    source = Source("prod", replay_settings("davinci"), jobs=1)
    with make_vcr().use_cassette("davinci/backup.yaml"):
        with pytest.raises((CannotOverwriteExistingCassetteException, RemoteError)):
            source.client.get_json("/environments/nope/connectorInstances")


SECRET_PATTERNS = [
    re.compile(MARKER),
    re.compile(r"(?i)authorization:"),
    re.compile(r"(?i)x-openidm-(password|username):"),
    re.compile(r"(?i)x-sk-api-key:"),
    re.compile(r'"(access_token|client_secret)":\s*"(?!' + SCRUBBED + r')'),
    re.compile(r"client_secret=(?!" + SCRUBBED + r")"),
    re.compile(r"(?i)bearer [A-Za-z0-9._~+/-]{8,}"),
    re.compile(r"127\.0\.0\.1|localhost"),
]


@pytest.mark.parametrize("cassette", sorted(p.relative_to(CASSETTES).as_posix() for p in CASSETTES.rglob("*.yaml")))
def test_cassettes_hold_no_secret(cassette):
    text = (CASSETTES / cassette).read_text("utf-8")
    for pattern in SECRET_PATTERNS:
        assert not pattern.search(text), f"{cassette}: matches {pattern.pattern}"


def test_both_systems_have_cassettes():
    assert (CASSETTES / "davinci" / "backup.yaml").is_file()
    assert (CASSETTES / "idm" / "backup.yaml").is_file()
