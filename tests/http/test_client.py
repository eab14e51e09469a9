"""flowvault.http.client against a scripted ThreadingHTTPServer on 127.0.0.1 (port 0)."""

import email.utils
import json
import logging
import socket
import threading
import time

import pytest
from helpers import DROP, OK, TRUNCATE, ScriptedServer

from flowvault import masking
from flowvault.errors import AuthError, RemoteError
from flowvault.http.client import Client
from flowvault.http.errors import service_message
from flowvault.http.retry import retry_after_seconds


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.stop()


@pytest.fixture
def make_client(server):
    clients = []

    def make(**kw):
        options = dict(source="prod", backoff_factor=0.01, retry_after_cap=5.0, max_retries=3, timeout=5)
        options.update(kw)
        client = Client(server.url + "/v1", **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()




# --- retries -----------------------------------------------------------------------------------------------------


def test_retries_503_then_succeeds(server, make_client):
    server.script("/v1/flows", (503, {}, "busy"), (503, {}, "busy"), OK)
    assert make_client().get_json("/flows") == {"ok": True}
    assert server.calls["/v1/flows"] == 3


def test_each_retried_status(server, make_client):
    client = make_client()
    for status in (408, 429, 500, 502, 504):
        server.script(f"/v1/s{status}", (status, {}, "x"), OK)
        assert client.get_json(f"/s{status}") == {"ok": True}
        assert server.calls[f"/v1/s{status}"] == 2, status


def test_gives_up_after_max_retries_with_the_last_status(server, make_client):
    server.script("/v1/flows", (502, {}, {"code": "BAD_GATEWAY", "message": "upstream down"}))
    with pytest.raises(RemoteError) as info:
        make_client(max_retries=2).get_json("/flows")
    assert str(info.value) == "prod: GET /v1/flows -> 502: BAD_GATEWAY: upstream down"
    assert info.value.status == 502 and info.value.retryable
    assert server.calls["/v1/flows"] == 3


def test_no_retry_on_400(server, make_client):
    server.script("/v1/flows", (400, {}, {"code": "INVALID_DATA", "message": "bad"}))
    with pytest.raises(RemoteError):
        make_client().get_json("/flows")
    assert server.calls["/v1/flows"] == 1


def test_retry_after_seconds_is_honoured(server, make_client):
    server.script("/v1/flows", (429, {"Retry-After": "1"}, {"code": "REQUEST_LIMITED", "message": "slow down"}), OK)
    make_client(backoff_factor=0).get_json("/flows")
    first, second = server.times("/v1/flows")
    assert 0.9 <= second - first < 3


def test_retry_after_http_date_is_honoured(server, make_client):
    when = email.utils.formatdate(time.time() + 2, usegmt=True)  # whole seconds: waits 1-2 s
    server.script("/v1/flows", (503, {"Retry-After": when}, "maintenance"), OK)
    make_client(backoff_factor=0).get_json("/flows")
    first, second = server.times("/v1/flows")
    assert 0.9 <= second - first < 3.5


def test_retry_after_is_capped(server, make_client):
    server.script("/v1/flows", (429, {"Retry-After": "3"}, "x"), OK)
    make_client(retry_after_cap=0.4, backoff_factor=0).get_json("/flows")
    first, second = server.times("/v1/flows")
    assert 0.35 <= second - first < 2.5


def test_retry_after_parsing():
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    now = time.time()
    assert 29 <= retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now=now) <= 30
    assert retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0


def test_429_pauses_the_other_threads_of_the_client(server, make_client):
    server.script("/v1/limited", (429, {"Retry-After": "1"}, {"code": "REQUEST_LIMITED"}), OK)
    server.script("/v1/other", OK)
    client = make_client(backoff_factor=0)
    worker = threading.Thread(target=client.get_json, args=("/limited",))
    worker.start()
    while not server.times("/v1/limited"):
        time.sleep(0.01)
    time.sleep(0.2)  # the 429 has reached the client
    client.get_json("/other")  # another thread's call: must wait for the gate too
    worker.join()
    limited_at = server.times("/v1/limited")[0]
    other_at = server.times("/v1/other")[0]
    assert other_at - limited_at >= 0.9


