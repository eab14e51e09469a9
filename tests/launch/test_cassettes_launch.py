"""The four launchers replayed from recorded HTTP (cassettes/davinci-runtime, invision, smartflows, idm-launch).

Each scenario runs its table of cassettes/launchers.toml through flowvault.launch.runner (config -> launcher ->
http client -> requests) against its cassette with record mode "none": a request the cassette does not hold, or
one more start or poll than it recorded, fails the test. Polls do not sleep (instant_polls), so the replay takes
the recorded poll sequence as fast as it can read it.
"""

import json
import shutil

import pytest
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr_setup import CASSETTES, LAUNCHERS_TOML, REPLAY_SECRET_ENV, SCENARIOS

from flowvault.config import load_config
from flowvault.launch.base import FAILED, PASSED
from flowvault.launch.runner import resolve_input, run_launcher

# scenario: (outcome, last status, the key of the start answer that names the run, polls after the start)
EXPECTED = {
    "davinci-ok": (PASSED, "success", "interactionId", 0),
    "davinci-fail": (FAILED, "error", "interactionId", 0),
    "invision-ok": (PASSED, "Succeeded", "runId", 1),
    "invision-fail": (FAILED, "Failed", "runId", 1),
    "smartflows-ok": (PASSED, "Success", "id", 2),  # progress polls, then the final execution
    "smartflows-fail": (FAILED, "Error", "id", 2),
    "idm-ended": (PASSED, "ended", "_id", 0),
    "idm-500": (FAILED, "HTTP 500", None, 0),
    "idm-suspended": (PASSED, "ended", "_id", 1),
}


@pytest.fixture
def replay_config(monkeypatch):
    monkeypatch.setenv(REPLAY_SECRET_ENV, "replay-only-value")
    return load_config(LAUNCHERS_TOML)


def recorded(scenario):
    """The cassette's interactions as (method, path, status, parsed body)."""
    doc = yaml.safe_load((CASSETTES / SCENARIOS[scenario].cassette).read_text("utf-8"))
    out = []
    for item in doc["interactions"]:
        text = item["response"]["body"]["string"]
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text
        out.append((item["request"]["method"], item["request"]["uri"], item["response"]["status"]["code"], body))
    return out


def replay(cassette_vcr, config, scenario, cassette_path=None):
    cfg = config.launchers[scenario]
    with cassette_vcr.use_cassette(str(cassette_path or SCENARIOS[scenario].cassette)) as cassette:
        result = run_launcher(cfg, config, input=resolve_input(cfg, config))
    return result, cassette


def test_every_scenario_is_tested_and_configured(replay_config):
    assert set(EXPECTED) == set(SCENARIOS) == set(replay_config.launchers)


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_launcher_replays_to_the_recorded_outcome(cassette_vcr, replay_config, instant_polls, scenario):
    outcome, status, id_key, min_polls = EXPECTED[scenario]
    result, cassette = replay(cassette_vcr, replay_config, scenario)
    assert cassette.all_played  # every recorded poll was asked for, in order
    assert (result.outcome, result.status) == (outcome, status), result.message
    interactions = recorded(scenario)
    assert [m for m, *_ in interactions].count("POST") == 1  # the start, exactly once
    assert len(interactions) - 1 >= min_polls
    start_body = interactions[0][3]
    assert result.run_id == (str(start_body[id_key]) if id_key else None)
    assert "replay-only-value" not in json.dumps(result.to_dict())


def test_davinci_failure_carries_the_flows_error_response(cassette_vcr, replay_config):
    result, _ = replay(cassette_vcr, replay_config, "davinci-fail")
    assert result.http_status == 400 and result.output["capabilityName"] == "createErrorResponse"
    ok, _ = replay(cassette_vcr, replay_config, "davinci-ok")
    assert ok.http_status == 200 and ok.output["success"] is True


def test_invision_follows_the_recorded_status_sequence(cassette_vcr, replay_config, instant_polls):
    statuses = [body["status"] for *_, body in recorded("invision-ok")]
    assert statuses[0] in ("Pending", "Running") and statuses[-1] == "Succeeded"
    result, cassette = replay(cassette_vcr, replay_config, "invision-ok")
    assert cassette.play_count == len(statuses) and result.ok
    assert len(instant_polls) == len(statuses) - 1  # one (skipped) backoff sleep before each poll


def test_smartflows_failure_names_the_failing_step(cassette_vcr, replay_config, instant_polls):
    result, _ = replay(cassette_vcr, replay_config, "smartflows-fail")
    final = recorded("smartflows-fail")[-1]
    assert final[0] == "GET" and "/progress" not in final[1]  # the final execution read
    assert result.output == final[3]
    assert "ended Error" in result.message and "Template" in result.message


def test_idm_create_500_is_a_failed_flow_with_the_script_error(cassette_vcr, replay_config):
    result, _ = replay(cassette_vcr, replay_config, "idm-500")
    assert result.http_status == 500 and "ScriptException" in result.message


def test_idm_suspended_create_is_followed_through_history(cassette_vcr, replay_config, instant_polls):
    interactions = recorded("idm-suspended")
    assert interactions[0][3]["status"] == "suspended"
    assert all("/history/" in uri for _, uri, *_ in interactions[1:])
    result, _ = replay(cassette_vcr, replay_config, "idm-suspended")
    assert result.ok and result.output["endActivityId"] and "ended at" in result.message


def test_a_poll_the_cassette_does_not_hold_fails_the_replay(cassette_vcr, replay_config, instant_polls, tmp_path):
    # The same recording without its last status answer: the launcher's next poll has nothing to play.
    doc = yaml.safe_load((CASSETTES / SCENARIOS["invision-ok"].cassette).read_text("utf-8"))
    doc["interactions"] = doc["interactions"][:-1]
    short = tmp_path / "short.yaml"
    short.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(CannotOverwriteExistingCassetteException):
        replay(cassette_vcr, replay_config, "invision-ok", cassette_path=short)


def test_a_start_with_other_ids_is_not_in_the_cassette(cassette_vcr, replay_config, tmp_path):
    cassette = tmp_path / "c.yaml"
    shutil.copy(CASSETTES / SCENARIOS["davinci-ok"].cassette, cassette)
    text = LAUNCHERS_TOML.read_text("utf-8").replace("e31c3b327523685b8e71ab9d76c8a0c1", "0" * 32)
    (tmp_path / "flowvault.toml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "flowvault.toml")
    with pytest.raises(CannotOverwriteExistingCassetteException):
        replay(cassette_vcr, config, "davinci-ok", cassette_path=cassette)
