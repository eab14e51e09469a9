"""Redacted values on restore: a vault holds fingerprints, never secrets, and they are never sent (DESIGN.md "Secrets
never land", "Secrets by value too").

Two kinds: a whole `{"redacted": ...}` value, and a string holding `«redacted:...»` markers where its secret parts
were (a URL's password, a bearer token, a `client_secret=` parameter). Both are named alike in `restore_secrets`
(secret_names). A whole value gets the value of the environment variable named for it, else a replace keeps the
target's current value at the same place (the node of the same id), else it is left out. A string with markers
gets its secrets from restore_secrets (fill_embedded), else keeps the target's own when the target's string equals
it apart from the markers, else the restore refuses (MissingSecret): a string cannot be sent in part, and marker
text must never reach the target. The report lists each one and where its value came from, never the value.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from flowvault.errors import ConfigError, FlowvaultError, UsageError
from flowvault.masking import register
from flowvault.normalize.secret_shapes import MARKER, fill_markers, markers, match_markers, redacted_paths

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SK = "##SK##"  # the separator of a raw flow variable's name: name##SK##context##SK##<flow id>


class MissingSecret(UsageError):
    """A string to send holds redacted secrets that neither restore_secrets nor the target supplies: set the
    restore_secrets key the message names. Nothing was written."""


def supplied_secrets(source_name: str, settings, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """{secret name: value} from the environment variables that [sources.NAME] restore_secrets names."""

    out = {}
    for key, var in (getattr(settings, "restore_secrets", None) or {}).items():
        where = f"[sources.{source_name}] restore_secrets[{key!r}]"
        if not isinstance(var, str) or not ENV_NAME.fullmatch(var):
            raise ConfigError(f"{where} must name an environment variable (e.g. \"DV_PARTNER_API_KEY\"), "
                              "not hold a value")
        if not env.get(var):
            raise ConfigError(f"{where}: environment variable {var} is not set")
        register(env[var])
        out[str(key)] = env[var]
    return out


def scrub_secrets(raw: dict, current: dict | None, supplied: Mapping[str, str] | None = None) -> list[dict]:
    """Replace everything redacted in `raw`, whole values and markers inside strings alike: by what `supplied`
    (restore_secrets) gives for its name, else by the target's own value at the same place, else leave it out.
    Fingerprints and markers are never sent.

    Returns [{"path": "a/b/c", "outcome": ...}] for the result (never the values); an entry with "missing" (the
    restore_secrets key to set) is a string whose secrets could not be filled in: it is left out of `raw`, and
    the caller refuses to send it (missing_line).
    """
    supplied = supplied or {}
    report = []
    # Last path first, list indices compared as numbers: deleting item 10 must not shift item 9 (as "10" < "9" would).
    for path, kind in sorted(redacted_paths(raw), key=lambda pk: _path_order(pk[0]), reverse=True):
        _ok, parent = _get(raw, path[:-1])
        names = secret_names(raw, path)
        where = _node_path(raw, path, current)
        found, value = _get(current, where) if where is not None else (False, None)
        entry: dict[str, Any] = {"path": "/".join(str(p) for p in path)}
        if kind == "embedded":
            text = parent[path[-1]]
            filled, entry["outcome"], missing = fill_embedded(text, names, supplied, value if found else None)
            entry["markers"] = len(markers(text))
            if filled is None:
                del parent[path[-1]]
                entry["missing"] = missing
            else:
                parent[path[-1]] = filled
            report.append(entry)
            continue
        name = next((n for n in names if n in supplied), None)
        if name is not None:
            parent[path[-1]] = supplied[name]
            entry["outcome"] = f"from restore_secrets[{name!r}]"
        elif found and value is not None and not holds_redacted(value):
            parent[path[-1]] = copy.deepcopy(value)
            entry["outcome"] = "kept from the target"
        else:
            del parent[path[-1]]
            entry["outcome"] = "left out (not sent)"
        report.append(entry)
    report.reverse()
    # Last guard before anything is sent: a value kept from the target would bring back a marker only if the target
    # answered with one, which the API does not do.
    if holds_redacted(raw):  # pragma: no cover - the loop above removes every marker
        raise FlowvaultError("internal error: a redacted value would have been sent; nothing was written")
    return report


def fill_embedded(text: str, names: Sequence[str], supplied: Mapping[str, str],
                  current: Any) -> tuple[str | None, str, str | None]:
    """(the string to send for `text`, a string holding redaction markers, or None; the outcome for the report;
    the restore_secrets key to set when it is None).

    For each of `names` (most specific first), restore_secrets may give the whole string (equal to `text` apart
    from its markers), or, for a single marker, only the secret; any string also takes one key per marker,
    "<name>#1", "<name>#2", ... in the order the markers appear. Without those, the target's own `current` string
    is kept when it equals `text` apart from the markers (secret_shapes.match_markers); else None: nothing may be
    sent.
    """
    count = len(markers(text))
    for depth, name in enumerate(names):
        value = supplied.get(name)
        if value is not None:
            whole = match_markers(text, value)
            if whole is not None or count == 1:
                filled = fill_markers(text, [value] if whole is None else whole)
                return filled, f"from restore_secrets[{name!r}]", None
        # One key per marker, each the most specific one given: "<node id>/url#1" and "url#2" may be mixed.
        keys = [next((f"{n}#{i}" for n in names[depth:] if f"{n}#{i}" in supplied), None)
                for i in range(1, count + 1)]
        if all(keys):
            picked = [k for k in keys if k is not None]
            return (fill_markers(text, [supplied[k] for k in picked]),
                    f"from restore_secrets[{', '.join(repr(k) for k in picked)}]", None)
    if isinstance(current, str):
        kept = match_markers(text, current)
        if kept is not None and not any(MARKER.search(secret) for secret in kept):
            return current, "kept from the target (its secrets in place)", None
    key = names[0] if names else "?"
    return None, f"MISSING: set restore_secrets[{key!r}]", key


def missing_line(flow: str, entry: Mapping[str, Any], target: str) -> str:
    """The one line that refuses a restore for a string whose redacted secrets nothing supplies (`entry` is a
    scrub_secrets report entry with "missing")."""
    key, count = entry["missing"], entry.get("markers", 1)
    how = (f"restore_secrets[{key!r}]" if count == 1 else
           f"restore_secrets[{key!r}] (the whole value) or {key}#1 ... {key}#{count} (one per secret, in order)")
    return (f"{flow!r}: {entry['path']} holds {count} redacted secret(s) that {target} cannot keep (new there, or "
            f"its value differs apart from the secrets): set {how} in [sources.{target}] to the name of an "
            "environment variable holding it; nothing was written")


def holds_redacted(obj: Any) -> bool:
    """True when `obj` holds a {"redacted": ...} value or a «redacted» marker anywhere: what is never sent."""
    return next(redacted_paths(obj), None) is not None


def _path_order(path: tuple) -> list[tuple]:
    return [(0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path]


def secret_names(raw: dict, path: tuple) -> list[str]:
    """The names a `restore_secrets` key may give the redacted value at `path` of `raw`, most specific first.

    A node property: "<node id>/<property>", "<property>"; a variable: "<context>/<name>", "<name>"; anything else
    (a flow setting): its path, "settings/<key>/...".
    """
    if path[:3] == ("graphData", "elements", "nodes") and "properties" in path:
        prop = path[path.index("properties") + 1] if len(path) > path.index("properties") + 1 else None
        ok, node = _get(raw, path[:4])
        nid = (node.get("data") or {}).get("id") if ok and isinstance(node, dict) else None
        names = [n for n in (f"{nid}/{prop}" if nid else None, prop) if isinstance(n, str)]
        if names:
            return names
    elif path[:1] == ("variables",) and len(path) > 1:
        ok, var = _get(raw, path[:2])
        if ok and isinstance(var, dict) and isinstance(var.get("name"), str):
            parts = var["name"].split(SK)
            context = parts[1] if len(parts) > 1 else var.get("context")
            return [f"{context}/{parts[0]}", parts[0]]
    return ["/".join(str(p) for p in path)]


def _get(obj: Any, path: tuple) -> tuple[bool, Any]:
    """(True, the value at `path` of `obj`), or (False, None) when `path` leads nowhere."""
    for part in path:
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj):
            obj = obj[part]
        else:
            return False, None
    return True, obj


def _node_path(raw: dict, path: tuple, current: dict | None) -> tuple | None:
    """The path in `current` of the value at `path` in `raw`: nodes are found by id, everything else by place."""
    if current is None:
        return None
    if path[:3] == ("graphData", "elements", "nodes") and len(path) > 3:
        ok, node = _get(raw, path[:4])
        nid = (node.get("data") or {}).get("id") if ok and isinstance(node, dict) else None
        ok, nodes = _get(current, path[:3])
        for index, other in enumerate(nodes if ok and isinstance(nodes, list) else []):
            if nid is not None and isinstance(other, dict) and (other.get("data") or {}).get("id") == nid:
                return (*path[:3], index, *path[4:])
        return None
    if path[:1] == ("variables",) and len(path) > 1:
        # A flow's variables by name (base name and context; the suffix's flow id is the target's by now).
        ok, var = _get(raw, path[:2])
        name = var.get("name") if ok and isinstance(var, dict) else None
        ok, others = _get(current, path[:1])
        for index, other in enumerate(others if ok and isinstance(others, list) else []):
            if isinstance(name, str) and isinstance(other, dict) and _base(other.get("name")) == _base(name):
                return (path[0], index, *path[2:])
        return None
    return path


def _base(name: Any) -> tuple[str, ...] | None:
    """(base name, context) of a raw flow variable's `name##SK##context##SK##...`."""
    return tuple(name.split(SK)[:2]) if isinstance(name, str) else None
