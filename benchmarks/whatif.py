"""What the profile's suggested fixes would buy, measured side by side with the product as it is.

    python3 benchmarks/whatif.py [--patches nofsync] [--repeat 3]

Backs up the same 100 flows as row 1 (sandbox subprocess, --latency-ms 50) with the product as it is and with
the patches of benchmarks/patched.py applied, full (--jobs 1 and default) and unchanged re-runs, interleaved.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_backup, corpus  # noqa: E402
from benchmarks.procs import FLOWVAULT, SandboxProcess, compile_package, median, run  # noqa: E402

ALL = "nofsync"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", default=ALL)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--flows", type=int, default=100)
    args = parser.parse_args()
    compile_package()
    env = bench_backup.child_env()
    variants = {"as is": FLOWVAULT, "patched": [sys.executable, "-m", "benchmarks.patched", args.patches, "--"]}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + ":" + env.get("PYTHONPATH", "")
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="flowvault-whatif-") as tmp:
        tmp = Path(tmp)
        corpus.write_backup_flows(tmp / "flows", args.flows)
        with SandboxProcess(tmp / "flows", tmp / "sandbox.toml", 50, env) as sb:
            for i in range(args.repeat):
                for name in (variants if i % 2 == 0 else reversed(list(variants))):
                    for mode in ("jobs1", "default"):
                        vault = tmp / f"v-{i}-{mode}-{name.replace(' ', '')}"
                        run([*FLOWVAULT, "init", str(vault)], env=env)
                        (vault / "flowvault.toml").write_text(sb.config.read_text("utf-8"), encoding="utf-8")
                        cmd = [*variants[name], "--config", str(vault / "flowvault.toml"), "backup"]
                        full = run(cmd + (["--jobs", "1"] if mode == "jobs1" else []), env=env, cwd=vault)
                        times.setdefault((name, mode), []).append(full.seconds)
                        if mode == "default":
                            again = run(cmd, env=env, cwd=vault)
                            times.setdefault((name, "unchanged"), []).append(again.seconds)
    print(f"patches: {args.patches}; median of {args.repeat}, interleaved")
    print("| variant | --jobs 1 | default | speed-up | unchanged | unchanged / full |")
    print("|---|---|---|---|---|---|")
    for name in variants:
        j1, d, u = (median(times[(name, m)]) for m in ("jobs1", "default", "unchanged"))
        print(f"| {name} | {j1:.2f} s | {d:.2f} s | {j1 / d:.1f}x | {u:.2f} s | {u / d:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
