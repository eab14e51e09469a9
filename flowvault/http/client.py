"""The one HTTP client every remote client uses: base URL, timeouts, retries, auth, error mapping, masking.

    client = Client("https://api.pingone.com/v1", source="prod", auth=tokens,
                    secret_hint="FLOWVAULT_PROD_CLIENT_SECRET")
    flows = client.get_json(f"/environments/{env}/flows")                   # a read: retried
    export = client.post(url, retry=True, json={...}).data                  # a read-like POST (export): retried
    run = client.post(start_url, retry=False, json=inputs).data             # a start: never retried

Reads (`retry=True`) are retried on 408/429/500/502/503/504 and dropped connections, honouring Retry-After, with
backoff, behind a 429 gate shared by all threads of the client (flowvault.http.retry). Faults urllib3 cannot see (a
truncated body, a body that is not the JSON we expected) are retried for reads by the loop in Client.request.
Starts (`retry=False`) are sent once: a retried start runs the flow twice.

`auth` is None, a (user, password) tuple (HTTP Basic), a dict of static headers, or an object with
`headers() -> dict` and optionally `invalidate(stale_headers=None)` (flowvault.pingone.token.TokenProvider): on a
401 the client invalidates once and repeats the call with fresh credentials.

Error messages come from flowvault.http.errors. requests/urllib3 are imported when a Client is made (not when
this module is), so that `flowvault --help` never loads them.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flowvault.errors import AuthError, RemoteError
from flowvault.http.errors import reason, service_message, short
from flowvault.http.retry import CONNECT_RETRIES, RETRY_STATUSES, Gate, Policy, retry_after_seconds, retry_class
from flowvault.masking import MaskingFilter, mask, register
from flowvault.version import __version__

log = logging.getLogger("flowvault.http")

# The largest body read into memory: real DaVinci exports with subflows are a few MB; a body past this is a broken
# or hostile answer that would otherwise fill memory and the vault.
MAX_BODY_BYTES = 64 << 20
# Header and query-parameter names whose values are credentials: registered for masking, never logged.
SECRET_NAME = re.compile(r"authorization|api[-_]?key|token|secret|password|passw|cookie|signature", re.IGNORECASE)


def _requests():
    import requests

    return requests


@dataclass
class Response:
    """What a call returned: status, headers, body, and `data` (the parsed JSON when JSON was expected)."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    method: str
    path: str
    data: Any = None
    _parsed: bool = field(default=False, repr=False)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (RemoteError if it is not JSON)."""
        if not self._parsed:
            try:
                self.data, self._parsed = _parse_json(self.content), True
            except ValueError as e:
                raise RemoteError(f"{self.method} {self.path} -> {self.status}: response is not JSON") from e
        return self.data


def _parse_json(content: bytes) -> Any:
    from flowvault.canonical import loads  # json.loads' answer, faster (orjson) where it is the same

    return loads(content)


class _BodyFault(Exception):
    """A response whose body cannot be used (truncated, or not the JSON we expected); retried for reads."""


class Client:
    """A session for one remote service (one source or launcher): see the module docstring."""

    def __init__(
        self,
        base_url: str,
        *,
        source: str,
        timeout: float = 30.0,
        auth: Any = None,
        secret_hint: str | None = None,
        max_in_flight: int = 8,
        user_agent: str | None = None,
        headers: Mapping[str, str] | None = None,
        max_retries: int = 6,
        backoff_factor: float = 0.5,
        backoff_cap: float = 30.0,
        retry_after_cap: float = 30.0,
        verify: bool | str = True,
        sleep: Callable[[float], None] = time.sleep,
        max_body_bytes: int = MAX_BODY_BYTES,
        forbidden_retries: tuple[float, ...] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.source = source
        self.timeout = float(timeout)
        self.auth = auth
        self.secret_hint = secret_hint
        self.max_retries = max_retries
        self.verify = verify
        self.max_body_bytes = max_body_bytes
        self.forbidden_retries = tuple(forbidden_retries)  # delays before repeating a call refused with 403
        self._sleep = sleep
        self._gate = Gate(sleep)
        self._slots = threading.BoundedSemaphore(max(1, max_in_flight))
        self._policy = Policy(source, self._gate, retry_after_cap, backoff_factor, backoff_cap, sleep, max_retries)
        self._headers = {"User-Agent": user_agent or f"flowvault/{__version__}", "Accept": "application/json"}
        self._headers.update(headers or {})
        self._register_secret_headers(self._headers)
        if isinstance(auth, dict):
            self._register_secret_headers(auth, all_values=True)
        elif isinstance(auth, tuple):
            register(auth[1] if len(auth) > 1 else None)
        self._max_in_flight = max(1, max_in_flight)
        # requests is imported when a client is made, not by its first request: a backup makes its clients on the
        # main thread and sends their first requests from others, where the import raced the main thread's own
        # imports for the GIL and the first request left ~0.15 s later (issue 8).
        _requests()
        self._sessions: dict[bool, Any] = {}
        self._environments: dict[tuple[str, str], tuple[dict, bool | str]] = {}  # see _environment
        self._session_lock = threading.Lock()
        _mask_urllib3_logs()

    # --- public API ---------------------------------------------------------------------------------------------

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        """GET path and return its JSON body (a read: retried)."""
        return self.request("GET", path, retry=True, params=params, **kw).data

    def post(self, path: str, *, retry: bool, **kw: Any) -> Response:
        """POST; `retry` must be said: True only for read-like actions (an export), never for a start or import."""
        return self.request("POST", path, retry=retry, **kw)

    def put(self, path: str, *, retry: bool, **kw: Any) -> Response:
        return self.request("PUT", path, retry=retry, **kw)

    def delete(self, path: str, *, retry: bool, expect_json: bool = False, **kw: Any) -> Response:
        return self.request("DELETE", path, retry=retry, expect_json=expect_json, **kw)

    def url(self, path: str) -> str:
        """The absolute URL of `path` (absolute URLs, e.g. a HAL `_links.next.href`, are used as they are)."""
        if path.startswith(("http://", "https://")):
            return path
        if not path:
            return self.base_url
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        retry: bool,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        expect_json: bool = True,
        timeout: float | None = None,
        raise_for_status: bool = True,
        parse: Callable[[bytes], Any] | None = None,
    ) -> Response:
        """Send one call and return its Response; RemoteError/AuthError (messages masked, no query string) if it failed.

        `retry=True` (reads, polls, read-like POSTs) retries transient faults; `retry=False` sends exactly once.
        `raise_for_status=False` returns a >= 400 Response (after any retries) instead of raising, for callers that
        read error bodies themselves (a launcher: DaVinci's error JSON is the flow's answer); 401/403 still raise.
        `parse(body) -> data` replaces the JSON parse of a successful answer (a DaVinci export is parsed and
        normalized in one go, in a worker process); a ValueError from it means the body was not what we expected,
        retried as a body that is not JSON is.
        """
        method = method.upper()
        url = self.url(path)
        shown = urlsplit(url).path or "/"
        where = f"{self.source}: {method} {shown}"
        if params:
            for name, value in params.items():
                if SECRET_NAME.search(str(name)) and isinstance(value, str):
                    register(value)
        if headers:
            self._register_secret_headers(headers)
        attempts = 1 + (self.max_retries if retry else 0)
        refreshed = False
        forbidden = 0
        attempt = 0
        while True:
            attempt += 1
            auth_headers = self._auth_headers()
            send_headers = {**self._headers, **auth_headers, **(headers or {})}
            try:
                response = self._send(
                    retry, method, url, params=params, json=json, data=data, headers=send_headers,
                    timeout=self.timeout if timeout is None else timeout, where=where, expect_json=expect_json,
                    parse=parse,
                )
            except _BodyFault as fault:
                if attempt < attempts:
                    delay = self._policy.backoff(attempt)
                    if attempt == 1:  # at default verbosity, once per call (issue 19)
                        log.warning("%s: retrying %s %s (%d/%d) after %s", self.source, method, shown, attempt,
                                    attempts - 1, fault)
                    log.info("%s -> %s; retry %d in %.1f s", where, fault, attempt, delay)
                    self._sleep(delay)
                    continue
                raise RemoteError(mask(f"{where} -> {fault}"), retryable=True) from None
            status = response.status
            if status == 401 and not refreshed and hasattr(self.auth, "invalidate"):
                # The token may have expired or been revoked early: one fresh token, one more try. A 401 means the
                # call was not carried out, so this is safe even for a start.
                refreshed = True
                log.debug("%s -> 401; refreshing credentials", where)
                self.auth.invalidate(auth_headers)
                continue
            if status == 403 and forbidden < len(self.forbidden_retries):
                # A role granted moments ago takes a while to reach every PingOne node: Ping's own clients repeat a
                # call refused for "insufficient privilege" briefly (reference/davinci-api.md 1.2). A 403 means the
                # call was not carried out, so this is safe even for a write.
                delay = self.forbidden_retries[forbidden]
                forbidden += 1
                log.info("%s -> 403; retry in %.1f s (a role granted just now may not apply yet)", where, delay)
                self._sleep(delay)
                continue
            if status == 429:
                asked = retry_after_seconds(response.headers.get("Retry-After"))
                if asked is not None:
                    self._gate.defer(min(asked, self._policy.retry_after_cap))
            if status in (401, 403):
                raise self._auth_error(where, response)
            if status >= 400 and not raise_for_status:
                try:
                    response.json()
                except RemoteError:
                    pass
                return response
            if status >= 400:
                message = service_message(response.content)
                raise RemoteError(
                    mask(f"{where} -> {status}" + (f": {message}" if message else "")),
                    status=status,
                    retryable=status in RETRY_STATUSES,
                )
            return response

    def close(self) -> None:
        with self._session_lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------------------------------

    def _session(self, retry: bool):
        with self._session_lock:
            session = self._sessions.get(retry)
            if session is None:
                session = self._sessions[retry] = self._new_session(retry)
            return session

    def _environment(self, url: str) -> tuple[dict, bool | str]:
        """(proxies, verify) for `url`, from the environment as requests reads it (HTTP(S)_PROXY, ALL_PROXY,
        NO_PROXY; REQUESTS_CA_BUNDLE, then CURL_CA_BUNDLE, when `verify` is left True), once per scheme and host."""
        key = urlsplit(url)[:2]
        found = self._environments.get(key)
        if found is None:
            from requests.utils import get_environ_proxies

            verify = self.verify
            if verify is True:
                verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            found = self._environments[key] = (get_environ_proxies(url), verify)
        return found

    def _new_session(self, retry: bool):
        requests = _requests()
        from requests.adapters import HTTPAdapter

        if retry:
            retries = retry_class()(
                total=self.max_retries,
                # A refused connection or an unknown host is rarely a blip: a few quick tries (~3.5 s of backoff),
                # then "unreachable", instead of a minute of waiting on a mistyped URL.
                connect=min(CONNECT_RETRIES, self.max_retries),
                read=self.max_retries,
                status=self.max_retries,
                other=0,
                redirect=5,
                allowed_methods=None,  # the caller said this call is safe to repeat, whatever its method
                status_forcelist=RETRY_STATUSES,
                respect_retry_after_header=True,
                raise_on_status=False,
                raise_on_redirect=False,
                policy=self._policy,
            )
        else:
            # Sent exactly once: not after a dropped connection either, since the start may have run.
            retries = retry_class()(
                total=0, connect=0, read=False, status=0, other=0, redirect=False,
                raise_on_status=False, raise_on_redirect=False, policy=self._policy,
            )
        adapter = HTTPAdapter(
            max_retries=retries, pool_connections=2, pool_maxsize=self._max_in_flight, pool_block=True
        )
        session = requests.Session()
        # The environment's proxy and CA settings are read once per host (_environment), not by requests on every
        # call: with trust_env it scanned all of os.environ twice and looked for ~/.netrc per request (~0.5 ms
        # each, issue 8). And a ~/.netrc entry for the host would have replaced the credentials given here.
        session.trust_env = False
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def _send(self, retry, method, url, *, params, json, data, headers, timeout, where, expect_json, parse) -> Response:
        requests = _requests()
        auth = self.auth if isinstance(self.auth, tuple) else None
        proxies, verify = self._environment(url)
        self._gate.wait()
        started = time.monotonic()
        with self._slots:
            try:
                raw = self._session(retry).request(
                    method, url, params=params, json=json, data=data, headers=headers, timeout=timeout,
                    auth=auth, allow_redirects=True, stream=True, proxies=proxies, verify=verify,
                )
                content = self._read_body(raw, where)
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as e:
                if retry:
                    raise _BodyFault(f"truncated response body ({reason(e)})") from None
                raise RemoteError(
                    mask(f"{where} -> truncated response body ({reason(e)}); not retried: it may have run"),
                ) from None
            except requests.exceptions.Timeout as e:
                # a call that never connected was not sent: only one that was may have run (issue 19)
                again = "" if retry or _not_sent(e) else "; not retried: it may have run"
                what = "no connection" if _not_sent(e) else "no answer"
                raise RemoteError(
                    mask(f"{where} -> {what} within {timeout:g} s ({reason(e)}){again}"), retryable=True
                ) from None
            except requests.exceptions.RequestException as e:
                if _not_sent(e):
                    raise RemoteError(mask(f"{where} -> unreachable ({reason(e)})"), retryable=True) from None
                again = "" if retry else "; not retried: it may have run"
                raise RemoteError(mask(f"{where} -> connection lost ({reason(e)}){again}"), retryable=True) from None
        ms = (time.monotonic() - started) * 1000
        log.debug("%s -> %s (%d ms)", where, raw.status_code, ms)
        response = Response(raw.status_code, raw.headers, content, method, urlsplit(url).path)
        if expect_json and raw.status_code < 400:
            if not content.strip():
                response._parsed = True
            else:
                try:
                    response.data, response._parsed = (parse or _parse_json)(content), True
                except ValueError:
                    if retry:
                        raise _BodyFault(
                            f"{raw.status_code} with a body that is not JSON: {short(content, 80)}") from None
                    raise RemoteError(
                        mask(f"{where} -> {raw.status_code} with a body that is not JSON: {short(content)}"),
                        status=raw.status_code,
                    ) from None
        return response

    def _read_body(self, raw, where: str) -> bytes:
        """The whole body of a streamed response; RemoteError (not retried: it would come back as large) past
        max_body_bytes, checked against Content-Length first and while reading."""
        limit = self.max_body_bytes
        try:
            announced = int(raw.headers.get("Content-Length") or 0)
        except ValueError:
            announced = 0
        chunks, size = [], 0
        try:
            if announced <= limit:
                for chunk in raw.iter_content(1 << 16):
                    size += len(chunk)
                    if size > limit:
                        break
                    chunks.append(chunk)
        finally:
            raw.close()
        if announced > limit or size > limit:
            raise RemoteError(mask(f"{where} -> {raw.status_code} with a response body too large (over "
                                   f"{limit >> 20} MiB); not stored"), status=raw.status_code)
        return b"".join(chunks)

    def _auth_headers(self) -> dict[str, str]:
        if self.auth is None or isinstance(self.auth, tuple):
            return {}
        if isinstance(self.auth, dict):
            return dict(self.auth)
        produced = dict(self.auth.headers())
        self._register_secret_headers(produced, all_values=True)
        return produced

    def _auth_error(self, where: str, response: Response) -> AuthError:
        message = service_message(response.content)
        hint = self.secret_hint or f"the credentials of {self.source!r}"
        what = f"check {hint}" if response.status == 401 else f"check {hint} and that its account has the role for this"
        text = f"{where} -> {response.status}: {what}" + (f" ({message})" if message else "")
        return AuthError(mask(text), status=response.status)

    @staticmethod
    def _register_secret_headers(headers: Mapping[str, str], *, all_values: bool = False) -> None:
        for name, value in headers.items():
            if isinstance(value, str) and (all_values or SECRET_NAME.search(name)):
                register(value)
                if " " in value:  # "Bearer abc", "Basic abc": the credential alone may appear elsewhere
                    register(value.split(" ", 1)[1])


def _not_sent(error: BaseException) -> bool:
    """True when `error` happened before the request left: no connection (refused, unknown host, connect timeout)."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (NewConnectionError, ConnectTimeoutError)):
            return True
        nested = [a for a in getattr(cause, "args", ()) if isinstance(a, BaseException)]
        cause = (getattr(cause, "reason", None) or (nested[0] if nested else None) or cause.__cause__
                 or cause.__context__)
    return False


_urllib3_masked = False


def _mask_urllib3_logs() -> None:
    """urllib3 logs retried URLs (query strings included) at WARNING; mask whatever secrets they carry."""
    global _urllib3_masked
    if not _urllib3_masked:
        _urllib3_masked = True
        for name in ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.connection"):
            logging.getLogger(name).addFilter(MaskingFilter())
