"""Lossless and idempotent over every corpus export; malformed input rejected with one line."""

from __future__ import annotations

import time

import pytest
from normalize_helpers import DAVINCI_FILES, INVALID, SENSEI, export_key, load, snapshot_text

from flowvault.errors import InputError
from flowvault.normalize import davinci

IDS = [p.name for p in DAVINCI_FILES]


def test_corpus_is_all_there():
    assert len(DAVINCI_FILES) == 63


@pytest.mark.parametrize("path", DAVINCI_FILES, ids=IDS)
def test_lossless_round_trip(path):
    doc = load(path)
    bundle = davinci.split_export(doc)
    rebuilt = davinci.join_export(bundle)
    assert export_key(rebuilt) == export_key(doc)
    # meta keeps the original list order, so the rebuild is equal even before sorting
    assert rebuilt == doc


@pytest.mark.parametrize("path", DAVINCI_FILES, ids=IDS)
def test_normalize_is_idempotent(path):
    for snap in davinci.split_export(load(path)).flows:
        again = davinci.normalize(davinci.denormalize(snap))
        assert snapshot_text(again) == snapshot_text(snap)


@pytest.mark.parametrize("path", DAVINCI_FILES, ids=IDS)
def test_load_export_reads_bytes(path):
    bundle = davinci.load_export(path.read_bytes())
    assert [s.flow.get("name") for s in bundle.flows] == [
        s.flow.get("name") for s in davinci.split_export(load(path)).flows
    ]


def test_malformed_file_rejected_with_one_line():
    with pytest.raises(InputError) as info:
        davinci.load_export(INVALID)
    message = str(info.value)
    assert "\n" not in message
    assert "not valid JSON" in message and "line 68" in message and INVALID.name in message


@pytest.mark.parametrize(
    "data, says",
    [
        (b"", "not valid JSON"),
        (b"[1, 2]", "expected an object"),
        (b'{"hello": 1}', "not a DaVinci export"),
        (b"\xff\xfe{", "not UTF-8"),
        (b'{"flows": {"a": 1}}', "not a DaVinci export"),
        (b'{"flowId": "x", "graphData": {"elements": {"nodes": [{"data": {}}]}}}', "node #0 has no data.id"),
        (b'{"flowId": "x", "graphData": {"elements": {"nodes": [{"data": {"id": "a"}}, {"data": {"id": "a"}}]}}}',
         "two nodes have the id 'a'"),
    ],
)
def test_unreadable_documents_say_why(data, says):
    with pytest.raises(InputError) as info:
        davinci.load_export(data)
    assert says in str(info.value)
    assert "\n" not in str(info.value)


def test_sensei_master_normalizes_fast():
    doc = load(SENSEI)
    davinci.normalize(doc)
    start = time.perf_counter()
    for _ in range(5):
        davinci.normalize(doc)
    assert (time.perf_counter() - start) / 5 < 0.1
