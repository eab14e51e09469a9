"""PingOne worker-app access tokens (client_credentials), cached until shortly before they expire.

    tokens = TokenProvider.from_settings(settings, source="prod", secret_hint="FLOWVAULT_PROD_CLIENT_SECRET")
    client = Client(api_base(settings), source="prod", auth=tokens, secret_hint=...)

POST {auth_url}/{environment_id}/as/token with grant_type=client_credentials, the client authenticated by HTTP
Basic (client_secret_basic, the default, as Ping's go-client does) or by form fields (client_secret_post); which
one works is set by the app's tokenEndpointAuthMethod (reference/davinci-api.md 1.2). A worker token lives one
hour; we refresh a minute early, and at once when a call gets a 401 (flowvault.http.client.Client calls invalidate()).
One request at a time per provider: threads that need a token while it is being asked for wait for that answer and
share it, the token or the error (an unreachable service was retried, and said so, once per thread: issue 19).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from flowvault.errors import AuthError, ConfigError, RemoteError
from flowvault.masking import register
from flowvault.pingone.regions import region_urls

METHODS = ("client_secret_basic", "client_secret_post")
DEFAULT_LIFETIME = 3600.0  # used when the response has no expires_in ("valid for one hour", PingOne docs)


def token_url(environment_id: str, *, region: str = "com", auth_url: str | None = None) -> str:
    """The token endpoint: {auth_url or https://auth.pingone.{region}}/{environment_id}/as/token, except for a custom
    domain, which serves one environment: https://<domain>/as/token (Ping's go-client
    oauth2/endpoints/endpoints.go; reference/davinci-api.md 1.2).

    An auth_url is a custom domain when its host is neither PingOne's (auth.pingone.<tld>) nor one that cannot be a
    public custom domain (loopback: a local proxy or emulator; names RFC 6761 reserves for testing: *.test,
    *.invalid, *.localhost), and its path does not already name the environment or the endpoint. Either shape can
    be forced: an auth_url ending in /<environment id> or in /as/token is taken as it is.
    """
    from urllib.parse import urlsplit

    base = (auth_url or region_urls(region).auth).rstrip("/")
    parts = urlsplit(base)
    if parts.path.endswith("/as/token"):
        return base
    if parts.path.rstrip("/").endswith(f"/{environment_id}"):
        return f"{base}/as/token"
    host = (parts.hostname or "").lower()
    emulator = host in ("localhost", "::1") or host.startswith("127.") \
        or host.endswith((".test", ".invalid", ".localhost"))
    regional = host.startswith("auth.pingone.") or emulator
    return f"{base}/{environment_id}/as/token" if regional else f"{base}/as/token"


def api_base(settings: Any) -> str:
    """The Platform API base of DaVinci source settings: its api_url, else https://api.pingone.{region}/v1."""
    return (getattr(settings, "api_url", None) or region_urls(getattr(settings, "region", "com")).api).rstrip("/")


