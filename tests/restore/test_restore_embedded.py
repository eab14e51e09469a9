"""Secrets inside strings on restore (issue 18): «redacted» markers are filled from restore_secrets, else the target's
own secrets are kept in place, else the restore refuses naming the key to set; marker text is never sent."""

import json

import pytest

from flowvault.restore.secrets import scrub_secrets
from flowvault.sandbox.tomlw import dumps as toml_dumps
from tests.restore.restore_helpers import API_SUCCESS, by_name, hook, writes

ONE = "https://svc:«redacted:hmac-sha256:0123456789ab»@api.example.com/v1"
TWO = "https://svc:«redacted:hmac-sha256:0123456789ab»@api.example.com/token?client_secret=«redacted»"
URL = "https://svc:SBXSECRET-pw-1@api.example.com/token?client_secret=SBXSECRET-cs-2"
NODE = "/graphData/elements/nodes/0/data/properties/url"


def _flow(url):
    return {"graphData": {"elements": {"nodes": [{"data": {"id": "n1", "properties": {"url": {"value": url}}}}]}}}


def _url(raw):
    return raw["graphData"]["elements"]["nodes"][0]["data"]["properties"]["url"].get("value")


@pytest.mark.parametrize("supplied", [
    {"n1/url": "SBXSECRET-p"},  # the secret alone: one marker
    {"url": "https://svc:SBXSECRET-p@api.example.com/v1"},  # the whole string
    {"url#1": "SBXSECRET-p"},  # one key per marker
])
def test_a_single_marker_is_filled_from_restore_secrets(supplied):
    raw = _flow(ONE)
    [entry] = scrub_secrets(raw, None, supplied)
    assert _url(raw) == "https://svc:SBXSECRET-p@api.example.com/v1"
    assert entry["outcome"].startswith("from restore_secrets[") and "missing" not in entry


def test_several_markers_take_one_key_each_in_order_or_the_whole_string():
    raw = _flow(TWO)
    scrub_secrets(raw, None, {"n1/url#1": "SBXSECRET-a", "n1/url#2": "SBXSECRET-b"})
    assert _url(raw) == "https://svc:SBXSECRET-a@api.example.com/token?client_secret=SBXSECRET-b"
    raw = _flow(TWO)
    scrub_secrets(raw, None, {"url": "https://svc:SBXSECRET-c@api.example.com/token?client_secret=SBXSECRET-d"})
    assert _url(raw) == "https://svc:SBXSECRET-c@api.example.com/token?client_secret=SBXSECRET-d"
    # One value for two markers is neither: nothing guessed, the string is missing.
    raw = _flow(TWO)
    [entry] = scrub_secrets(raw, None, {"n1/url": "SBXSECRET-e"})
    assert entry["missing"] == "n1/url" and entry["markers"] == 2 and _url(raw) is None


def test_the_targets_string_is_kept_when_it_equals_ours_apart_from_the_markers():
    raw = _flow(TWO)
    current = _flow("https://svc:SBXSECRET-t1@api.example.com/token?client_secret=SBXSECRET-t2")
    [entry] = scrub_secrets(raw, current)
    assert _url(raw) == _url(current) and entry["outcome"].startswith("kept from the target")
    raw = _flow(TWO)
    [entry] = scrub_secrets(raw, _flow("https://svc:SBXSECRET-t1@elsewhere.example.com/token?client_secret=x"))
    assert entry["missing"] == "n1/url" and _url(raw) is None
    # A target that (wrongly) holds marker text itself gives nothing to keep.
    raw = _flow(ONE)
    [entry] = scrub_secrets(raw, _flow(ONE))
    assert entry["missing"] == "n1/url" and _url(raw) is None


def test_a_marker_outside_nodes_and_variables_is_named_by_its_path():
    raw = {"settings": {"webhook": ONE}}
    [entry] = scrub_secrets(raw, None, {"settings/webhook": "SBXSECRET-w"})
    assert raw["settings"]["webhook"] == "https://svc:SBXSECRET-w@api.example.com/v1"
    assert entry["outcome"] == "from restore_secrets['settings/webhook']"


