"""Real edits: every `__at_<commit>` pair of the corpus gives exactly the edits between the two revisions."""

import re

import pytest

from flowvault.diff import diff_flows
from tests.diff.diff_helpers import DAVINCI, one_flow, raw, rows

PAIRS = sorted(p.name for p in DAVINCI.glob("*__at_*.json"))

# Checked by hand against the raw files (a deepdiff of the two exports minus dates, versions and positions).
EXPECTED = {
    "tfprovider__internal_acctest_flows_drifted__at_5b8c0347.json": [
        ("setting", "added", "csp", "/settings/csp"),
        ("setting", "added", "intermediateLoadingScreenCSS", "/settings/intermediateLoadingScreenCSS"),
        ("setting", "added", "intermediateLoadingScreenHTML", "/settings/intermediateLoadingScreenHTML"),
        ("trigger", "added", "trigger", "/trigger"),
    ],
    "tfprovider__internal_acctest_flows_flowcontextvarflow__at_8667e84c.json": [
        ("variable", "changed", "flow/myFlowVar", "/variables/flow~1myFlowVar/context"),
    ],
    "tfprovider__internal_acctest_flows_full-basic__at_8209afb6.json": [
        ("variable", "changed", "flow/fdgdfgfdg", "/variables/flow~1fdgdfgfdg/fields/value"),
    ],
    "tfprovider__internal_acctest_flows_full-basic__at_54eaebb8.json": [
        ("variable", "changed", "flow/fdgdfgfdg", "/variables/flow~1fdgdfgfdg/fields/value"),
        ("node", "changed", "kq5ybvwvro", "/nodes/kq5ybvwvro/name"),
        ("node", "changed", "xb74p6rkd8", "/nodes/xb74p6rkd8/name"),
    ],
    "tfprovider__internal_acctest_flows_full-minimal__at_53421bcd.json": [
        ("node", "changed", "2pzouq7el7", "/nodes/2pzouq7el7/capabilityClass"),
    ],
    # the old revision had an "Imported on <date>" stamp (meta), the new one a real description
    "tfprovider__internal_acctest_flows_full-minimal__at_01cc5aba.json": [
        ("flow", "added", "description", "/description"),
        ("node", "changed", "2pzouq7el7", "/nodes/2pzouq7el7/capabilityClass"),
    ],
}


def _pair(old_name):
    return one_flow(raw(old_name)), one_flow(raw(re.sub(r"__at_[0-9a-f]+", "", old_name)))


@pytest.mark.parametrize("old_name", sorted(EXPECTED))
def test_hand_checked_pairs_give_exactly_the_real_edits(old_name):
    old, new = _pair(old_name)
    assert sorted(rows(diff_flows(old, new)), key=str) == sorted(EXPECTED[old_name], key=str)


def test_every_pair_is_listed_or_checked_generically():
    assert len(PAIRS) >= 15  # the fixture copy of the corpus is complete


@pytest.mark.parametrize("old_name", PAIRS)
def test_every_pair_has_changes_whose_paths_resolve(old_name):
    old, new = _pair(old_name)
    changes = diff_flows(old, new)
    assert changes, "every __at_ revision of the corpus is a real edit"
    for c in changes:
        assert c.category not in ("layout", "metadata")
        doc_old, doc_new = old.flow, new.flow
        parts = [p.replace("~1", "/").replace("~0", "~") for p in c.path.split("/")[1:]]
        found = False
        for doc in (doc_old, doc_new):
            node = doc
            for part in parts:
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                else:
                    break
            else:
                found = True
        assert found, c.path
    # the reverse diff is the mirror image
    back = diff_flows(new, old)
    assert len(back) == len(changes)


@pytest.mark.parametrize("old_name", PAIRS)
def test_a_flow_against_itself_is_no_change(old_name):
    flow = one_flow(raw(old_name))
    assert diff_flows(flow, flow, level="all") == []


@pytest.mark.parametrize("old_name", PAIRS)
def test_every_pair_targets_a_changed_flow_field_by_the_field(old_name):
    """Issue 15: a flow whose name and description both changed gives two records told apart by their target."""
    old, new = _pair(old_name)
    fields = [c for c in diff_flows(old, new, level="all") if c.category == "flow"]
    for c in fields:
        assert c.target == c.path.split("/")[1], (c.target, c.path)


def test_the_pairs_with_a_flow_field_edit_name_the_field():
    targets = {(name, c.target) for name in PAIRS for c in diff_flows(*_pair(name)) if c.category == "flow"}
    assert ("tfprovider__internal_acctest_flows_full-minimal__at_01cc5aba.json", "description") in targets
