"""Secrets by their shape: where a string holds a credential, whatever the name of the field it sits in.

DESIGN.md "Secrets by value too"; docs/canonical-format.md "Redaction". `secret_spans(text)` finds the secret
parts of a string (bearer / basic credentials, URL user-info passwords, `client_secret=` / `"api_key": "..."`
parameters, JWTs, PEM private keys, the key formats of well-known services); the redactor (redact.py) puts a
marker in their place. A marker is `«redacted:hmac-sha256:<12 hex>»` (`«redacted»` without a key): guillemets,
because `{{...}}` is DaVinci's own reference syntax and `[...]`, `<...>` and `${...}` are everyday code and HTML.

The patterns are our own table, after those of Yelp's detect-secrets plugins (aws, github_token, gitlab_token,
slack, stripe, sendgrid, npm, pypi_token, square_oauth, private_key, jwt, basic_auth): its plugins yield secret
values, not where they sit, read global settings and import requests, and run line by line.
Cost (the backup's hot path): each kind has a gate of a few substring tests (_DETECTORS), so a string runs only
the patterns it can hold; the key formats are looked for only where _KNOWN_HINT, a regex whose branches start at
upper-case letters and punctuation, finds a place; and redact.Redactor caches the answer per string.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

MARKER = re.compile(r"«redacted(?::(hmac-sha256:[0-9a-f]{12}))?»")


def marker(fingerprint: str | None) -> str:
    """Return the text that stands for one secret inside a string: «redacted:<fingerprint>», or «redacted»."""
    return "«redacted»" if fingerprint is None else f"«redacted:{fingerprint}»"


# Names of fields, headers and parameters whose value is a credential, compared lower-case with "-" and "_" removed
# (X-API-Key, x_api_key and xapikey are one name). Used for {"key"/"name": <name>, "value": ...} list items; inside
# strings, name=value and "name": "value" pairs are found by how the name ends (_CORE below).
SECRET_NAMES = frozenset(
    {
        "authorization", "proxyauthorization", "cookie", "setcookie",
        "apikey", "xapikey", "xskapikey", "apisecret", "apitoken", "xauthtoken", "xaccesstoken",
        "clientsecret", "clientassertion", "secret", "secretkey", "privatekey", "awssecretaccesskey",
        "token", "accesstoken", "refreshtoken", "idtoken", "authtoken", "sessiontoken", "bearertoken",
        "password", "passwd", "pwd", "subscriptionkey", "ocpapimsubscriptionkey",
    }
)  # fmt: skip


def is_secret_name(name: Any) -> bool:
    """True when name is a header, field or parameter name that holds a credential (Authorization, X-API-Key, ...)."""
    return isinstance(name, str) and name.lower().replace("-", "").replace("_", "") in SECRET_NAMES


_B64URL = r"A-Za-z0-9_\-"
# One pattern per kind; group "s" is the secret. See _DETECTORS for which string runs which, and its check.
_PEM = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----(?P<s>.*?)(?:-----END \1PRIVATE KEY\2-----|\Z)",
    re.DOTALL,
)
# No edge checks: standard base64 (images) has no ".", so two dots never sit inside one.
_JWT = re.compile(rf"(?P<s>eyJ[{_B64URL}]{{8,}}\.[{_B64URL}]{{8,}}\.[{_B64URL}]*)")
# Zero-width (a lookahead around the whole match), so that one token running into the next "Bearer" does not hide
# the second from finditer; bearer/basic are matched in the lower-cased string.
_BEARER = re.compile(r"(?=bearer\s+(?P<s>[a-z0-9._~+/-]{8,}=*))")
_BASIC = re.compile(r"(?=basic\s+(?P<s>[a-z0-9+/]{6,}={0,2}))")
# An Authorization header written out ("Authorization: Bearer x", "-H 'authorization: basic x'"): whatever follows
# the scheme is the credential, however short (the bearer/basic shape checks are for prose without the header name).
_AUTH_HEADER = re.compile(r"(?=authorization[\"']?\s*:\s*[\"']?(?:bearer|basic|token|digest)\s+(?P<s>[^\s\"'\\,;«»]+))")
# curl's user option: `curl -u alice:password`, `--user alice:password`
_CURL_USER = re.compile(r"(?:^|\s)(?:-u|--user)[\s=]+[\"']?[^\s:\"']+:(?P<s>[^\s\"'«»]+)")
_USERINFO = re.compile(r"://[^\s/?#@:\"'<>«»]*:(?P<s>[^\s/?#@\"'<>«»{]+)@")
# What ends a name whose value is a credential, lower case: clientSecret, client_secret, userPassword, x-api-key,
# accessToken, proxy-authorization all end in one. Matched in the lower-cased string, so case costs nothing.
_CORE = (
    r"passw(?:or)?d|pwd|secret|token|api[-_]?key|secret[-_]?key|private[-_]?key|access[-_]?key"
    r"|subscription[-_]?key|authorization|cookie|assertion"
)
# name=value in a query string or a form body; the name must start after ?, & (also &amp;), a line start or a
# string start (_param_start): `let token=x` is code, not a parameter.
_PARAM = re.compile(rf"(?:{_CORE}|sig)=(?P<s>[^&\s#\"'<>«»;{{]+)")
# "name": "value" (JSON inside a string, a JS object), name = 'value' (code); quotes optional on the name, and
# backslash-escaped quotes of a JSON document held in a string.
_PAIR = re.compile(rf"(?:{_CORE})(?:\\?[\"'])?\s*[:=]\s*(?P<q>\\?[\"'])(?P<s>[^\"'\\\n«»]+)(?P=q)")
_KNOWN = re.compile(
    r"(?<![A-Za-z0-9_-])(?P<s>"
    r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9_]{36,}|github_pat_[A-Za-z0-9_]{22,}"  # GitHub
    r"|gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|xox[abposr]-(?:[0-9]+-)+[A-Za-z0-9]+"  # Slack token
    r"|hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+"  # Slack webhook
    r"|[rs]k_(?:live|test)_[0-9A-Za-z]{24,}"  # Stripe
    r"|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"  # SendGrid
    r"|npm_[A-Za-z0-9]{36}"  # npm
    r"|pypi-AgE[A-Za-z0-9_-]{70,}"  # PyPI
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|sq0(?:atp|csp)-[0-9A-Za-z_-]{22,}"  # Square
    r"|sk-(?:proj-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}"  # OpenAI
    r")"
)
# Where a key of _KNOWN may sit: each branch starts with an upper-case letter or a punctuation mark and checks the
# lower-case head behind it, so the regex engine skips most of a string in C. A hit is confirmed by _KNOWN.
_KNOWN_HINT = re.compile(
    r"A3T|AKIA|ASIA|ABIA|ACCA|AIza|SG\.|T3BlbkFJ|\.slack\.com/services/"
    r"|_(?:(?<=gh[pousr]_)|(?<=github_pat_)|(?<=k_live_)|(?<=k_test_)|(?<=npm_))"
    r"|-(?:(?<=xox[abposr]-)|(?<=pypi-)|(?<=sq0atp-)|(?<=sq0csp-)|(?<=glpat-)|(?<=gldt-)|(?<=glrt-))"
)
_AZURE = re.compile(r"AccountKey=(?P<s>[A-Za-z0-9+/]{86}==)")

_NOT_A_VALUE = frozenset({"true", "false", "null", "none", "undefined"})


def _literal(text: str) -> bool:
    """False for a value that points at other data ({{...}}, ${...}) or is a flag: no secret to hide."""
    return "{{" not in text and "${" not in text and "«" not in text and text.strip().lower() not in _NOT_A_VALUE


def _bearer(text: str) -> bool:
    # "Bearer authentication" is prose; a token has a digit, or is long (API docs wording stays short).
    return _literal(text) and (any(c.isdigit() for c in text) or len(text) >= 24)


def _basic(text: str) -> bool:
    # base64("user:password"): "Basic information" does not decode to a pair.
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in raw


def _pair(text: str) -> bool:
    # The value of "password": "Password" in a form's labels is prose: a secret has no space inside it.
    return _literal(text) and " " not in text.strip()


_NAME_HINTS = ("passw", "pwd", "secret", "token", "key", "authoriz", "cookie", "assertion", "sig=")


def _names(low: str) -> bool:
    return any(hint in low for hint in _NAME_HINTS)


def _known(text: str) -> Iterator[re.Match]:
    """The _KNOWN matches of text, looked for only around the places _KNOWN_HINT finds."""
    after = 0
    for hint in _KNOWN_HINT.finditer(text):
        if hint.start() < after:
            continue
        m = _KNOWN.search(text, max(after, hint.start() - 64), hint.end() + 2048)
        if m is not None and m.start() <= hint.start():
            after = m.end()
            yield m


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def _param_start(low: str, at: int) -> bool:
    """True when the parameter name that ends at `at` starts a query or form parameter (after ?, &, ; or a line
    start), not an assignment in code."""
    while at > 0 and low[at - 1] in _NAME_CHARS:
        at -= 1
    return at == 0 or low[at - 1] in "?&;\n"


# (pattern, run on the lower-cased string?, gate: a few substring tests saying whether the string can hold this kind
# at all, check of the found secret or None). Case-insensitive kinds run on the lower-cased string, whose spans are
# the original's (lower() keeps the length of all but a few characters; see secret_spans).
_DETECTORS: tuple = (
    (_PEM, False, lambda s, low: "-----BEGIN" in s, lambda v: bool(v.strip())),
    (_JWT, False, lambda s, low: "eyJ" in s, None),
    (_BEARER, True, lambda s, low: "bearer" in low, _bearer),
    (_BASIC, True, lambda s, low: "basic" in low, _basic),
    (_AUTH_HEADER, True, lambda s, low: "authorization" in low, _literal),
    (_CURL_USER, False, lambda s, low: "-u" in s, _literal),
    (_USERINFO, False, lambda s, low: "://" in s and "@" in s, _literal),
    (_PARAM, True, lambda s, low: "=" in s and _names(low), _literal),
    (_PAIR, True, lambda s, low: ("'" in s or '"' in s) and _names(low), _pair),
    (_KNOWN, False, lambda s, low: len(s) >= 20, None),
    (_AZURE, False, lambda s, low: "AccountKey=" in s, None),
)


def secret_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) spans of `text` that are secrets by their shape, sorted, overlaps merged."""
    if len(text) < 6:
        return []
    low = text.lower()
    if len(low) != len(text):  # "İ" lowers to two characters: match case-insensitively in the text itself
        low = _ascii_lower(text)
    spans = []
    for pattern, lowered, gate, check in _DETECTORS:
        if not gate(text, low):
            continue
        for m in _known(text) if pattern is _KNOWN else pattern.finditer(low if lowered else text):
            start, end = m.span("s")
            if pattern is _PARAM and not _param_start(low, m.start()):
                continue
            if start == end or "«" in text[start:end]:  # a marker already: re-normalizing leaves it as it is
                continue
            if check is None or check(text[start:end]):
                spans.append((start, end))
    if not spans:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(end, last_end))
        else:
            merged.append((start, end))
    return merged


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def replace_spans(text: str, spans: Sequence[tuple[int, int]], stand_in: Callable[[str], str]) -> str:
    """Return text with each span replaced by stand_in(the span's text)."""
    parts = []
    at = 0
    for start, end in spans:
        parts.append(text[at:start])
        parts.append(stand_in(text[start:end]))
        at = end
    parts.append(text[at:])
    return "".join(parts)


