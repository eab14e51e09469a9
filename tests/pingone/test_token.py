"""flowvault.pingone.token against a local token endpoint (the ScriptedServer of test_http)."""

import base64
import threading
import time
from urllib.parse import parse_qs

import pytest
from helpers import OK, ScriptedServer

from flowvault import masking
from flowvault.errors import AuthError, ConfigError
from flowvault.http.client import Client
from flowvault.pingone.token import TokenProvider, api_base, token_url

ENV_ID = "env-1"
TOKEN_PATH = f"/{ENV_ID}/as/token"
SECRET = "the-client-secret-0815"


class TokenEndpoint:
    """Issues token-1, token-2, ... to client-1 with SECRET; records how the client authenticated."""

    def __init__(self, server, expires_in=3600):
        self.issued = 0
        self.seen = []  # ("basic" | "post" | "none", form)
        self.expires_in = expires_in
        self.lock = threading.Lock()
        server.script(TOKEN_PATH, self)

    def __call__(self, request):
        form = {k: v[0] for k, v in parse_qs(request["body"].decode()).items()}
        header = request["headers"].get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            how = "basic"
        else:
            client_id, secret = form.get("client_id"), form.get("client_secret")
            how = "post" if secret else "none"
        self.seen.append((how, form))
        if form.get("grant_type") != "client_credentials":
            return 400, {}, {"error": "unsupported_grant_type"}
        if client_id != "client-1" or secret != SECRET:
            return 401, {}, {"error": "invalid_client", "error_description": "Request denied: invalid credentials"}
        with self.lock:
            self.issued += 1
            n = self.issued
        return 200, {}, {"access_token": f"access-token-{n}", "token_type": "Bearer", "expires_in": self.expires_in}


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.stop()


def provider(server, **kw):
    options = dict(
        environment_id=ENV_ID, client_id="client-1", client_secret=SECRET, auth_url=server.url, source="prod",
        secret_hint="FLOWVAULT_PROD_CLIENT_SECRET", backoff_factor=0.01,
    )
    options.update(kw)
    return TokenProvider(**options)


def bearer_of(request):
    return request["headers"].get("Authorization")