# --- against the sandbox: every request it received is scanned


@pytest.fixture
def received(monkeypatch):
    """Every request the sandboxes of this test received, as (method, path, body text)."""
    from flowvault.sandbox.app import Router

    seen: list[tuple[str, str, str]] = []
    dispatch = Router.dispatch

    def record(self, request):
        seen.append((request.method, request.path, request.body.decode("utf-8", "replace")))
        return dispatch(self, request)

    monkeypatch.setattr(Router, "dispatch", record)
    return seen


def assert_nothing_redacted_sent(received):
    """No request carried a marker or a {"redacted": ...} value (the edit hook only plants secrets)."""
    assert received, "the sandbox saw no request"
    for method, path, body in received:
        try:  # JSON bodies escape "«" as \u00ab: read them back
            text = json.dumps(json.loads(body), ensure_ascii=False)
        except ValueError:
            text = body
        assert "«redacted" not in text and '"redacted":' not in text, (method, path)


def _planted(world):
    hook(world.sb, f"/_sandbox/flows/{API_SUCCESS}/edit", {NODE: {"value": URL}})
    world.backup("--source", "davinci")
    flow = (world.vault / "snapshots/davinci/flows").glob("*/flow.json")
    text = "".join(p.read_text() for p in flow)
    assert "SBXSECRET" not in text and text.count("«redacted:hmac-sha256:") == 2


def _restore_secrets(world, other, secrets):
    config = world.sb.config()
    config["sources"]["other"] = {**other.config()["sources"]["davinci"], "restore_secrets": secrets}
    (world.vault / "flowvault.toml").write_text(toml_dumps(config), encoding="utf-8")


def test_a_new_flow_without_the_secrets_is_refused_naming_the_key(world, other, received):
    _planted(world)
    dry = world.run("restore", API_SUCCESS, "--to", "other", "--create-connections", "--dry-run")
    assert dry.exit_code == 2, dry.output
    assert "MISSING: set restore_secrets['sbxstart01/url']" in dry.stdout
    before = hook(other, "/_sandbox/stats")
    result = world.run("restore", API_SUCCESS, "--to", "other", "--create-connections")
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()[-1:]
    assert "graphData/elements/nodes/0/data/properties/url/value holds 2 redacted secret(s)" in line
    assert "restore_secrets['sbxstart01/url'] (the whole value) or sbxstart01/url#1 ... sbxstart01/url#2" in line
    assert "[sources.other]" in line and "nothing was written" in line
    assert writes(before, hook(other, "/_sandbox/stats")) == {}
    assert not by_name(other, "Sandbox API Success")
    assert_nothing_redacted_sent(received)


def test_restore_secrets_fill_each_marker_of_a_new_flow(world, other, received, monkeypatch):
    _planted(world)
    _restore_secrets(world, other, {"sbxstart01/url#1": "OTHER_PW", "url#2": "OTHER_CS"})
    monkeypatch.setenv("OTHER_PW", "SBXSECRET-other-pw")
    monkeypatch.setenv("OTHER_CS", "SBXSECRET-other-cs")
    result = world.run("restore", API_SUCCESS, "--to", "other", "--create-connections")
    assert result.exit_code == 0, result.output
    assert "url/value: from restore_secrets['sbxstart01/url#1', 'url#2']" in result.output
    assert "SBXSECRET" not in result.output
    [flow] = by_name(other, "Sandbox API Success")
    text = json.dumps(flow, ensure_ascii=False)
    assert "https://svc:SBXSECRET-other-pw@api.example.com/token?client_secret=SBXSECRET-other-cs" in text
    assert "«redacted" not in text
    assert_nothing_redacted_sent(received)