def test_429_on_a_start_is_not_retried_but_pauses_the_client(server, make_client):
    server.script("/v1/start", (429, {"Retry-After": "1"}, {"code": "REQUEST_LIMITED", "message": "later"}))
    server.script("/v1/other", OK)
    client = make_client()
    with pytest.raises(RemoteError) as info:
        client.post("/start", retry=False, json={})
    assert info.value.status == 429 and server.calls["/v1/start"] == 1
    started = time.monotonic()
    client.get_json("/other")
    assert time.monotonic() - started >= 0.8


def test_retry_false_is_never_retried(server, make_client):
    server.script("/v1/start", (503, {}, "busy"), OK)
    with pytest.raises(RemoteError) as info:
        make_client().post("/start", retry=False, json={"x": 1})
    assert info.value.status == 503
    assert server.calls["/v1/start"] == 1


def test_dropped_connection_retried_for_reads_only(server, make_client):
    server.script("/v1/read", DROP, OK)
    server.script("/v1/start", DROP, OK)
    client = make_client()
    assert client.post("/read", retry=True, json={}).data == {"ok": True}
    assert server.calls["/v1/read"] == 2
    with pytest.raises(RemoteError, match=r"^prod: POST /v1/start -> connection lost .*not retried: it may have run$"):
        client.post("/start", retry=False, json={})
    assert server.calls["/v1/start"] == 1


def test_truncated_body_is_retried_for_reads(server, make_client):
    server.script("/v1/export", TRUNCATE, OK)
    assert make_client().post("/export", retry=True, json={}).data == {"ok": True}
    assert server.calls["/v1/export"] == 2


def test_truncated_body_of_a_start_is_not_retried(server, make_client):
    server.script("/v1/start", TRUNCATE, OK)
    with pytest.raises(RemoteError, match="truncated"):
        make_client().post("/start", retry=False, json={})
    assert server.calls["/v1/start"] == 1


def test_non_json_body_is_retried_for_reads_and_never_returned(server, make_client):
    server.script("/v1/flows", (200, {"Content-Type": "text/html"}, "<html>proxy login</html>"), OK)
    assert make_client().get_json("/flows") == {"ok": True}
    assert server.calls["/v1/flows"] == 2

    server.script("/v1/always", (200, {}, "<html>proxy login</html>"))
    with pytest.raises(RemoteError, match="not JSON"):
        make_client(max_retries=2).get_json("/always")
    assert server.calls["/v1/always"] == 3


def test_non_json_accepted_when_not_expected(server, make_client):
    server.script("/v1/file.xml", (200, {}, "<definitions/>"))
    response = make_client().request("GET", "/file.xml", retry=True, expect_json=False)
    assert response.text == "<definitions/>" and response.status == 200
    server.script("/v1/empty", (204, {}, b""))
    assert make_client().request("DELETE", "/empty", retry=False).data is None


def test_unreachable_after_retries(make_client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}/v1", source="prod", max_retries=1, backoff_factor=0.01)
    with pytest.raises(RemoteError, match=r"^prod: GET /v1/flows -> unreachable \(.*refused") as info:
        client.get_json("/flows", params={"api_key": "fake-never-shown-0001"})
    assert "fake-never-shown-0001" not in str(info.value) and "api_key" not in str(info.value)


def test_a_start_that_could_not_connect_was_not_sent_so_it_cannot_have_run():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}/v1", source="prod", max_retries=1, backoff_factor=0.01)
    with pytest.raises(RemoteError) as info:
        client.post("/start", retry=False, json={})
    assert str(info.value).startswith("prod: POST /v1/start -> unreachable (")
    assert "may have run" not in str(info.value)


def test_every_call_has_a_timeout(server, make_client):
    server.script("/v1/slow", OK)
    server.delay = 1.0
    started = time.monotonic()
    with pytest.raises(RemoteError, match=r"^prod: POST /v1/slow -> no answer within 0.2 s"):
        make_client(timeout=0.2).post("/slow", retry=False, json={})
    assert time.monotonic() - started < 0.9


