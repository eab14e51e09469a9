"""Secret redaction: keyed fingerprints, so a review sees that a secret changed without seeing it.

DESIGN.md "Secrets never land"; docs/canonical-format.md "Redaction". A fingerprint is
HMAC-SHA256(key, utf8(secret)) cut to 12 hex digits: it changes only when the secret or the key does.
Without a key the value is replaced by {"redacted": true}: an unkeyed hash of a short secret can be brute-forced.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flowvault.errors import ConfigError
from flowvault.normalize.secret_shapes import is_secret_name, marker, replace_spans, secret_spans

ENV_KEY = "FLOWVAULT_REDACT_KEY"
DEFAULT_PATTERNS = (
    "*secret*",
    "*password*",
    "*apikey*",
    "*api_key*",
    "*token*",
    "*credential*",
    "*privatekey*",
)

# A DaVinci value that only points at other data ({{local.<node>.payload.output.password}}, a Slate "link" chip,
# a boolean flag such as returnUserPasswordStatus or passwordlessAuth = "true") carries no secret; redacting it
# would hide config from review for nothing (davinci-api.md §2.8: the public corpus holds only such references).
_REFERENCE = re.compile(r"\{\{.*?\}\}", re.S)
_NOT_SECRET_WORDS = frozenset({"", "true", "false", "null", "none", "undefined"})


def _slate_literal_text(nodes: Any, out: list[str]) -> None:
    """Collect the text a Slate document holds literally (outside variable/reference chips)."""
    if isinstance(nodes, list):
        for node in nodes:
            _slate_literal_text(node, out)
    elif isinstance(nodes, dict):
        if nodes.get("type") == "link":
            return
        text = nodes.get("text")
        if isinstance(text, str):
            out.append(text)
        _slate_literal_text(nodes.get("children"), out)


def is_literal_secret(value: Any) -> bool:
    """True when value is a non-empty string holding literal text, not just references or a boolean flag."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if text.startswith("[") and '"children"' in text:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            parts: list[str] = []
            _slate_literal_text(parsed, parts)
            text = "".join(parts)
    text = _REFERENCE.sub("", text).strip()
    return text.lower() not in _NOT_SECRET_WORDS


class Redactor:
    """Replaces secret values by {"redacted": ...} and remembers whether any went out without a key."""

    def __init__(self, key: bytes | None, patterns: Iterable[str] | None = None) -> None:
        self.key = key or None
        pats = DEFAULT_PATTERNS if patterns is None else tuple(patterns)
        self.patterns = tuple(p.lower() for p in pats)
        # One regex for all patterns, and the answer per name remembered: names repeat across nodes and flows
        # (280k keys in 100 exports, a few thousand distinct), and fnmatch per pattern per key was 1.2 s of a backup.
        self._regex = re.compile("|".join(fnmatch.translate(p) for p in self.patterns)) if self.patterns else None
        self._seen: dict[str, bool] = {}
        # The answer of the value scan per string (None: no secret in it). Flows share most of their strings (Slate
        # boilerplate, node templates, the same subflow in many exports), so each is scanned once per process.
        self._scanned: dict[str, Any] = {}
        self._scanned_chars = 0

    @classmethod
    def from_environment(cls, extra_patterns: Iterable[str] = (),
                         key_file: str | os.PathLike | None = None) -> Redactor:
        """Return a Redactor keyed from $FLOWVAULT_REDACT_KEY, else from key_file, else unkeyed;
        patterns = defaults + extra."""
        patterns = DEFAULT_PATTERNS + tuple(extra_patterns)
        env = os.environ.get(ENV_KEY)
        if env:
            return cls(env.encode("utf-8"), patterns)
        if key_file is not None:
            try:
                key = Path(key_file).expanduser().read_bytes().strip()
            except OSError as e:
                raise ConfigError(f"redact key file {key_file}: {e.strerror or e}; create it or unset it") from e
            if not key:
                raise ConfigError(f"redact key file {key_file} is empty; put a random secret in it")
            return cls(key, patterns)
        return cls(None, patterns)

    def __reduce__(self):
        # Sent to a worker process (flowvault.backup.workers) as its key and patterns; the worker keeps one Redactor per
        # pair, so its cache of names survives from one export to the next.
        return _shared, (self.key, self.patterns)

    @property
    def keyed(self) -> bool:
        """True when fingerprints are produced (a key is set)."""
        return self.key is not None

    def matches(self, name: Any) -> bool:
        """True when name (a variable, property or field name) matches a redact pattern, case-insensitively."""
        if not isinstance(name, str):
            return False
        hit = self._seen.get(name)
        if hit is None:
            hit = self._regex is not None and self._regex.match(name.lower()) is not None
            if len(self._seen) >= 65536:  # bounded: a hostile export with endless distinct names
                self._seen.clear()
            self._seen[name] = hit
        return hit

    def fingerprint(self, raw: Any) -> str | None:
        """Return "hmac-sha256:<12 hex>" for one secret value, or None without a key."""
        if self.key is None:
            return None
        data = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, ensure_ascii=False)
        return "hmac-sha256:" + hmac.new(self.key, data.encode("utf-8"), hashlib.sha256).hexdigest()[:12]

    def value(self, raw: Any) -> dict:
        """Return the stand-in for one secret value."""
        fingerprint = self.fingerprint(raw)
        return {"redacted": True if fingerprint is None else fingerprint}

    def redact_string(self, text: str) -> Any:
        """Return text with the secrets it holds by their shape (secret_shapes) replaced by markers
        «redacted:hmac-sha256:<12 hex>», or the redacted object when the whole string is one secret; text itself
        when it holds none."""
        done = self._scanned.get(text, self)  # self: not seen yet; None: seen, holds no secret
        if done is self:
            spans = secret_spans(text)
            if not spans:
                done = None
            elif len(spans) == 1 and not text[: spans[0][0]].strip() and not text[spans[0][1] :].strip():
                done = self.value(text[spans[0][0] : spans[0][1]])
            else:
                done = replace_spans(text, spans, lambda secret: marker(self.fingerprint(secret)))
            if self._scanned_chars > 8_000_000 or len(self._scanned) >= 65536:  # bounded, like _seen
                self._scanned.clear()
                self._scanned_chars = 0
            self._scanned[text] = done
            self._scanned_chars += len(text)
        if done is None:
            return text
        return dict(done) if isinstance(done, dict) else done

    def redact_inline(self, text: str) -> str:
        """Return text with the secrets it holds by their shape replaced by markers, always as text (never the
        redacted object): for a value that must stay a string, such as XML text or an attribute."""
        spans = secret_spans(text)
        return replace_spans(text, spans, lambda secret: marker(self.fingerprint(secret))) if spans else text

    @staticmethod
    def names_secret(item: dict) -> bool:
        """True when item is a {"key" or "name": <n>, "value": ...} pair whose n names a credential (an
        Authorization or X-API-Key header, a client_secret parameter: secret_shapes.SECRET_NAMES).

        Not the redact patterns: {"key": "noPassword", "value": "Invalid username or password"} is a message."""
        return is_secret_name(item.get("key")) or is_secret_name(item.get("name"))

    def redact_tree(self, obj: Any, path: tuple = (), found: list | None = None) -> Any:
        """Return obj with its secrets redacted (copy on write): by name and by shape.

        By name: a pattern-matching key's value when it is a literal string, or a {"value": <literal string>}
        wrapper (DaVinci node properties). By shape (redact_values): every other string. Paths of what was
        redacted are appended to found.
        """
        if not isinstance(obj, (dict, list)):
            return obj
        return self._redact(obj, (path, _ROOT), found, True)

    def redact_values(self, obj: Any, path: tuple = (), found: list | None = None) -> Any:
        """Return obj with the secrets its strings hold by their shape redacted (copy on write), whatever their
        names; and the values of {"key"/"name": <secret name>, "value": ...} list items. Paths go to found."""
        if isinstance(obj, str):
            new = self.redact_string(obj)
            if new is not obj and found is not None:
                found.append(list(path))
            return new
        if not isinstance(obj, (dict, list)):
            return obj
        return self._redact(obj, (path, _ROOT), found, False)

    def _redact(self, obj: dict | list, where: tuple, found: list | None, by_name: bool, pair: bool = False) -> Any:
        # Every key of every node's properties passes here (~90k per 100 flows), so the walk stays lean: the name
        # check is the cached dict lookup of `matches`, a string's scan is cached by redact_string, and a
        # container's path is a (parent, key) link turned into a list only for what is redacted (issue 8).
        seen = self._seen
        if isinstance(obj, dict):
            if len(obj) == 1 and "redacted" in obj:
                return obj
            out = None
            for key, value in obj.items():
                new = value
                if by_name:
                    hit = seen.get(key) if isinstance(key, str) else False
                    if hit is None:
                        hit = self.matches(key)
                    if hit:
                        if is_literal_secret(value):
                            new = self.value(value)
                            if found is not None:
                                found.append(_path(where, key))
                        elif isinstance(value, dict) and is_literal_secret(value.get("value")):
                            new = dict(value)
                            new["value"] = self.value(value["value"])
                            if found is not None:
                                found.append([*_path(where, key), "value"])
                if new is value:
                    if isinstance(value, str):
                        if pair and key == "value" and is_literal_secret(value):
                            new = self.value(value)  # {"key": "Authorization", "value": "Bearer ..."}
                        elif len(value) >= 6:
                            new = self.redact_string(value)
                        if new is not value and found is not None:
                            found.append(_path(where, key))
                    elif isinstance(value, (dict, list)):
                        new = self._redact(value, (where, key), found, by_name)
                if new is not value:
                    if out is None:
                        out = dict(obj)
                    out[key] = new
            return obj if out is None else out
        out_list = None
        for index, value in enumerate(obj):
            new = value
            if isinstance(value, dict):
                new = self._redact(value, (where, index), found, by_name,
                                   "value" in value and Redactor.names_secret(value))
            elif isinstance(value, list):
                new = self._redact(value, (where, index), found, by_name)
            elif isinstance(value, str) and len(value) >= 6:
                new = self.redact_string(value)
                if new is not value and found is not None:
                    found.append(_path(where, index))
            if new is not value:
                if out_list is None:
                    out_list = list(obj)
                out_list[index] = new
        return obj if out_list is None else out_list