# --- finding what was redacted (restore) ----------------------------------------------------------------------


def is_redacted_value(value: Any) -> bool:
    """True for a whole redacted value: a dict whose only key is "redacted"."""
    return isinstance(value, dict) and len(value) == 1 and "redacted" in value


def redacted_paths(obj: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Yield (path, kind) for everything redacted in obj: kind "value" for a {"redacted": ...} object at path,
    "embedded" for a string at path that holds one or more «redacted...» markers.

    Paths are tuples of dict keys and list indexes, as restore_secrets uses them; in document order.
    """
    if is_redacted_value(obj):
        yield path, "value"
    elif isinstance(obj, str):
        if "«redacted" in obj and MARKER.search(obj):
            yield path, "embedded"
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from redacted_paths(value, (*path, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from redacted_paths(value, (*path, index))


def markers(text: str) -> list[str | None]:
    """Return the fingerprints of the markers in text, in order (None for an unkeyed «redacted»)."""
    return [m.group(1) for m in MARKER.finditer(text)]


def fill_markers(text: str, secrets: Sequence[str]) -> str:
    """Return text with its markers replaced, in order, by secrets (one per marker)."""
    found = list(MARKER.finditer(text))
    if len(found) != len(secrets):
        raise ValueError(f"{len(found)} redaction markers, {len(secrets)} values given")
    values = iter(secrets)
    return replace_spans(text, [m.span() for m in found], lambda _: next(values))


def match_markers(text: str, current: str) -> list[str] | None:
    """Return the secrets that `current` (the target's value) holds where `text` has markers, when the two
    strings are equal outside the markers; else None. A restore can keep the target's secrets this way."""
    pattern = "".join("(.+?)" if i % 2 else re.escape(part) for i, part in enumerate(_split_markers(text)))
    m = re.fullmatch(pattern, current, re.DOTALL)
    return list(m.groups()) if m else None


def _split_markers(text: str) -> list[str]:
    """[text, marker, text, marker, ..., text]."""
    out = []
    at = 0
    for m in MARKER.finditer(text):
        out += [text[at : m.start()], m.group(0)]
        at = m.end()
    out.append(text[at:])
    return out
