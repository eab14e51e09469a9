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
        text = json.dumps(_plain(obj), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as e:  # NaN/Infinity have no JSON spelling
        raise ValueError(f"cannot write canonical JSON: {e}") from e
    return text + "\n"


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
