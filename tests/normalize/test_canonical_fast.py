"""canonical.dumps' fast writer (orjson) gives exactly json.dumps' bytes (the reference), or hands the value to
json.dumps."""

from __future__ import annotations

import enum
import json
import math
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowvault import canonical


def reference(obj) -> str:
    """What canonical.dumps wrote before the fast path: the pure-Python json encoder."""
    try:
        text = json.dumps(canonical._plain(obj), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as e:
        raise ValueError(f"cannot write canonical JSON: {e}") from e
    return text + "\n"


keys = st.text(max_size=6) | st.sampled_from(["a", "A", "é", "\u2028", "\x00", "\ud800", "_links", "10", "9"])
floats = st.floats() | st.sampled_from([1e50, -1e16, 1e16, 2.0**53, 2.0**53 + 2, 1e-7, -0.0, 0.1, 330.0, 1e308])
scalars = (st.none() | st.booleans() | st.integers() | floats | st.text(max_size=8)
           | st.sampled_from(["\ud83d", "\x7f", "\u00e9", "\\", '"', "\n\t"]))
values = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.tuples(c, c)
                      | st.dictionaries(keys, c, max_size=4), max_leaves=25)


def outcome(fn, value):
    try:
        return "ok", fn(value)
    except (ValueError, TypeError) as e:
        return type(e).__name__, str(e)


@settings(max_examples=600)
@given(values)
def test_fast_writer_matches_json_dumps(value):
    expected = outcome(reference, value)
    assert outcome(canonical.dumps, value) == expected
    if expected[0] == "ok" and "\ud800" not in expected[1] and "\ud83d" not in expected[1]:
        assert canonical.dumpb(value) == expected[1].encode("utf-8")


class Colour(enum.IntEnum):
    RED = 1


class Name(str):
    pass


class Plain(enum.Enum):  # orjson would write its value; json.dumps refuses it, and so must dumps
    A = 1


@pytest.mark.parametrize("value", [
    {1: "int key"}, {None: 1, "a": 2}, {"a": Colour.RED}, {"a": Plain.A}, {"big": 1 << 70, "small": -(1 << 64)},
    {"exp": [1e50, 1e-7, 1e16, 2.0**53 + 2, 5e-324]}, {"a": Name("x")}, OrderedDict(b=1, a=2), [math.nan],
    {"x": math.inf}, {"a": {1.5: True}}, {"k": b"bytes"}, {"a": {"b": [{"c": []}, {}]}}, "top", 1.0, None,
    json.loads("[" * 30 + '"deep"' + "]" * 30),
])
def test_unusual_values_give_json_dumps_answer(value):
    assert outcome(canonical.dumps, value) == outcome(reference, value)


def test_deep_nesting_and_cycles_fall_back_to_json_dumps():
    deep: list = []
    node = deep
    for _ in range(600):
        node.append([])
        node = node[0]
    assert canonical.dumps(deep) == reference(deep)
    cyclic: dict = {}
    cyclic["self"] = {"again": [cyclic]}
    with pytest.raises(RecursionError):  # as before the fast writer: _plain recurses first
        canonical.dumps(cyclic)


def parsed(loads, text):
    """What `loads` makes of `text`: the value's repr and types, or the error's type."""
    try:
        value = loads(text)
    except ValueError as e:
        return "error", type(e).__name__
    return "ok", repr(value), [type(v).__name__ for v in (value if isinstance(value, list) else [value])]


@settings(max_examples=400)
@given(values)
def test_loads_gives_json_loads_value(value):
    for ascii_only in (True, False):
        text = json.dumps(value, allow_nan=True, ensure_ascii=ascii_only)
        raw = text.encode("utf-8", "surrogatepass")
        assert parsed(canonical.loads, text) == parsed(json.loads, text)
        assert parsed(canonical.loads, raw) == parsed(json.loads, raw)


@pytest.mark.parametrize("text", [
    "123456789012345678901234567890", "[18446744073709551616, -9223372036854775809]", "NaN", "[Infinity]", "1e400",
    '"\\ud800"', "\ufeff{}", b"\xef\xbb\xbf{}", '{"a": 1, "a": 2}', "-0", "-0.0", "", "{", "[1,]", b"\xff",
])
def test_loads_edge_cases_answer_as_json_loads(text):
    assert parsed(canonical.loads, text) == parsed(json.loads, text)