class TokenProvider:
    """Thread-safe cache of one worker app's access token; `headers()` is what flowvault.http.client.Client sends."""

    def __init__(
        self,
        *,
        environment_id: str,
        client_id: str,
        client_secret: str,
        region: str = "com",
        auth_url: str | None = None,
        method: str = "client_secret_basic",
        source: str = "pingone",
        secret_hint: str | None = None,
        scope: str | None = None,
        timeout: float = 30.0,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        client: Any = None,
        **client_options: Any,
    ) -> None:
        if method not in METHODS:
            raise ConfigError(f"{source}: unknown token_auth_method {method!r}; valid values: {', '.join(METHODS)}")
        self.url = token_url(environment_id, region=region, auth_url=auth_url)
        self.client_id = client_id
        self.method = method
        self.source = source
        self.secret_hint = secret_hint
        self.scope = scope
        self.refresh_margin = refresh_margin
        self._secret = client_secret
        register(client_secret)
        self._clock = clock
        self._lock = threading.Condition()  # notified when a token request ends
        self._fetching = False  # a thread is asking for a token (outside the lock)
        self._answers = 0  # token requests that ended, so a waiter can tell when the one it waited for did
        self._error: Exception | None = None  # how the last request failed, shared with the threads that waited
        self._token: str | None = None
        self._expires_at = 0.0
        self._replacing = False  # the next token replaces one a call got a 401 with
        self._replacement: str | None = None  # the token fetched that way (see invalidate)
        self.requests = 0  # token calls made (for -v output and tests)
        if client is None:
            from flowvault.http.client import Client

            basic = (client_id, client_secret) if method == "client_secret_basic" else None
            client = Client(
                self.url, source=source, timeout=timeout, auth=basic, secret_hint=secret_hint, **client_options
            )
        self._client = client

    @classmethod
    def from_settings(cls, settings: Any, *, source: str, secret_hint: str | None = None, **kw: Any) -> TokenProvider:
        """A provider for the DaVinci source settings (environment_id, client_id, client_secret, region/auth_url,
        token_auth_method)."""
        return cls(
            environment_id=settings.environment_id,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            region=getattr(settings, "region", "com"),
            auth_url=getattr(settings, "auth_url", None),
            method=getattr(settings, "token_auth_method", "client_secret_basic"),
            source=source,
            secret_hint=secret_hint,
            **kw,
        )

    def token(self) -> str:
        """A valid access token: the cached one, or a new one if it is missing or about to expire. While another
        thread asks for one, wait for its answer and share it: its token, or its error (raised here too)."""
        with self._lock:
            waited = False
            while True:
                if self._token is not None and self._clock() < self._expires_at:
                    return self._token
                if not self._fetching:
                    if waited and self._error is not None:
                        raise self._error
                    break  # (a token that was invalidated again while we waited: ask anew)
                answers = self._answers
                while self._fetching and self._answers == answers:
                    self._lock.wait()
                waited = True
            self._fetching = True
            self.requests += 1
        token: str | None = None
        lifetime, error = 0.0, None
        try:
            token, lifetime = self._fetch()
        except Exception as e:
            error = e
            raise
        finally:
            with self._lock:
                self._fetching, self._answers, self._error = False, self._answers + 1, error
                if token is not None:
                    margin = min(self.refresh_margin, lifetime / 2)
                    self._token = token
                    self._expires_at = self._clock() + lifetime - margin
                    self._replacement, self._replacing = (token if self._replacing else None), False
                self._lock.notify_all()
        assert token is not None
        return token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def invalidate(self, stale_headers: Mapping[str, str] | None = None) -> None:
        """Forget the token (only if it is still the one in `stale_headers`, so that N threads that got a 401 with
        the same token cause one refresh, not N). A token fetched to replace a refused one is kept when it is
        refused too: the service refuses fresh tokens, so another would not help (a thread whose first call went
        out with it would otherwise ask for a third; expiry still renews it)."""
        with self._lock:
            if stale_headers is None or stale_headers.get("Authorization") == f"Bearer {self._token}":
                if stale_headers is not None and self._token is not None and self._token == self._replacement:
                    return
                self._token = None
                self._expires_at = 0.0
                self._replacing = True

    def _fetch(self) -> tuple[str, float]:
        """(token, lifetime in seconds) from the token endpoint; called outside the lock."""
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        if self.method == "client_secret_post":
            form.update(client_id=self.client_id, client_secret=self._secret)
        try:
            # Asking for a token changes nothing on the server, so it is retried like a read.
            body = self._client.post("", retry=True, data=form).data
        except AuthError:
            raise
        except RemoteError as e:
            # OAuth servers answer a bad client with 400 invalid_client as well as 401 (RFC 6749 5.2).
            if e.status == 400 and "invalid_client" in str(e):
                raise AuthError(f"{e}; check {self.secret_hint or 'the client secret'}", status=400) from None
            raise
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RemoteError(f"{self.source}: POST {self._path()} -> the token response has no access_token")
        register(token)
        try:
            lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        return token, lifetime

    def _path(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.url).path
