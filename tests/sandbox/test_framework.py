"""The sandbox framework: routing, errors, hooks, statistics, latency and faults (no emulated system needed)."""

from __future__ import annotations

import threading
import time
import types

import pytest
import requests

from flowvault.sandbox.app import Request, json_response
from flowvault.sandbox.server import Sandbox, fault_for


def _echo_module():
    """A one-route module standing in for an emulated system."""

    def register(router, ctx):
        @router.route("GET", "/v1/things/{thingId}")
        def get_thing(request: Request):
            return json_response(200, {"id": request.params["thingId"], "q": request.query})

        @router.route("POST", "/v1/things")
        def post_thing(request: Request):
            return json_response(201, {"got": request.json(), "ct": request.headers.get("content-type")})

        @router.route("GET", "/v1/things/special")
        def special(request: Request):
            return json_response(200, {"special": True})

    def config_sources(base_url):
        return {"things": {"type": "idm", "url": base_url + "/things"}}

    return types.SimpleNamespace(register=register, config_sources=config_sources)


@pytest.fixture
def sandbox():
    with Sandbox(modules=[_echo_module()]) as sb:
        yield sb


def test_routes_params_query_and_headers(sandbox):
    r = requests.get(f"{sandbox.url}/v1/things/abc?x=1&x=2", timeout=5)
    assert r.status_code == 200
    assert r.json() == {"id": "abc", "q": {"x": ["1", "2"]}}
    r = requests.post(f"{sandbox.url}/v1/things", json={"a": 1}, timeout=5)
    assert r.status_code == 201 and r.json() == {"got": {"a": 1}, "ct": "application/json"}


def test_literal_segment_beats_parameter(sandbox):
    assert requests.get(f"{sandbox.url}/v1/things/special", timeout=5).json() == {"special": True}


def test_unknown_route_is_404_and_wrong_method_405(sandbox):
    r = requests.get(f"{sandbox.url}/v1/nothing", timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    assert set(r.json()) >= {"id", "code", "message"}
    r = requests.delete(f"{sandbox.url}/v1/things/abc", timeout=5)
    assert r.status_code == 405 and r.headers["Allow"] == "GET"


def test_bad_json_is_400(sandbox):
    r = requests.post(f"{sandbox.url}/v1/things", data=b"{nope", headers={"Content-Type": "application/json"},
                      timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"


def test_stats_count_by_route_and_not_hooks(sandbox):
    for thing in ("a", "b"):
        requests.get(f"{sandbox.url}/v1/things/{thing}", timeout=5)
    requests.get(f"{sandbox.url}/v1/nothing", timeout=5)
    requests.post(f"{sandbox.url}/_sandbox/faults", json={"fail": []}, timeout=5)
    stats = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=5).json()
    assert stats["requests"] == 3
    assert stats["by_route"]["GET /v1/things/{thingId}"] == 2
    assert not any(k.split(" ", 1)[1].startswith("/_sandbox/") for k in stats["by_route"])


def test_faults_hook_validates_body(sandbox):
    r = requests.post(f"{sandbox.url}/_sandbox/faults", json={"fail": "x"}, timeout=5)
    assert r.status_code == 400
    r = requests.post(f"{sandbox.url}/_sandbox/faults", json={"fail": ["x", "y"]}, timeout=5)
    assert r.json() == {"fail": ["x", "y"], "fail_writes": {}} and sandbox.ctx.fail_ids == {"x", "y"}


def test_latency_is_per_request_in_parallel():
    with Sandbox(modules=[_echo_module()], latency_ms=200) as sb:
        results = []

        def call(i):
            results.append(requests.get(f"{sb.url}/v1/things/{i}", timeout=5).status_code)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
    assert results == [200] * 4
    assert 0.2 <= elapsed < 0.6


def test_fault_draw_depends_only_on_seed_and_rank():
    draws = [fault_for(7, 0.5, n) for n in range(200)]
    assert draws == [fault_for(7, 0.5, n) for n in range(200)]
    assert draws != [fault_for(8, 0.5, n) for n in range(200)]
    assert {d for d in draws if d} == {"429", "500", "502", "503", "drop", "truncate"}
    assert 60 < sum(1 for d in draws if d) < 140
    assert all(fault_for(7, 0.0, n) is None for n in range(100))


def _outcome(url):
    try:
        r = requests.get(url, timeout=5)
        r.json()
        return str(r.status_code)
    except requests.exceptions.ChunkedEncodingError:
        return "truncate"
    except requests.exceptions.ConnectionError:
        return "drop"


def test_every_fault_kind_is_served_and_reproducible():
    def run():
        with Sandbox(modules=[_echo_module()], fault_rate=1.0, seed=3) as sb:
            outcomes = []
            for i in range(40):
                outcomes.append(_outcome(f"{sb.url}/v1/things/{i}"))
            r = requests.get(f"{sb.url}/_sandbox/stats", timeout=5)  # hooks are never faulted
            assert r.status_code == 200 and r.json()["requests"] == 40
            return outcomes

    first = run()
    assert set(first) == {"429", "500", "502", "503", "drop", "truncate"}
    assert run() == first


def test_429_fault_carries_retry_after_and_request_limited():
    with Sandbox(modules=[_echo_module()], fault_rate=1.0, seed=3) as sb:
        for i in range(40):
            if fault_for(3, 1.0, i) == "429":
                break
            _outcome(f"{sb.url}/v1/things/{i}")
        r = requests.get(f"{sb.url}/v1/things/x", timeout=5)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    assert r.json()["code"] == "REQUEST_LIMITED"


def test_write_config_collects_module_tables(tmp_path, sandbox):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = sandbox.write_config(tmp_path / "flowvault.toml")
    doc = tomllib.loads(path.read_text())
    assert doc["vault"] == {"path": "."}
    assert doc["sources"]["things"] == {"type": "idm", "url": sandbox.url + "/things"}
