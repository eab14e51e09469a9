"""flowvault's performance targets (issue 8), measured side by side in one run: `python3 benchmarks/run.py`.

Prints one table row per target with its ratio against the baseline measured in the same run, PASS/FAIL, and the
machine. `--quick` runs every row on tiny inputs (for CI: it proves the script still works; its ratios mean
little and do not set the exit code). `--json FILE` also writes the raw timings. Exit 1 when a full run misses a
target. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_backup, bench_diff, bench_log, bench_versions, corpus  # noqa: E402
from benchmarks.procs import compile_package  # noqa: E402

FULL = {"flows": 100, "small": 20, "latency_ms": 50, "backup_repeat": 3, "cli_repeat": 5,
        "bundle": corpus.BUNDLE_SOURCES, "big_nodes": 3000, "inproc_repeat": 3, "startup_repeat": 15,
        "log_flows": 100, "log_edits": 30, "log_repeat": 5,
        "history_flows": 30, "history_versions": 6, "history_repeat": 3}
QUICK = {"flows": 6, "small": 3, "latency_ms": 50, "backup_repeat": 1, "cli_repeat": 1,
         "bundle": ("tfprovider__internal_acctest_flows_full-basic.json",
                    "dvlint__rules_dv-rule-teleport-001_tests_TeleportBranchRule.json"),
         "big_nodes": 150, "inproc_repeat": 1, "startup_repeat": 2, "log_flows": 6, "log_edits": 3, "log_repeat": 1,
         "history_flows": 3, "history_versions": 2, "history_repeat": 1}


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine()}


def measure(params: dict, tmp: Path, only: set[str] | None = None, log=print) -> tuple[list[dict], dict]:
    rows, raw = [], {}

    def want(group: str) -> bool:
        return only is None or group in only

    if want("startup"):
        log("start-up ...")
        raw["startup"] = bench_diff.measure_startup(tmp, repeat=params["startup_repeat"])
        rows += bench_diff.startup_rows(raw["startup"])
    if want("cli"):
        log("diff of the multi-flow export, as processes ...")
        raw["cli"] = bench_diff.measure_cli(tmp, sources=params["bundle"], repeat=params["cli_repeat"])
        rows.append(bench_diff.cli_row(raw["cli"]))
    if want("inproc"):
        log(f"diff of a {params['big_nodes']}-node flow, in process ...")
        raw["inproc"] = bench_diff.measure_inprocess(nodes=params["big_nodes"], repeat=params["inproc_repeat"])
        rows.append(bench_diff.inprocess_row(raw["inproc"]))
    if want("log"):
        log(f"log over {params['log_edits'] + 1} commits of a {params['log_flows']}-flow vault vs one diff ...")
        raw["log"] = bench_log.measure(tmp, flows=params["log_flows"], edits=params["log_edits"],
                                       repeat=params["log_repeat"])
        rows.append(bench_log.row(raw["log"]))
    if want("backup"):
        log(f"backup of {params['flows']} flows (and {params['small']}) from the sandbox ...")
        raw["backup"] = bench_backup.measure(tmp, flows=params["flows"], small=params["small"],
                                             latency_ms=params["latency_ms"], repeat=params["backup_repeat"])
        rows += bench_backup.rows(raw["backup"])
    if want("history"):
        log(f"backup --history of {params['history_flows']} flows x {params['history_versions']} versions ...")
        raw["history"] = bench_versions.measure(tmp, flows=params["history_flows"],
                                                versions=params["history_versions"],
                                                latency_ms=params["latency_ms"], repeat=params["history_repeat"])
        rows += bench_versions.rows(raw["history"])
    return sorted(rows, key=lambda r: r["id"]), raw


def table(rows: list[dict], info: dict, *, quick: bool, seconds: float, repeats: dict) -> str:
    head = ("#", "measure", "baseline (same run)", "result", "ratio", "target", "")
    body = [(r["id"], r["measure"], r["baseline"], r["result"], r["ratio_text"], r["target"],
             "PASS" if r["pass"] else "FAIL") for r in rows]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    notes = [f"- {r['id']}: {r['note']}" for r in rows if r.get("note")]
    passed = sum(r["pass"] for r in rows)
    lines += ["", f"machine: {info['cpus']} CPUs, {info['implementation']} {info['python']}, {info['platform']}"
              f" ({info['processor']})",
              f"timings: median of {repeats['startup_repeat']} (start-up), {repeats['cli_repeat']} (diff processes), "
              f"{repeats['inproc_repeat']} (in process), {repeats['log_repeat']} (log vs diff), "
              f"{repeats['backup_repeat']} (backups), baseline and "
              f"candidate interleaved; whole run {seconds:.0f} s",
              f"{passed}/{len(rows)} targets met"
              + (" (--quick: tiny inputs, ratios are not meaningful)" if quick else ""),
              *(["notes:"] + notes if notes else [])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one repetition (CI smoke; < 20 s)")
    parser.add_argument("--json", dest="json_file", help="also write rows, raw timings and the machine here")
    parser.add_argument("--only", action="append", choices=["startup", "cli", "inproc", "log", "backup", "history"],
                        help="run only these groups of rows (repeatable)")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    info = machine()
    start = time.perf_counter()

    def log(text):
        print(text, file=sys.stderr, flush=True)

    compile_package()
    with tempfile.TemporaryDirectory(prefix="flowvault-bench-") as tmp:
        rows, raw = measure(params, Path(tmp), set(args.only) if args.only else None, log)
    seconds = time.perf_counter() - start
    print(table(rows, info, quick=args.quick, seconds=seconds, repeats=params))
    if args.json_file:
        doc = {"machine": info, "quick": args.quick, "seconds": seconds,
               "params": {k: v for k, v in params.items() if k != "bundle"}, "bundle": list(params["bundle"]),
               "rows": rows, "raw": raw}
        Path(args.json_file).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0 if args.quick or all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
