"""Quiet: environment ids, dates, versions, order, layout and type flips never reach flow.json."""

from __future__ import annotations

import json
import re

import pytest
from normalize_helpers import DAVINCI, DAVINCI_FILES, legacy_to_platform, load, other_environment

from flowvault import canonical
from flowvault.normalize import davinci

SINGLE = [p for p in DAVINCI_FILES if "flowId" in load(p)]


def flow_texts(doc) -> list[str]:
    return [canonical.dumps(s.flow) for s in davinci.split_export(doc).flows]


@pytest.mark.parametrize("path", SINGLE, ids=[p.name for p in SINGLE])
def test_same_flow_from_another_environment_gives_identical_flow_json(path):
    doc = load(path)
    moved = other_environment(doc)
    assert moved != doc
    here, there = davinci.normalize(doc), davinci.normalize(moved)
    assert canonical.dumps(there.flow) == canonical.dumps(here.flow)
    assert there.meta["flowId"] != here.meta["flowId"]  # the ids went to meta, they were not dropped
    assert davinci.denormalize(there) == moved  # and the other environment's export is rebuilt exactly


def test_quiet_fixture_exercises_every_kind_of_reference():
    doc = load(DAVINCI / "tfprovider__internal_acctest_flows_full-basic.json")
    snap = davinci.normalize(other_environment(doc))
    text = canonical.dumps(snap.flow)
    meta = snap.meta
    assert meta["subflows"] and any("connectionId" in n for n in meta["nodes"].values())
    assert any("nameSuffix" in v for v in meta["variables"].values())
    assert meta["description"].startswith("Imported on") and meta["name"].endswith("\u00a0")
    var_ids = [v["id"] for v in meta["variables"].values() if "id" in v]
    for value in [meta["flowId"], meta["companyId"], *meta["subflows"], *var_ids]:
        assert value not in text


def test_subflow_version_type_flip_is_neutral_and_restored():
    doc = load(DAVINCI / "tfprovider__internal_acctest_flows_p1sessionmainflow.json")
    text = json.dumps(doc)
    flipped = json.loads(text.replace('"subFlowVersionId": {"value": -1}', '"subFlowVersionId": {"value": "-1"}'))
    assert flipped != doc
    snap = davinci.normalize(flipped)
    assert canonical.dumps(snap.flow) == canonical.dumps(davinci.normalize(doc).flow)
    assert davinci.denormalize(snap) == flipped


def test_positions_int_and_float_are_the_same_bytes():
    doc = load(DAVINCI / "tfprovider__internal_acctest_flows_simple.json")
    floated = json.loads(json.dumps(doc))
    for node in floated["graphData"]["elements"]["nodes"]:
        node["position"] = {k: float(v) for k, v in node["position"].items()}
    assert canonical.dumps(davinci.normalize(floated).layout) == canonical.dumps(davinci.normalize(doc).layout)


def test_service_rewritten_log_level_stays_config():
    doc = load(DAVINCI / "tfprovider__internal_acctest_flows_p1sessionmainflow.json")
    changed = json.loads(json.dumps(doc))
    changed["settings"]["logLevel"] = 3
    assert davinci.normalize(changed).flow["settings"]["logLevel"] == 3
    assert canonical.dumps(davinci.normalize(changed).flow) != canonical.dumps(davinci.normalize(doc).flow)


# --- the corpus pairs: which are re-export noise and which are real edits ------------------------------------------

# What differs in flow.json between an `__at_<commit>` revision and HEAD, node ids replaced by "*".
# Found by normalizing every pair: none of the __at_ pairs is pure re-export noise; each also carries a real
# edit (settings added, a test variable value, Ping's connector renames "Flow Conductor" -> "Flow Connector" and
# "Ping One" -> "PingOne", which the export stores as node config). The noise they do carry (connectionIds,
# subFlowVersionId -1 vs "-1", dates, versions, variable ids, positions, list order) is absent from this table.
REAL_EDITS = {
    "drifted__at_5b8c0347": {"settings", "trigger"},
    "flowcontextvarflow__at_8667e84c": {"variables/flow/myFlowVar/context"},  # corrupt "Flow Connector" context fixed
    "full-basic-novariablevalues__at_0df3d728": {"nodes/*/name"},  # its description "" vs none is noise
    "full-basic-vars__at_0df3d728": {"nodes/*/properties/saveVariables", "nodes/*/properties/saveFlowVariables"},
    "full-basic__at_54eaebb8": {"nodes/*/name", "variables/flow/fdgdfgfdg/fields"},
    "full-basic__at_8209afb6": {"variables/flow/fdgdfgfdg/fields"},
    "full-minimal__at_01cc5aba": {"description", "nodes/*/capabilityClass"},
    "full-minimal__at_53421bcd": {"nodes/*/capabilityClass"},
    "full-minimal__at_8209afb6": {"description", "nodes/*/capabilityClass", "settings"},
    "p1sessionmainflow__at_017245cf": {"nodes/*/name", "nodes/*/label", "settings"},
    "p1sessionmainflow__at_0f7420d1": {"settings"},  # its subFlowVersionId "-1" vs -1 flip is neutral
    "p1sessionmainflow__at_5b8c0347": {"nodes/*/name", "nodes/*/label", "settings"},
    "p1sessionmainflow__at_8667e84c": {"nodes/*/label", "settings"},
    # connector renames ("Error Customize" -> "Error Message", ...) on many nodes, plus a customHTML edit
    "p1sessionsubflow__at_537fbf9a": {"nodes/*/label", "nodes/*/name", "nodes/*/properties/customHTML"},
    "p1sessionsubflow__at_5b8c0347": {"nodes/*/label", "nodes/*/name", "nodes/*/properties/customHTML", "settings"},
    "p1sessionsubflow__at_866f7b76": {"nodes/*/label", "nodes/*/name"},
    "simple__at_5b8c0347": {"settings"},
}
# Byte-different exports of one flow that ARE pure noise: flow.json must be identical.
NOISE_PAIRS = [
    ("dvclientgo__davinci_test_flows_full-basic.json",
     "tfprovider__internal_acctest_flows_full-basic__at_54eaebb8.json"),
]
# Different files whose difference is config that an older reading would have hidden (outputSchemaCompiled is
# the legacy output schema: tf-davinci calls the change drift), or that is settings.logLevel rewritten by the service.
CONFIG_PAIRS = [
    ("tfprovider__internal_acctest_flows_simple.json",
     "tfprovider__internal_acctest_flows_simpleoutputschemadrift.json", {"outputSchema"}),
    ("tfprovider__internal_acctest_flows_simple.json",
     "tfprovider__internal_acctest_flows_simpleinputschemadrift.json", {"inputSchema"}),
    ("tfprovider__internal_acctest_flows_p1sessionmainflow__at_017245cf.json",
     "tfprovider__internal_acctest_flows_p1sessionmainflow__at_5b8c0347.json", {"settings"}),
]  # fmt: skip


