"""Redacted values on restore: a vault holds `{"redacted": ...}` fingerprints, never secrets, and they are never sent.

A redacted value gets the value of the environment variable that the target's `restore_secrets` names for it, else a
replace keeps the target's current value at the same place (the node of the same id), else it is left out. The
report lists each one and where its value came from, never the value.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from flowvault.errors import ConfigError, FlowvaultError

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def supplied_secrets(source_name: str, settings, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """{secret name: value} from the environment variables that [sources.NAME] restore_secrets names."""
    from flowvault.masking import register

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
    """Replace each redacted marker of `raw`: by a value `supplied` for its name (restore_secrets), else by the
    target's value at the same place, else leave it out. Fingerprints are never sent.

    Returns [{"path": "a/b/c", "outcome": ...}] for the result (never the values).
    """
    supplied = supplied or {}
    report = []
    # Last path first, list indices compared as numbers: deleting item 10 must not shift item 9 (as "10" < "9" would).
    for path in sorted(_walk_redacted(raw), key=_path_order, reverse=True):
        _ok, parent = _get(raw, path[:-1])
        name = next((n for n in secret_names(raw, path) if n in supplied), None)
        where = _node_path(raw, path, current)
        found, value = _get(current, where) if where is not None else (False, None)
        if name is not None:
            parent[path[-1]] = supplied[name]
            outcome = f"from restore_secrets[{name!r}]"
        elif found and not _is_redacted(value) and value is not None:
            parent[path[-1]] = copy.deepcopy(value)
            outcome = "kept from the target"
        else:
            del parent[path[-1]]
            outcome = "left out (not sent)"
        report.append({"path": "/".join(str(p) for p in path), "outcome": outcome})
    report.reverse()
    # Last guard before anything is sent: a value kept from the target would bring back a marker only if the target
    # answered with one, which the API does not do.
    if any(True for _ in _walk_redacted(raw)):  # pragma: no cover - the loop above removes every marker
        raise FlowvaultError("internal error: a redacted value would have been sent; nothing was written")
    return report


def _path_order(path: tuple) -> list[tuple]:
    return [(0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path]


def secret_names(raw: dict, path: tuple) -> list[str]:
    """The names a `restore_secrets` key may give the redacted value at `path` of `raw`, most specific first.

    A node property: "<node id>/<property>", "<property>"; a variable: "<context>/<name>", "<name>".
    """
    if path[:3] == ("graphData", "elements", "nodes") and "properties" in path:
        prop = path[path.index("properties") + 1] if len(path) > path.index("properties") + 1 else None
        ok, node = _get(raw, path[:4])
        nid = (node.get("data") or {}).get("id") if ok and isinstance(node, dict) else None
        return [n for n in (f"{nid}/{prop}" if nid else None, prop) if isinstance(n, str)]
    if path[:1] == ("variables",) and len(path) > 1:
        ok, var = _get(raw, path[:2])
        if ok and isinstance(var, dict) and isinstance(var.get("name"), str):
            parts = var["name"].split("##SK##")
            context = parts[1] if len(parts) > 1 else var.get("context")
            return [f"{context}/{parts[0]}", parts[0]]
    return []


def _is_redacted(value: Any) -> bool:
    """True for a redaction marker: a dict whose only key is "redacted"."""
    return isinstance(value, dict) and set(value) == {"redacted"}


def _walk_redacted(obj: Any, path: tuple = ()) -> Iterator[tuple]:
    """Yields the path (keys and list indexes) of every redaction marker in `obj`."""
    if _is_redacted(obj):
        yield path
    elif isinstance(obj, dict):
        for k, v in list(obj.items()):
            yield from _walk_redacted(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk_redacted(v, (*path, i))


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
    return path
