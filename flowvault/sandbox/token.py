"""PingOne token endpoint: POST /{envID}/as/token, client_credentials (davinci-api.md §1.2).

Both client authentication methods are accepted (client_secret_basic and client_secret_post), as a worker app
whose tokenEndpointAuthMethod allows them would. Each served environment has its own worker app (envs.py). Issued
tokens are opaque, valid for `expires_in` seconds of sandbox time, and only for the environment they were issued in.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import threading
from urllib.parse import parse_qs, unquote_plus

from flowvault.sandbox.app import SECRET_MARKER, HttpError, Request, Response, Router, SandboxContext, json_response
from flowvault.sandbox.envs import CLIENT_ID, ENV_ID, by_id

__all__ = ["CLIENT_ID", "ENV_ID", "register", "require_bearer"]  # ENV_ID, CLIENT_ID: the default environment's
EXPIRES_IN = 3600  # "a worker token is valid for one hour" (davinci-api.md §1.2)


class _Tokens:
    def __init__(self) -> None:
        self.issued: dict[str, tuple[str, float]] = {}  # token -> (env id, issued at clock.elapsed())
        self.counter = itertools.count(1)
        self.lock = threading.Lock()


def _oauth_error(status: int, error: str, description: str) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="PingOne"'
    return json_response(status, {"error": error, "error_description": description}, headers)


def _client_credentials(request: Request, form: dict[str, list[str]]) -> tuple[str | None, str | None, str | None]:
    """(client_id, client_secret, method) from a Basic header or the form; (None, None, None) if neither."""
    auth = request.headers.get("Authorization") or ""
    if auth.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None, "basic"
        client_id, _, secret = decoded.partition(":")
        # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
        return unquote_plus(client_id), unquote_plus(secret), "basic"
    if "client_id" in form:
        secrets = form.get("client_secret")
        return form["client_id"][0], secrets[0] if secrets else None, "post"
    return None, None, None


def register(router: Router, ctx: SandboxContext) -> None:
    tokens = _Tokens()
    ctx.state["token"] = tokens

    @router.route("POST", "/{envID}/as/token")
    def token(request: Request) -> Response:
        if request.content_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        client_id, secret, _method = _client_credentials(request, form)
        if client_id is None:
            return _oauth_error(401, "invalid_client", "Request denied: client authentication is required")
        env = by_id(ctx, request.params["envID"])
        if env is None or client_id != env.client_id or not ctx.accepts(secret):
            return _oauth_error(401, "invalid_client", "Request denied: invalid client credentials")
        grant = (form.get("grant_type") or [""])[0]
        if grant != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant!r}")
        with tokens.lock:
            n = next(tokens.counter)
            value = f"{SECRET_MARKER}-at-{n}-{ctx.new_id('token', n, ctx.clock.elapsed())}"
            tokens.issued[value] = (env.id, ctx.clock.elapsed())
        body = {"access_token": value, "token_type": "Bearer", "expires_in": EXPIRES_IN}
        scopes = form.get("scope")
        scope = scopes[0] if scopes else None
        if scope:
            body["scope"] = scope
        return json_response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def require_bearer(request: Request, ctx: SandboxContext, env_id: str) -> None:
    """Raise the PingOne 401/403 unless `request` carries a live token issued for `env_id`."""
    tokens: _Tokens = ctx.state["token"]
    auth = request.headers.get("Authorization") or ""
    if not auth.lower().startswith("bearer "):
        raise _unauthorized("The access token is missing.", 'Bearer realm="PingOne"')
    value = auth[7:].strip()
    with tokens.lock:
        issued = tokens.issued.get(value)
    if issued is None or ctx.clock.elapsed() - issued[1] >= EXPIRES_IN:
        raise _unauthorized("The access token is invalid or expired.", 'Bearer realm="PingOne", error="invalid_token"')
    if issued[0] != env_id:
        # The spec's 403 note: "This may occur if the environment doesn't exist".
        raise HttpError(403, "ACCESS_FAILED",
                        "The request could not be completed. You do not have access to this resource.")


def _unauthorized(reason: str, challenge: str) -> HttpError:
    # OpenAPI UnauthorizedError: the top-level code is ACCESS_FAILED (its only value); INVALID_TOKEN is a detail code.
    return HttpError(401, "ACCESS_FAILED", f"The request could not be completed. {reason}",
                     details=[{"code": "INVALID_TOKEN", "message": reason}], headers={"WWW-Authenticate": challenge})