def changed_paths(a: dict, b: dict) -> set[str]:
    """flow.json paths that differ, at node/edge/variable field (or property) level, node ids as '*'."""
    out = set()
    for key in set(a) | set(b):
        if canonical.dumps(a.get(key)) == canonical.dumps(b.get(key)):
            continue
        if key not in ("nodes", "edges", "variables"):
            out.add(key)
            continue
        for item in set(a[key]) | set(b[key]):
            x, y = a[key].get(item), b[key].get(item)
            name = "*" if key != "variables" else item
            if x is None or y is None:
                out.add(f"{key}/{name} {'added' if x is None else 'removed'}")
                continue
            for field in set(x) | set(y):
                if canonical.dumps(x.get(field)) == canonical.dumps(y.get(field)):
                    continue
                if field == "properties":
                    px, py = x.get(field, {}), y.get(field, {})
                    out |= {f"{key}/{name}/properties/{p}" for p in set(px) | set(py) if px.get(p) != py.get(p)}
                else:
                    out.add(f"{key}/{name}/{field}")
    return out


def test_every_at_pair_is_classified():
    pairs = {re.sub(r"^tfprovider__internal_acctest_flows_|\.json$", "", p.name)
             for p in DAVINCI_FILES if "__at_" in p.name}
    assert pairs == set(REAL_EDITS)


@pytest.mark.parametrize("name, expected", sorted(REAL_EDITS.items(), key=lambda kv: kv[0]))
def test_at_pairs_differ_only_where_the_flow_was_edited(name, expected):
    old = load(DAVINCI / f"tfprovider__internal_acctest_flows_{name}.json")
    new = load(DAVINCI / f"tfprovider__internal_acctest_flows_{re.sub(r'__at_[0-9a-f]+', '', name)}.json")
    found = changed_paths(davinci.normalize(old).flow, davinci.normalize(new).flow)
    assert found == expected


@pytest.mark.parametrize("a, b", NOISE_PAIRS)
def test_noise_pairs_give_identical_flow_json(a, b):
    raw_a, raw_b = (DAVINCI / a).read_bytes(), (DAVINCI / b).read_bytes()
    assert raw_a != raw_b
    assert flow_texts(json.loads(raw_a)) == flow_texts(json.loads(raw_b))


@pytest.mark.parametrize("a, b, expected", CONFIG_PAIRS)
def test_config_pairs_show_their_change(a, b, expected):
    found = changed_paths(davinci.normalize(load(DAVINCI / a)).flow, davinci.normalize(load(DAVINCI / b)).flow)
    assert found == expected


# --- Platform API shape vs legacy shape ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", DAVINCI_FILES, ids=[p.name for p in DAVINCI_FILES])
def test_platform_and_legacy_shapes_give_identical_flow_json(path):
    doc = load(path)
    if "flowInfo" in doc:
        doc = doc["flowInfo"]
    platform = legacy_to_platform(doc)
    assert davinci.detect_shape(platform) == "platform"
    bundle = davinci.split_export(platform)
    assert [s.meta["shape"] for s in bundle.flows] == ["platform"] * len(bundle.flows)
    assert [canonical.dumps(s.flow) for s in bundle.flows] == flow_texts(doc)
    assert davinci.join_export(bundle) == platform


def test_seed_002_shape_main_flow_with_embedded_subflow():
    """Seed 002's example: PingOne Session Main Flow with its subflow in _embedded, real graphData filled in."""
    main = load(DAVINCI / "tfprovider__internal_acctest_flows_p1sessionmainflow.json")
    sub = load(DAVINCI / "tfprovider__internal_acctest_flows_p1sessionsubflow.json")
    platform = legacy_to_platform({"flows": [main, sub], "companyId": main["companyId"]})
    assert set(platform) >= {"_links", "flow", "environment", "version", "enabled", "connectors", "color", "_embedded"}
    bundle = davinci.split_export(platform)
    legacy = davinci.split_export({"flows": [main, sub]})
    assert [canonical.dumps(s.flow) for s in bundle.flows] == [canonical.dumps(s.flow) for s in legacy.flows]
    assert [canonical.dumps(s.layout) for s in bundle.flows] == [canonical.dumps(s.layout) for s in legacy.flows]
    assert bundle.flows[0].meta["environment"] == {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"}
    assert davinci.join_export(bundle) == platform
