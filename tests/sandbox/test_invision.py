"""The InVision Data Flows emulation over plain HTTP (seeds/001)."""

import pytest
import requests

from flowvault.sandbox import invision
from flowvault.sandbox.server import Sandbox

SECRET = "inv-SBXSECRET-1"
BASE = "/invision/api/pub/v1/dataflows"


@pytest.fixture
def sb():
    with Sandbox(secret=SECRET) as sandbox:
        yield sandbox


def start(sb, flow, key=SECRET, **params):
    return requests.post(f"{sb.url}{BASE}/{flow}/start", headers={"x-api-key": key}, params=params)


def test_run_moves_pending_running_succeeded_on_the_sandbox_clock(sb):
    reply = start(sb, invision.SLOW_ID)
    assert reply.status_code == 200 and reply.json()["status"] == "Pending"
    run = reply.json()["runId"]
    url = f"{sb.url}{BASE}/{invision.SLOW_ID}/runs/{run}/status"
    requests.post(f"{sb.url}/_sandbox/clock", json={"advance": 2})
    assert requests.get(url, params={"api_key": SECRET}).json() == {"runId": run, "status": "Running"}
    requests.post(f"{sb.url}/_sandbox/clock", json={"advance": 5 * 3600})
    assert requests.get(url, headers={"x-api-key": SECRET}).json()["status"] == "Succeeded"


def test_await_waits_for_the_end_and_the_failing_flow_fails(sb):
    assert start(sb, invision.OK_ID, **{"await": "true"}).json()["status"] == "Succeeded"
    assert start(sb, invision.FAIL_ID, **{"await": "true"}).json()["status"] == "Failed"


def test_errors(sb):
    bad = start(sb, invision.OK_ID, key="nope")
    assert bad.status_code == 401 and bad.content == b""
    missing = start(sb, "no-such-flow")
    assert missing.status_code == 500 and missing.content == b""
    unknown_run = requests.get(f"{sb.url}{BASE}/{invision.OK_ID}/runs/x/status", params={"api_key": SECRET})
    assert unknown_run.status_code == 500


def test_run_ids_are_deterministic():
    ids = []
    for _ in range(2):
        with Sandbox(secret=SECRET) as sandbox:
            ids.append(start(sandbox, invision.OK_ID).json()["runId"])
    assert ids[0] == ids[1]
