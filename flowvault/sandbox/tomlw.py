"""A minimal TOML writer for --write-config (tables of strings, numbers, booleans, lists and inline tables)."""

from __future__ import annotations

import json
import re
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps(doc: dict[str, Any]) -> str:
    """TOML text for `doc`: a top-level dict of dicts becomes [name.sub] tables, another dict a [name] table;
    dicts below that are written inline (`input = { userId = "x" }`)."""
    out: list[str] = []
    for name, table in doc.items():
        if not isinstance(table, dict):
            out.append(f"{_key(name)} = {_value(table)}\n\n")
        elif table and all(isinstance(v, dict) for v in table.values()):
            for sub, subtable in table.items():
                out.append(f"[{_key(name)}.{_key(sub)}]\n" + _body(subtable) + "\n")
        else:
            out.append(f"[{_key(name)}]\n" + _body(table) + "\n")
    return "".join(out).rstrip("\n") + "\n"


def _body(table: dict[str, Any]) -> str:
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in table.items() if v is not None)