def test_token_is_cached_across_many_calls_and_threads(server):
    endpoint = TokenEndpoint(server)
    server.script("/v1/flows", OK)
    tokens = provider(server)
    client = Client(server.url + "/v1", source="prod", auth=tokens)
    for _ in range(3):
        client.get_json("/flows")
    threads = [threading.Thread(target=client.get_json, args=("/flows",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert endpoint.issued == 1 and server.calls[TOKEN_PATH] == 1
    api_calls = [r for r in server.requests if r["path"] == "/v1/flows"]
    assert len(api_calls) == 11 and {bearer_of(r) for r in api_calls} == {"Bearer access-token-1"}


def test_token_is_refreshed_shortly_before_it_expires(server):
    endpoint = TokenEndpoint(server, expires_in=3600)
    now = [1000.0]
    tokens = provider(server, clock=lambda: now[0], refresh_margin=60)
    assert tokens.token() == "access-token-1"
    now[0] += 3500  # 100 s left: still good
    assert tokens.token() == "access-token-1"
    now[0] += 50  # 50 s left: inside the margin
    assert tokens.token() == "access-token-2"
    assert endpoint.issued == 2


def test_a_401_refreshes_the_token_once(server):
    TokenEndpoint(server)

    def only_fresh(request):
        return OK if bearer_of(request) == "Bearer access-token-2" else (401, {}, {"message": "token revoked"})

    server.script("/v1/flows", only_fresh)
    tokens = provider(server)
    tokens.token()  # cached token-1, which the API now refuses
    client = Client(server.url + "/v1", source="prod", auth=tokens, secret_hint=tokens.secret_hint)
    assert client.get_json("/flows") == {"ok": True}
    assert server.calls[TOKEN_PATH] == 2 and server.calls["/v1/flows"] == 2


def test_a_replacement_token_refused_again_is_not_replaced_until_it_expires(server):
    # A call that went out with the replacement token (another thread's refresh) and got a 401 too must not ask
    # for a third token: the service refuses fresh ones. Expiry still renews it.
    endpoint = TokenEndpoint(server, expires_in=3600)
    now = [0.0]
    tokens = provider(server, clock=lambda: now[0], refresh_margin=60)
    first = tokens.headers()
    tokens.invalidate(first)  # a 401 with token-1
    second = tokens.headers()
    assert second == {"Authorization": "Bearer access-token-2"}
    tokens.invalidate(second)  # a 401 with the replacement, from a call that never saw token-1
    assert tokens.headers() == second and endpoint.issued == 2
    tokens.invalidate(first)  # a late 401 with token-1: nothing to do
    assert tokens.headers() == second and endpoint.issued == 2
    now[0] += 3600
    assert tokens.token() == "access-token-3"
    tokens.invalidate({"Authorization": "Bearer access-token-3"})  # an ordinary token may be replaced again
    assert tokens.token() == "access-token-4" and endpoint.issued == 4


def test_client_secret_basic(server):
    endpoint = TokenEndpoint(server)
    provider(server, method="client_secret_basic").token()
    (how, form), = endpoint.seen
    assert how == "basic" and form == {"grant_type": "client_credentials"}


def test_client_secret_post(server):
    endpoint = TokenEndpoint(server)
    tokens = provider(server, method="client_secret_post", scope="p1:read")
    assert tokens.headers() == {"Authorization": "Bearer access-token-1"}
    (how, form), = endpoint.seen
    assert how == "post"
    assert form == {"grant_type": "client_credentials", "client_id": "client-1", "client_secret": SECRET,
                    "scope": "p1:read"}
    assert "Authorization" not in server.requests[0]["headers"]


def test_bad_secret_is_an_auth_error_naming_the_variable(server):
    TokenEndpoint(server)
    tokens = provider(server, client_secret="fake-a-wrong-secret-4711")
    with pytest.raises(AuthError) as info:
        tokens.token()
    message = str(info.value)
    assert message.startswith(f"prod: POST {TOKEN_PATH} -> 401: check FLOWVAULT_PROD_CLIENT_SECRET")
    assert "invalid_client" in message
    assert "fake-a-wrong-secret-4711" not in message
    assert server.calls[TOKEN_PATH] == 1  # a refused secret is not retried


def test_invalid_client_as_400_is_an_auth_error_too(server):
    server.script(TOKEN_PATH,
                  (400, {}, {"error": "invalid_client", "error_description": "Unsupported authentication method"}))
    with pytest.raises(AuthError, match="check FLOWVAULT_PROD_CLIENT_SECRET"):
        provider(server).token()


def test_tokens_are_masked(server):
    TokenEndpoint(server)
    token = provider(server).token()
    masked = masking.mask(f"got {token}.")
    assert masked == "got ***." and token not in masking.mask(f"Authorization: Bearer {token}")


def test_token_url_and_api_base():
    assert token_url("e1") == "https://auth.pingone.com/e1/as/token"
    assert token_url("e1", region="com.au") == "https://auth.pingone.com.au/e1/as/token"
    assert token_url("e1", region="eu", auth_url="http://127.0.0.1:9/") == "http://127.0.0.1:9/e1/as/token"
    assert token_url("e1", auth_url="https://auth.pingone.eu") == "https://auth.pingone.eu/e1/as/token"


def test_a_custom_domain_token_endpoint_has_no_environment_id():
    """Issue 17: a custom domain serves one environment, its token endpoint is https://<domain>/as/token."""
    assert token_url("e1", auth_url="https://login.example.com") == "https://login.example.com/as/token"
    assert token_url("e1", auth_url="https://login.example.com/") == "https://login.example.com/as/token"
    # already complete, or naming the environment: kept
    assert token_url("e1", auth_url="https://login.example.com/as/token") == "https://login.example.com/as/token"
    assert token_url("e1", auth_url="https://proxy.example.com/e1") == "https://proxy.example.com/e1/as/token"
    with pytest.raises(ConfigError, match="unknown region 'us'"):
        token_url("e1", region="us")

    class Settings:
        region, api_url = "sg", None

    assert api_base(Settings) == "https://api.pingone.sg/v1"
    Settings.api_url = "http://127.0.0.1:9/v1/"
    assert api_base(Settings) == "http://127.0.0.1:9/v1"


def test_from_settings_and_unknown_method():
    from flowvault.sources.davinci import Settings

    settings = Settings(environment_id="e1", client_id="c", client_secret=SECRET, region="ca",
                        token_auth_method="client_secret_post")
    tokens = TokenProvider.from_settings(settings, source="prod", secret_hint="X")
    assert tokens.url == "https://auth.pingone.ca/e1/as/token" and tokens.method == "client_secret_post"
    with pytest.raises(ConfigError, match="valid values: client_secret_basic, client_secret_post"):
        TokenProvider(environment_id="e", client_id="c", client_secret=SECRET, method="private_key_jwt")


def test_threads_that_need_a_token_at_once_share_one_request_and_its_error(server):
    """Issue 19: an unreachable token endpoint was asked (and its retries said) once per thread of a backup."""
    started = threading.Barrier(8, timeout=10)
    release = threading.Event()

    def refuse(request):
        release.wait(10)  # answer once every thread is waiting for a token
        return 401, {}, {"error": "invalid_client", "error_description": "Request denied: invalid credentials"}

    server.script(TOKEN_PATH, refuse)
    tokens = provider(server)
    errors = []

    def need_token():
        started.wait()
        try:
            tokens.token()
        except AuthError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=need_token) for _ in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while not server.calls[TOKEN_PATH] and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the other threads are waiting by now
    release.set()
    for t in threads:
        t.join(10)
    assert server.calls[TOKEN_PATH] == 1 and tokens.requests == 1
    assert len(errors) == 8 and len(set(errors)) == 1 and "check FLOWVAULT_PROD_CLIENT_SECRET" in errors[0]
    # a later call asks again (the secret may have been fixed), and the others share that answer too
    endpoint = TokenEndpoint(server)
    assert tokens.token() == "access-token-1" and endpoint.issued == 1


def test_threads_waiting_for_a_token_share_the_one_that_arrives(server):
    endpoint = TokenEndpoint(server)
    server.delay = 0.2
    tokens = provider(server)
    got = []
    threads = [threading.Thread(target=lambda: got.append(tokens.token())) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert got == ["access-token-1"] * 6 and endpoint.issued == 1 and server.calls[TOKEN_PATH] == 1
