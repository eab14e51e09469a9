"""The Smart Flows emulation over plain HTTP (seeds/003)."""

import time

import pytest
import requests

from flowvault.sandbox import smartflows
from flowvault.sandbox.server import Sandbox

SECRET = "sf-SBXSECRET-1"
BASE = "/smartflows/api/v1/flows/executions"
XML = {"X-API-Key": SECRET, "Content-Type": 'application/xml; charset="utf-8"'}


@pytest.fixture
def sb():
    with Sandbox(secret=SECRET) as sandbox:
        yield sandbox


def create(sb, flow, body=b"<data><n>1</n></data>", headers=XML):
    return requests.post(f"{sb.url}{BASE}", params={"flowId": flow}, data=body, headers=headers)


def follow(sb, execution):
    seen = []
    for _ in range(50):
        p = requests.get(f"{sb.url}{BASE}/{execution}/progress", params={"timeout": 5},
                         headers={"X-API-Key": SECRET}).json()
        seen.append(p)
        if p["status"] != "Running":
            return seen
    raise AssertionError(seen)


def test_success_with_rising_percentage_and_final_state(sb):
    reply = create(sb, smartflows.OK_ID).json()
    assert reply["percentage"] == 0 and reply["status"] == "Running"
    seen = follow(sb, reply["id"])
    percentages = [p["percentage"] for p in seen]
    assert percentages == sorted(percentages) and seen[-1] == {**seen[-1], "status": "Success", "percentage": 100}
    final = requests.get(f"{sb.url}{BASE}/{reply['id']}", headers={"X-API-Key": SECRET}).json()
    assert final["status"] == "Success" and final["flow"]["id"] == smartflows.OK_ID
    assert final["state"]["inputData"] == {"data": {"n": "1"}}
    assert final["state"]["output"]["parts"] and len(final["state"]["stages"]) == 4


def test_error_and_user_input_and_answer(sb):
    assert follow(sb, create(sb, smartflows.FAIL_ID).json()["id"])[-1]["status"] == "Error"
    execution = create(sb, smartflows.INPUT_ID).json()["id"]
    last = follow(sb, execution)[-1]
    assert last["status"] == "UserInput" and "schema" in last and "form" in last
    answered = requests.post(f"{sb.url}{BASE}/{execution}/progress", json={"approved": True},
                             headers={"X-API-Key": SECRET})
    assert answered.status_code == 200
    time.sleep(0.2)
    assert follow(sb, execution)[-1]["status"] == "Success"


def test_long_poll_holds_until_timeout_when_nothing_changes(sb):
    execution = create(sb, smartflows.SLOW_ID).json()["id"]
    time.sleep(0.15)  # into the hours-long "Archive" stage
    p = requests.get(f"{sb.url}{BASE}/{execution}/progress", params={"timeout": 0}, headers={"X-API-Key": SECRET})
    assert p.json()["message"] == "Archive"
    t0 = time.monotonic()
    requests.get(f"{sb.url}{BASE}/{execution}/progress", params={"timeout": 1}, headers={"X-API-Key": SECRET})
    assert 0.9 <= time.monotonic() - t0 < 3
    cancel = requests.delete(f"{sb.url}{BASE}/{execution}/progress", headers={"X-API-Key": SECRET})
    assert cancel.json()["status"] == "Canceled"


def test_errors(sb):
    assert create(sb, smartflows.OK_ID, headers={**XML, "X-API-Key": "bad"}).status_code == 401
    assert create(sb, "no-such-flow").status_code == 404
    assert create(sb, smartflows.OK_ID, body=b"<data>").status_code == 400
    assert create(sb, smartflows.OK_ID, headers={**XML, "Content-Type": "application/json"}).status_code == 415
    assert requests.get(f"{sb.url}{BASE}/nope", headers={"X-API-Key": SECRET}).status_code == 404
