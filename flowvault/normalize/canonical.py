"""Canonical JSON: the one byte form every snapshot file is written in (docs/canonical-format.md)."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

# Integral floats inside this range convert to int exactly; beyond it (1e+50, the cytoscape maxZoom) the
# int spelling would be a 51-digit literal, so the float's repr is kept.
_EXACT = 2**53


def _plain(obj: Any) -> Any:
    """Return obj with integral floats turned into ints; containers are rebuilt only when something changed."""
    if isinstance(obj, float):
        if math.isfinite(obj) and obj.is_integer() and -_EXACT <= obj <= _EXACT:
            return int(obj)
        return obj
    if isinstance(obj, dict):
        out = None
        for key, value in obj.items():
            new = _plain(value)
            if new is not value and out is None:
                out = dict(obj)
            if out is not None:
                out[key] = new
        return obj if out is None else out
    if isinstance(obj, (list, tuple)):
        out_list = None
        for index, value in enumerate(obj):
            new = _plain(value)
            if new is not value and out_list is None:
                out_list = list(obj)
            if out_list is not None:
                out_list[index] = new
        return obj if out_list is None else out_list
    return obj


def dumps(obj: Any) -> str:
    """Return obj as canonical JSON: sorted keys, 2-space indent, UTF-8 text, integral floats as ints, final newline."""
    try:
        return _fast_dumps(obj) + "\n"
    except _Unusual:
        pass
    try:
        text = json.dumps(_plain(obj), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as e:  # NaN/Infinity have no JSON spelling
        raise ValueError(f"cannot write canonical JSON: {e}") from e
    return text + "\n"


# json.dumps(indent=2) is json's pure-Python encoder (CPython < 3.14 has no C one with indent): 0.8 s of CPU in a
# 100-flow backup (benchmarks/README.md, issue 8). _fast_dumps writes the same bytes about twice as fast, for the
# plain JSON values a parsed export holds (exactly dict, list, tuple, str, int, float, bool, None; str keys),
# with json's own C string escaper and the reprs json uses. Anything else (another type or a subclass, a
# non-str key, NaN/Infinity, very deep nesting) raises _Unusual and goes through json.dumps above, which stays the
# reference: tests/normalize/test_canonical_fast.py checks that both give identical text.
_encode_str = json.encoder.encode_basestring  # the C function when _json is available (ensure_ascii=False)
_MAX_DEPTH = 400  # below the recursion limit; deeper documents (or cycles) are json.dumps' to report


class _Unusual(Exception):
    """A value _fast_dumps leaves to json.dumps."""


def _number(value: float) -> str:
    if not math.isfinite(value):
        raise _Unusual
    if value.is_integer() and -_EXACT <= value <= _EXACT:
        return int.__repr__(int(value))  # as _plain would make it
    return float.__repr__(value)


def _fast_dumps(obj: Any) -> str:
    parts: list[str] = []
    append, esc, int_repr = parts.append, _encode_str, int.__repr__

    def scalar(value: Any, kind: type) -> str:
        if kind is int:
            return int_repr(value)
        if kind is bool:
            return "true" if value else "false"
        if value is None:
            return "null"
        if kind is float:
            return _number(value)
        raise _Unusual

    def container(value: Any, newline: str, depth: int) -> None:
        kind = type(value)
        if kind is dict:
            if not value:
                append("{}")
                return
            inner = newline + "  "
            sep = "{" + inner
            try:
                keys = sorted(value)
            except TypeError:  # keys of mixed types: json.dumps says so
                raise _Unusual from None
            for key in keys:
                if type(key) is not str:
                    raise _Unusual
                item = value[key]
                item_kind = type(item)
                if item_kind is str:
                    append(sep + esc(key) + ": " + esc(item))
                elif item_kind is dict or item_kind is list or item_kind is tuple:
                    if depth >= _MAX_DEPTH:
                        raise _Unusual
                    append(sep + esc(key) + ": ")
                    container(item, inner, depth + 1)
                else:
                    append(sep + esc(key) + ": " + scalar(item, item_kind))
                sep = "," + inner
            append(newline + "}")
        else:  # list or tuple
            if not value:
                append("[]")
                return
            inner = newline + "  "
            sep = "[" + inner
            for item in value:
                item_kind = type(item)
                if item_kind is str:
                    append(sep + esc(item))
                elif item_kind is dict or item_kind is list or item_kind is tuple:
                    if depth >= _MAX_DEPTH:
                        raise _Unusual
                    append(sep)
                    container(item, inner, depth + 1)
                else:
                    append(sep + scalar(item, item_kind))
                sep = "," + inner
            append(newline + "]")

    kind = type(obj)
    if kind is dict or kind is list or kind is tuple:
        container(obj, "\n", 0)
    elif kind is str:
        append(esc(obj))
    else:
        append(scalar(obj, kind))
    return "".join(parts)


def loads(text: str | bytes) -> Any:
    """Parse JSON text (plain json.loads)."""
    return json.loads(text)


def content_hash(text_or_obj: Any) -> str:
    """Return "sha256:<hex>" of a text (as UTF-8), of bytes, or of an object's canonical JSON."""
    if isinstance(text_or_obj, bytes):
        data = text_or_obj
    elif isinstance(text_or_obj, str):
        data = text_or_obj.encode("utf-8")
    else:
        data = dumps(text_or_obj).encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()
