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
    if isinstance(obj, (dict, list, tuple)):
        is_dict = isinstance(obj, dict)
        out = None
        for key, value in obj.items() if isinstance(obj, dict) else enumerate(obj):
            new = _plain(value)
            if new is not value and out is None:
                out = dict(obj) if is_dict else list(obj)
            if out is not None:
                out[key] = new
        return obj if out is None else out
    return obj


def dumps(obj: Any) -> str:
    """Return obj as canonical JSON: sorted keys, 2-space indent, UTF-8 text, integral floats as ints, final newline."""
    data = _fast(obj)
    return data.decode("utf-8") if data is not None else _reference(obj)


def dumpb(obj: Any) -> bytes:
    """dumps(obj) as UTF-8 bytes, the form files are written in (without a decode/encode round trip)."""
    data = _fast(obj)
    return data if data is not None else _reference(obj).encode("utf-8")


def _reference(obj: Any) -> str:
    """The definition of the canonical form: json.dumps of the plain value. Every other path must match it."""
    try:
        text = json.dumps(_plain(obj), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as e:  # NaN/Infinity have no JSON spelling
        raise ValueError(f"cannot write canonical JSON: {e}") from e
    return text + "\n"


# json.dumps(indent=2) is json's pure-Python encoder (CPython < 3.14 has no C one with indent): 0.34 s of CPU for the
# 300 files of a 100-flow backup, held under the GIL while 16 exports wait for it (issue 8). orjson writes the same
# bytes in C, 3.4x faster with the walk below, for the plain JSON values a parsed export holds. The walk makes
# floats exact: integral floats become ints (as _plain), the others orjson.Fragment(float repr) (orjson spells
# 1e+50 as 1e50). Anything else (another type or a subclass, a non-str key, an integer beyond 64 bits, NaN,
# nesting orjson refuses) returns None, and _reference answers: tests/normalize/test_canonical_fast.py checks
# that both give identical text.
_SCALARS = (str, int, bool, type(None))


class _Unusual(Exception):
    """A value the fast path leaves to _reference."""


def _fast(obj: Any) -> bytes | None:
    import orjson  # not at the top: `flowvault --help` and `diff` start without it

    try:
        return orjson.dumps(_exact(obj), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    except (_Unusual, TypeError, RecursionError):  # orjson.JSONEncodeError is a TypeError
        return None


def _exact(obj: Any) -> Any:
    """obj with floats made exact for orjson (see above); _Unusual for any value that is not plain JSON."""
    kind = type(obj)
    if kind is dict or kind is list or kind is tuple:
        out = None
        for key, value in obj.items() if kind is dict else enumerate(obj):
            if type(value) in _SCALARS:
                continue
            new = _exact(value)
            if new is not value:
                if out is None:
                    out = dict(obj) if kind is dict else list(obj)
                out[key] = new
        return obj if out is None else out
    if kind is float:
        if not math.isfinite(obj):
            raise _Unusual
        if obj.is_integer() and -_EXACT <= obj <= _EXACT:
            return int(obj)
        import orjson

        return orjson.Fragment(float.__repr__(obj).encode("ascii"))
    if kind in _SCALARS:
        return obj
    raise _Unusual


def loads(text: str | bytes) -> Any:
    """Parse JSON text: the value json.loads gives, through orjson (C, ~1.7x faster) where that is the same value.

    orjson reads an integer beyond 64 bits as a float (lossy) and refuses what json accepts (NaN, Infinity, a lone
    surrogate, a byte-order mark): a text with a run of 19+ digits, or one orjson refuses, goes to json.loads, whose
    answer (or error) is the reference."""
    import orjson

    probe = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if isinstance(probe, (bytes, bytearray)) and _DIGIT_RUN not in probe.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


# A run of 19 digits, found with C string functions (a regex took as long as the parse): every digit byte becomes
# "0", every other byte " ", and the run is a substring search. Runs inside strings (hex ids) match too: harmless.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_DIGIT_RUN = b"0" * 19


def content_hash(text_or_obj: Any) -> str:
    """Return "sha256:<hex>" of a text (as UTF-8), of bytes, or of an object's canonical JSON."""
    if isinstance(text_or_obj, bytes):
        data = text_or_obj
    elif isinstance(text_or_obj, str):
        data = text_or_obj.encode("utf-8")
    else:
        data = dumpb(text_or_obj)
    return "sha256:" + hashlib.sha256(data).hexdigest()
