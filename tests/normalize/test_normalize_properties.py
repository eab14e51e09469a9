"""Property tests: canonical JSON round-trips; normalize is lossless and idempotent on generated flows."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flowvault import canonical
from flowvault.normalize import davinci

keys = st.text(min_size=1, max_size=8)
scalars = (st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=10))
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(keys, c, max_size=3),
                           max_leaves=10)


@given(json_values)
def test_canonical_round_trip(value):
    text = canonical.dumps(value)
    assert text.endswith("\n")
    back = canonical.loads(text)
    assert back == value  # 330.0 comes back as 330, which is equal
    assert canonical.dumps(back) == text


def test_canonical_specifics():
    assert canonical.dumps({"b": 330.0, "a": [1e50, 0.5, "é"]}) == (
        '{\n  "a": [\n    1e+50,\n    0.5,\n    "é"\n  ],\n  "b": 330\n}\n'
    )
    assert canonical.content_hash("x") == canonical.content_hash(b"x") != canonical.content_hash({"x": 1})
    assert canonical.content_hash({"a": 1.0}) == canonical.content_hash({"a": 1})
    assert canonical.content_hash("x").startswith("sha256:") and len(canonical.content_hash("x")) == 71


ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=3, max_size=10)
extra = st.dictionaries(st.sampled_from(["custom-a", "classes", "idUnique", "zz"]), scalars, max_size=2)


@st.composite
def flows(draw):
    node_ids = draw(st.lists(ids, max_size=6, unique=True))
    nodes = []
    for nid in node_ids:
        props = draw(st.dictionaries(keys, st.fixed_dictionaries({"value": json_values}), max_size=3))
        if draw(st.booleans()):
            props["subFlowId"] = {"value": {"label": draw(st.text(max_size=5)), "value": draw(ids)}}
            props["subFlowVersionId"] = {"value": draw(st.sampled_from([-1, "-1", "3", 2, None, "x"]))}
        data = {"id": nid, "nodeType": "CONNECTION", "properties": props, **draw(extra)}
        if draw(st.booleans()):
            data["connectionId"] = draw(ids)
        node = {"data": data, "position": {"x": draw(st.integers(0, 900)), "y": draw(st.floats(0, 900))},
                "group": "nodes", "selected": draw(st.booleans()), **draw(extra)}  # fmt: skip
        nodes.append(node)
    edges = [
        {"data": {"id": f"e{i}{eid}", "source": draw(st.sampled_from(node_ids)),
                  "target": draw(st.sampled_from(node_ids))}, **draw(extra)}
        for i, eid in enumerate(draw(st.lists(ids, max_size=4, unique=True)))
    ] if node_ids else []  # fmt: skip
    fid = draw(ids)
    variables = []
    for i, base in enumerate(draw(st.lists(ids, max_size=4))):
        context = draw(st.sampled_from(["company", "flowInstance", "flow"]))
        name = f"{base}##SK##{context}" + (f"##SK##{fid}" if context == "flow" else "")
        variables.append({"name": name, "context": context, "id": f"v{i}", "createdDate": i,
                          "fields": {"type": "string", "value": draw(scalars)}})  # fmt: skip
    flow = {
        "flowId": fid, "name": draw(st.text(max_size=8)), "companyId": draw(ids),
        "currentVersion": draw(st.integers(0, 9)),
        "description": draw(st.sampled_from(["", "Imported on Mon", "real text"])), "flowColor": "#fff",
        "graphData": {"elements": {"nodes": nodes, "edges": edges}, "pan": {"x": 0, "y": 0}, "zoom": 1, "data": {}},
        "variables": variables, "settings": draw(st.dictionaries(keys, scalars, max_size=3)),
    }  # fmt: skip
    flow.update(draw(st.dictionaries(st.sampled_from(["custom-top", "nodes", "graph", "orx", "unmapped"]), json_values,
                                     max_size=2)))
    return flow


@settings(max_examples=150, deadline=None)
@given(flows())
def test_generated_flows_round_trip_and_normalize_is_idempotent(flow):
    snap = davinci.normalize(flow)
    assert canonical.dumps(davinci.denormalize(snap)) == canonical.dumps(flow)  # true vs 1 would count
    again = davinci.normalize(davinci.denormalize(snap))
    for a, b in ((snap.flow, again.flow), (snap.layout, again.layout), (snap.meta, again.meta)):
        assert canonical.dumps(a) == canonical.dumps(b)