def test_in_flight_requests_are_capped(server, make_client):
    server.script("/v1/flows", OK)
    server.delay = 0.15
    client = make_client(max_in_flight=2)
    threads = [threading.Thread(target=client.get_json, args=("/flows",)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.calls["/v1/flows"] == 6
    assert server.max_in_flight == 2


def test_parse_replaces_the_json_parse_and_its_value_error_is_retried_for_reads(server, make_client):
    # A DaVinci export is parsed and normalized in one go (sources.davinci.export_entries): a body it cannot read
    # is a bad answer, retried like a body that is not JSON.
    server.script("/v1/export", (200, {}, "<html>proxy error</html>"), (200, {}, {"flow": "ok"}))
    seen = []

    def parse(body: bytes):
        seen.append(body)
        return json.loads(body)["flow"].upper()

    response = make_client().post("/export", retry=True, json={}, parse=parse)
    assert response.data == "OK"
    assert server.calls["/v1/export"] == 2 and seen[-1] == b'{"flow": "ok"}'


# --- the environment: proxies, CA bundle, netrc ---------------------------------------------------------------


@pytest.fixture
def clean_proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_http_proxy_from_the_environment_is_used(server, clean_proxy_env):
    # The scripted server plays the proxy: the request for an unresolvable host can only reach it through there.
    server.script("/v1/flows", OK)
    clean_proxy_env.setenv("HTTP_PROXY", server.url)
    with Client("http://flowvault-test.invalid/v1", source="prod", timeout=5, max_retries=0) as client:
        assert client.get_json("/flows") == {"ok": True}
    assert server.calls["/v1/flows"] == 1


def test_no_proxy_from_the_environment_is_honoured(server, make_client, clean_proxy_env):
    server.script("/v1/flows", OK)
    clean_proxy_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    clean_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    assert make_client().get_json("/flows") == {"ok": True}


def test_ca_bundle_from_the_environment_when_verify_is_left_on(clean_proxy_env, tmp_path):
    bundle = tmp_path / "corp-ca.pem"
    clean_proxy_env.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    default = Client("https://api.pingone.eu/v1", source="prod")
    assert default._environment("https://api.pingone.eu/v1/x")[1] == str(bundle)
    pinned = Client("https://api.pingone.eu/v1", source="prod", verify="/etc/other.pem")
    assert pinned._environment("https://api.pingone.eu/v1/x")[1] == "/etc/other.pem"


def test_a_netrc_entry_does_not_replace_the_credentials_given(server, make_client, clean_proxy_env, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-password\n", encoding="utf-8")
    netrc.chmod(0o600)
    clean_proxy_env.setenv("NETRC", str(netrc))
    server.script("/v1/flows", OK)
    make_client(auth={"Authorization": "Bearer the-token"}).get_json("/flows")
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer the-token"


# --- errors ------------------------------------------------------------------------------------------------------


def test_401_is_an_auth_error_naming_the_variable(server, make_client):
    server.script("/v1/environments/e1/flows", (401, {}, {"code": "UNAUTHORIZED", "message": "Invalid token"}))
    with pytest.raises(AuthError) as info:
        make_client(secret_hint="FLOWVAULT_PROD_CLIENT_SECRET").get_json("/environments/e1/flows")
    assert str(info.value) == (
        "prod: GET /v1/environments/e1/flows -> 401: check FLOWVAULT_PROD_CLIENT_SECRET (UNAUTHORIZED: Invalid token)"
    )
    assert int(info.value.exit_status) == 3
    assert server.calls["/v1/environments/e1/flows"] == 1


def test_403_is_an_auth_error(server, make_client):
    server.script("/v1/flows", (403, {}, {"code": "ACCESS_FAILED", "message": "insufficient privilege"}))
    with pytest.raises(AuthError, match=r"-> 403: check DV_KEY and that its account has the role"):
        make_client(secret_hint="DV_KEY").get_json("/flows")


def test_401_refreshes_credentials_once(server, make_client):
    class Rotating:
        def __init__(self):
            self.n, self.invalidated = 1, 0

        def headers(self):
            return {"Authorization": f"Bearer token-number-{self.n}"}

        def invalidate(self, stale_headers=None):
            self.invalidated += 1
            self.n += 1

    def only_second(request):
        ok = request["headers"].get("Authorization") == "Bearer token-number-2"
        return OK if ok else (401, {}, {"code": "UNAUTHORIZED", "message": "expired"})

    server.script("/v1/flows", only_second)
    auth = Rotating()
    assert make_client(auth=auth).get_json("/flows") == {"ok": True}
    assert auth.invalidated == 1 and server.calls["/v1/flows"] == 2

    server.script("/v1/never", (401, {}, {"code": "UNAUTHORIZED", "message": "no"}))
    with pytest.raises(AuthError):
        make_client(auth=auth, secret_hint="X").get_json("/never")
    assert auth.invalidated == 2 and server.calls["/v1/never"] == 2  # one refresh, then give up


def test_error_names_service_message_but_not_the_query_string(server, make_client):
    server.script("/v1/dataflows/d1/start",
                  (404, {}, {"code": 404, "reason": "Not Found", "message": "no dataflow d1"}))
    with pytest.raises(RemoteError) as info:
        make_client().post("/dataflows/d1/start", retry=False,
                           params={"api_key": "fake-query-secret-9876", "await": "true"})
    message = str(info.value)
    assert message == "prod: POST /v1/dataflows/d1/start -> 404: Not Found: no dataflow d1"
    assert "fake-query-secret-9876" not in message and "api_key" not in message and "await" not in message


def test_error_status_returned_when_the_caller_reads_error_bodies(server, make_client):
    server.script("/v1/start", (400, {}, {"capabilityName": "createErrorResponse", "message": "flow said no"}))
    response = make_client().post("/start", retry=False, json={}, raise_for_status=False)
    assert response.status == 400 and response.data["message"] == "flow said no"
    server.script("/v1/denied", (401, {}, "no"))
    with pytest.raises(AuthError):
        make_client().post("/denied", retry=False, raise_for_status=False)


def test_pingone_error_details_and_raw_bodies():
    body = {"id": "x", "code": "INVALID_DATA", "message": "The request could not be completed.",
            "details": [{"code": "INVALID_VALUE", "target": "name", "message": "must not be blank"}]}
    assert service_message(json.dumps(body).encode()) == (
        "INVALID_DATA: The request could not be completed. (name: must not be blank)"
    )
    assert service_message(b'{"error": "invalid_client", "error_description": "Request denied"}') == (
        "invalid_client: Request denied"
    )
    assert service_message(b"Code: 500   Internal Server Error\n") == "Code: 500 Internal Server Error"
    assert len(service_message(b"x" * 5000)) <= 200


def test_secrets_are_masked_in_errors_and_logs(server, make_client):
    masking.register("registered-secret-1234")
    echo = (500, {}, {"message": "bad key header-secret-5678 and registered-secret-1234"})
    server.script("/v1/start", echo)
    server.script("/v1/read", (503, {}, "x"), OK)
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    handler = Collect(level=logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("flowvault.http", "urllib3")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        client = make_client(headers={"X-SK-API-KEY": "header-secret-5678"})
        with pytest.raises(RemoteError) as info:
            client.post("/start", retry=False, json={})
        client.get_json("/read", params={"api_key": "fake-param-secret-4242"})
    finally:
        for lg, (level, _) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
    message = str(info.value)
    assert "header-secret-5678" not in message and "registered-secret-1234" not in message
    assert message == "prod: POST /v1/start -> 500: bad key *** and ***"
    text = "\n".join(lines)
    assert "prod: GET /v1/read -> 200 (" in text and "ms)" in text  # -vv: method, path, status, ms
    assert "GET /v1/read -> 503; retry 1" in text
    for secret in ("header-secret-5678", "fake-param-secret-4242", "registered-secret-1234"):
        assert secret not in text
    assert server.requests[-1]["query"] == {"api_key": ["fake-param-secret-4242"]}  # sent, just never shown


def test_import_is_cheap():
    import subprocess
    import sys

    code = ("import sys, flowvault.http.client, flowvault.config, flowvault.pingone.token; "
            "print('requests' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
