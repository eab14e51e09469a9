"""Rows 3, 4 and 6: `flowvault diff` against deepdiff, and start-up against `python -c pass`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from benchmarks import corpus
from benchmarks.procs import FLOWVAULT, interleaved, median

# The baseline of row 3: what a user without flowvault would run on two export files, process start included.
DEEPDIFF_SCRIPT = (
    "import json, sys\n"
    "from deepdiff import DeepDiff\n"
    "a = json.load(open(sys.argv[1], encoding='utf-8'))\n"
    "b = json.load(open(sys.argv[2], encoding='utf-8'))\n"
    "DeepDiff(a, b, ignore_order=True)\n"
)
STARTUP_FILE = "tfprovider__internal_acctest_flows_full-basic.json"  # 12 nodes: start-up, not diff work


# --- row 3 -----------------------------------------------------------------------------------------------------


def measure_cli(tmp: Path, *, sources: tuple[str, ...], repeat: int) -> dict:
    bundle = corpus.build_bundle(sources)
    edited, labels = corpus.edit_copy(bundle)
    a, b = tmp / "bundle-old.json", tmp / "bundle-new.json"
    a.write_text(json.dumps(bundle, indent=2), encoding="utf-8")
    b.write_text(json.dumps(edited, indent=2), encoding="utf-8")
    runs = interleaved({
        "flowvault": [*FLOWVAULT, "diff", str(a), str(b), "--format", "json"],
        "deepdiff": [sys.executable, "-c", DEEPDIFF_SCRIPT, str(a), str(b)],
    }, repeat)
    found = json.loads(runs["flowvault"][0].stdout)["summary"]["changes"]
    return {"nodes": corpus.node_count(bundle), "flows": len(bundle["flows"]), "edited": labels, "found": found,
            "mb": a.stat().st_size / 1e6,
            "flowvault": [r.seconds for r in runs["flowvault"]], "deepdiff": [r.seconds for r in runs["deepdiff"]]}


def cli_row(m: dict) -> dict:
    fv, dd = median(m["flowvault"]), median(m["deepdiff"])
    ratio = fv / dd
    return {"id": "3",
            "measure": f"`flowvault diff` of a {m['flows']}-flow export ({m['nodes']} nodes, {m['mb']:.1f} MB) "
                       f"vs a copy with 1% of labels edited and nodes reordered, process start included",
            "baseline": "python -c \"DeepDiff(a, b, ignore_order=True)\" on the same files",
            "result": f"{fv:.2f} s vs {dd:.2f} s", "ratio": ratio, "ratio_text": f"{ratio:.2f}x",
            "target": "<= 0.5x", "pass": ratio <= 0.5 and m["found"] == m["edited"],
            "note": f"{m['found']} change records for {m['edited']} edited labels; the export is {m['flows']} "
                    f"real flows bundled into one legacy `flows: [...]` file (no single real export in tests/fixtures "
                    f"reaches ~900 nodes; the biggest multi-flow one, FLOW_ESCAPED, has 94)"}


# --- row 4 -----------------------------------------------------------------------------------------------------


def measure_inprocess(*, nodes: int, repeat: int) -> dict:
    """normalize + semantic diff of two raw exports vs DeepDiff(ignore_order=True) of the same, both warm."""
    from deepdiff import DeepDiff  # warm for both sides: flowvault's diff imports it lazily for changed pieces

    from flowvault.diff import diff_snapshots
    from flowvault.vault import snapshot

    old = corpus.build_big_flow(nodes)
    new, labels = corpus.edit_copy(old)

    def semantic():
        result = diff_snapshots(snapshot.from_export(old, "old"), snapshot.from_export(new, "new"))
        return len(result.changes)

    def diff_only(a, b):
        return diff_snapshots(a, b)

    found = semantic()  # warm-up (and a check)
    fv, dd, only = [], [], []
    pre_a, pre_b = snapshot.from_export(old, "old"), snapshot.from_export(new, "new")
    for i in range(repeat):
        for side in (("fv", "dd") if i % 2 == 0 else ("dd", "fv")):
            start = time.perf_counter()
            if side == "fv":
                semantic()
            else:
                DeepDiff(old, new, ignore_order=True)
            (fv if side == "fv" else dd).append(time.perf_counter() - start)
        start = time.perf_counter()
        diff_only(pre_a, pre_b)
        only.append(time.perf_counter() - start)
    return {"nodes": corpus.node_count(old), "edited": labels, "found": found, "flowvault": fv, "deepdiff": dd,
            "diff_only": only}


def inprocess_row(m: dict) -> dict:
    fv, dd = median(m["flowvault"]), median(m["deepdiff"])
    speedup = dd / fv
    return {"id": "4",
            "measure": f"semantic diff of a {m['nodes']}-node flow (1% labels edited, reordered), in process",
            "baseline": "DeepDiff(ignore_order=True) on the raw exports, in process",
            "result": f"{fv:.3f} s vs {dd:.2f} s", "ratio": speedup, "ratio_text": f"{speedup:.0f}x faster",
            "target": "<= 0.2 s and >= 20x faster", "pass": fv <= 0.2 and speedup >= 20 and m["found"] == m["edited"],
            "note": f"normalize of both raw exports included; diff of the normalized pair alone "
                    f"{median(m['diff_only']) * 1000:.0f} ms; {m['found']} records for {m['edited']} edits"}


# --- row 6 -----------------------------------------------------------------------------------------------------


def measure_startup(tmp: Path, *, repeat: int) -> dict:
    src = corpus.FIXTURES / STARTUP_FILE
    a, b = tmp / "small-old.json", tmp / "small-new.json"
    a.write_bytes(src.read_bytes())
    b.write_bytes(src.read_bytes())
    runs = interleaved({
        "pass": [sys.executable, "-c", "pass"],
        "help": [*FLOWVAULT, "--help"],
        "diff": [*FLOWVAULT, "diff", str(a), str(b)],
    }, repeat)
    return {name: [r.seconds for r in rs] for name, rs in runs.items()}


def startup_rows(m: dict) -> list[dict]:
    base = median(m["pass"])
    out = []
    for key, rid, what in (("help", "6a", "`flowvault --help` start-up"),
                           ("diff", "6b", "`flowvault diff` start-up (two identical 12-node exports)")):
        over = median(m[key]) - base
        out.append({"id": rid, "measure": what, "baseline": "python -c pass",
                    "result": f"{median(m[key]):.3f} s vs {base:.3f} s", "ratio": over,
                    "ratio_text": f"+{over:.3f} s", "target": "<= +0.3 s", "pass": over <= 0.3})
    return out