_SHARED: dict[tuple, Redactor] = {}


def _shared(key: bytes | None, patterns: tuple[str, ...]) -> Redactor:
    """This process's Redactor for (key, patterns), made once: how a pickled Redactor comes back to life."""
    found = _SHARED.get((key, patterns))
    if found is None:
        found = _SHARED[(key, patterns)] = Redactor(key, patterns)
    return found


_ROOT = object()  # the key of the first link of a path chain (see Redactor._redact)


def _path(where: tuple, key: Any) -> list:
    """[*root path, k1, k2, ..., key]: the path that `where`, a chain of (parent, key) links ending in
    (root path, _ROOT), leads to."""
    keys = [key]
    while where[1] is not _ROOT:
        where, step = where
        keys.append(step)
    return [*where[0], *reversed(keys)]


def _set_secret(container: dict, key: str, redactor: Redactor) -> dict:
    value = container.get(key)
    if value is None or value == "" or isinstance(value, dict) and "redacted" in value:
        return container
    out = dict(container)
    out[key] = redactor.value(value)
    return out


def redact_application(app: dict, redactor: Redactor) -> dict:
    """Return a DaVinci application with its API keys and client secrets redacted (new and legacy shapes).

    New API: apiKey.value, oauth.clientSecret (davinci-api.md §2.8); legacy: apiKeys.{prod,test,...},
    oauth.values.clientSecret; plus any pattern-matching field (flow policies embedded in the app included).
    """
    out = dict(app)
    if isinstance(out.get("apiKey"), dict):
        out["apiKey"] = _set_secret(out["apiKey"], "value", redactor)
    if isinstance(out.get("apiKeys"), dict):
        keys = dict(out["apiKeys"])
        for name in keys:
            keys = _set_secret(keys, name, redactor)
        out["apiKeys"] = keys
    oauth = out.get("oauth")
    if isinstance(oauth, dict):
        oauth = _set_secret(oauth, "clientSecret", redactor)
        if isinstance(oauth.get("values"), dict):
            oauth = dict(oauth)
            oauth["values"] = _set_secret(oauth["values"], "clientSecret", redactor)
        out["oauth"] = oauth
    return redactor.redact_tree(out)


def redact_flow_policy(policy: dict, redactor: Redactor) -> dict:
    """Return a flow policy with pattern-matching literal values redacted."""
    return redactor.redact_tree(policy)
