"""The DaVinci launcher against a minimal local runtime (the sandbox's DaVinci runtime is another module)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flowvault.launch.base import RunOptions
from flowvault.launch.davinci import Launcher, Settings, runtime_base

KEY = "dv-SBXSECRET-key"
ANSWERS = {
    "ok": (200, {"interactionId": "i-1", "success": True, "userId": "u1"}),
    "err": (400, {"capabilityName": "createErrorResponse", "message": "User not found", "interactionId": "i-2"}),
    "ui": (400, {"code": 1999, "message": "Unable to render a UI node in an API flow"}),
}


@pytest.fixture
def runtime():
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, self.headers.get("X-SK-API-KEY"), body))
            status, answer = (401, {"message": "bad key"}) if self.headers.get("X-SK-API-KEY") != KEY else \
                ANSWERS[self.path.split("/")[5]]
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    server.shutdown()


@pytest.mark.parametrize("policy,outcome,status", [("ok", "passed", "success"), ("err", "failed", "error"),
                                                   ("ui", "error", "HTTP 400")])
def test_outcomes(runtime, policy, outcome, status):
    url, seen = runtime
    settings = Settings(company_id="c1", policy_id=policy, api_key=KEY, runtime_url=url)
    result = Launcher("dv", settings).run(RunOptions(input={"userId": "u1"}, timeout=10))
    assert (result.outcome, result.status) == (outcome, status)
    assert seen == [(f"/v1/company/c1/policy/{policy}/start", KEY, {"userId": "u1"})]
    if policy == "err":
        assert result.message == "User not found" and result.run_id == "i-2"
    if policy == "ui":
        assert "deployed" in result.message and "UI node" in result.message


def test_bad_key_is_an_error_without_the_key(runtime):
    url, _ = runtime
    result = Launcher("dv", Settings(company_id="c", policy_id="ok", api_key="wrong-SBXSECRET", runtime_url=url)).run(
        RunOptions(timeout=10))
    assert result.outcome == "error" and "401" in result.message and "wrong-SBXSECRET" not in result.message


def test_region_gives_the_orchestrate_url():
    assert runtime_base(Settings(company_id="c", policy_id="p", api_key=KEY, region="eu")) == \
        "https://orchestrate-api.pingone.eu/v1"
