"""benchmarks/run.py --quick: the benchmark command still runs end to end and prints every row of issue 8.

Not a timed test: --quick's inputs are tiny and its ratios mean nothing; this only keeps the script from rotting.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = {"1", "2a", "2b", "3", "4", "5", "6a", "6b", "7", "8a", "8b", "8c"}


def test_quick_benchmark_prints_every_row_with_a_verdict_and_the_machine(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert {r["id"] for r in doc["rows"]} == ROWS
    for row in doc["rows"]:
        assert row["target"] and row["ratio_text"]
        assert f"| {row['id']} | " in proc.stdout
    table_lines = [line for line in proc.stdout.splitlines() if line.startswith("| ") and line.split(" | ")[0] != "| #"]
    assert len(table_lines) == len(ROWS)
    assert all(line.rstrip(" |").endswith(("PASS", "FAIL")) for line in table_lines)
    assert f"{doc['machine']['cpus']} CPUs" in proc.stdout and doc["machine"]["python"] in proc.stdout
    # the quick backup really ran against the sandbox: an unchanged re-run costs a few requests per source
    assert doc["raw"]["backup"]["requests"]["unchanged-6"]
