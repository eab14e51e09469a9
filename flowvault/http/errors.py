"""What flowvault says when a remote call fails: the service's own message from its body, the root cause of a
transport error, each clipped to one line and masked (flowvault.masking) before it reaches a message or a log."""

from __future__ import annotations

import json as jsonlib
import re

from flowvault.masking import mask


def service_message(content: bytes, limit: int = 200) -> str:
    """The error message a service put in its body: PingOne {code, message, details}, PingIDM {code, reason,
    message}, OAuth {error, error_description}, legacy DaVinci {message, errorMessage}; else a short raw body."""
    if not content or not content.strip():
        return ""
    try:
        body = jsonlib.loads(content)
    except ValueError:
        return short(content, limit)
    if not isinstance(body, dict):
        return short(content, limit)
    if "error" in body and isinstance(body.get("error"), str):  # OAuth 2 (RFC 6749 5.2)
        parts = [body["error"], str(body.get("error_description") or "")]
        return clip(": ".join(p for p in parts if p), limit)
    message = body.get("message") or body.get("errorMessage") or body.get("detail") or ""
    if not isinstance(message, str):
        message = jsonlib.dumps(message)
    label = body.get("reason") if isinstance(body.get("reason"), str) else body.get("code")
    text = f"{label}: {message}" if label and message and str(label) != message else str(message or label or "")
    details = body.get("details")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        detail = details[0]
        extra = detail.get("message") or detail.get("code")
        if extra:
            target = detail.get("target")
            text += f" ({target}: {extra})" if target else f" ({extra})"
    return clip(text, limit) if text else short(content, limit)


def short(content: bytes, limit: int = 200) -> str:
    return clip(content.decode("utf-8", errors="replace"), limit)


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return mask(text if len(text) <= limit else text[: limit - 1] + "…")


def reason(error: BaseException) -> str:
    """The root cause of a requests/urllib3 error in a few words, without the URL (its query may hold an api key)."""
    cause: BaseException = error
    seen = set()
    while True:
        nxt = getattr(cause, "reason", None) or (
            cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None)
        if nxt is None or not isinstance(nxt, BaseException) or id(nxt) in seen:
            break
        seen.add(id(nxt))
        cause = nxt
    if len(getattr(cause, "args", ())) > 1 and isinstance(cause.args[1], BaseException):
        cause = cause.args[1]  # ProtocolError('Connection aborted.', RemoteDisconnected(...))
    text = str(cause) or type(cause).__name__
    text = re.sub(r"\S+://\S+", "<url>", text)  # drop URLs (and their query strings) the library quoted
    text = re.sub(r"\?\S*", "", text)
    text = re.sub(r"HTTP(S)?Connection(Pool)?\([^)]*\):\s*", "", text)
    return clip(text, 160)