def test_the_whole_string_may_come_from_one_variable(world, other, received, monkeypatch):
    _planted(world)
    _restore_secrets(world, other, {"url": "OTHER_URL"})
    monkeypatch.setenv("OTHER_URL", "https://svc:SBXSECRET-w1@api.example.com/token?client_secret=SBXSECRET-w2")
    result = world.run("restore", API_SUCCESS, "--to", "other", "--create-connections")
    assert result.exit_code == 0, result.output
    [flow] = by_name(other, "Sandbox API Success")
    assert "https://svc:SBXSECRET-w1@api.example.com/token?client_secret=SBXSECRET-w2" in json.dumps(flow)
    assert_nothing_redacted_sent(received)


def test_a_replace_keeps_the_targets_own_secrets_in_place(world, received):
    _planted(world)
    hook(world.sb, f"/_sandbox/flows/{API_SUCCESS}/edit",
         {"/graphData/elements/nodes/0/data/properties/nodeTitle": {"value": "Edited in the designer"}})
    result = world.run("restore", API_SUCCESS, "--to", "davinci")
    assert result.exit_code == 0, result.output
    assert "properties/url/value: kept from the target (its secrets in place)" in result.output
    store = world.sb.ctx.state["davinci"]
    text = json.dumps(store.current(store.flow(API_SUCCESS)), ensure_ascii=False)
    assert URL in text and "Edited in the designer" not in text
    assert_nothing_redacted_sent(received)


def test_a_target_string_that_differs_apart_from_the_secrets_is_refused(world, received):
    _planted(world)
    changed = URL.replace("api.example.com", "api2.example.com")
    hook(world.sb, f"/_sandbox/flows/{API_SUCCESS}/edit", {NODE: {"value": changed}})
    before = hook(world.sb, "/_sandbox/stats")
    result = world.run("restore", API_SUCCESS, "--to", "davinci")
    assert result.exit_code == 2, result.output
    assert "restore_secrets['sbxstart01/url']" in result.stderr and "cannot keep" in result.stderr
    assert writes(before, hook(world.sb, "/_sandbox/stats")) == {}
    assert_nothing_redacted_sent(received)


def test_the_last_guard_sends_no_marker_even_when_scrubbing_fails(world, other, received, monkeypatch):
    """With the scrubbing sabotaged, Target itself refuses the body and the restore undoes what it wrote."""
    from flowvault.restore import apply

    _planted(world)
    monkeypatch.setattr(apply, "scrub_secrets", lambda raw, current, supplied=None: [])
    result = world.run("restore", API_SUCCESS, "--to", "other", "--create-connections")
    assert result.exit_code == 3, result.output
    assert "would have sent a redacted value; it was not sent" in result.stderr
    assert not by_name(other, "Sandbox API Success")
    assert_nothing_redacted_sent(received)


def test_an_environment_variable_with_markers_is_filled_kept_or_refused():
    from types import SimpleNamespace

    from flowvault.restore.plan import Plan
    from flowvault.restore.run import missing_secrets
    from flowvault.restore.variables import plan_variables, request_body

    var = {"context": "company", "fields": {"type": "string", "value": ONE}}
    entry = SimpleNamespace(slug="f", name="F", doc=SimpleNamespace(flow={"variables": {"company/hookUrl": var}}))
    listed = [{"id": "v1", "context": "company", "name": "hookUrl",
               "value": "https://svc:SBXSECRET-t@api.example.com/v1"}]

    [kept] = plan_variables([entry], {"f": "x"}, listed)
    assert request_body(kept)["value"] == listed[0]["value"] and kept.missing is None
    [filled] = plan_variables([entry], {"f": "x"}, [], {"company/hookUrl": "SBXSECRET-s"})
    assert request_body(filled)["value"] == "https://svc:SBXSECRET-s@api.example.com/v1"
    [refused] = plan_variables([entry], {"f": "x"}, [{**listed[0], "value": "https://other.example.com"}])
    assert "value" not in request_body(refused) and refused.to_dict()["missing"] == "company/hookUrl"
    plan = Plan(steps=[], ids={}, refs={}, dangling=[], variables=[refused])
    line = missing_secrets(plan, "prod")
    assert line is not None and "variables/company/hookUrl/fields/value" in line
    assert "restore_secrets['company/hookUrl']" in line and "[sources.prod]" in line
