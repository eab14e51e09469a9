"""What the profile's suggested fixes would buy, measured side by side with the product as it is.

    python3 benchmarks/whatif.py [--patches nofsync] [--repeat 3]

Backs up the same 100 flows as row 1 (sandbox subprocess, --latency-ms 50) with the product as it is and with
the patches of benchmarks/patched.py applied, full (--jobs 1 and default) and unchanged re-runs, interleaved.
Also times the sandbox's GET /flows listing in process (its DaVinciFlowResponse deep-copies every graph).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_backup, corpus  # noqa: E402
from benchmarks.procs import FLOWVAULT, SandboxProcess, compile_package, median, run  # noqa: E402

ALL = "nofsync"


def sandbox_listing(flows_dir: Path, repeat: int = 5) -> tuple[float, float]:
    """Seconds to build the flow list as the sandbox does, and without copying each flow's graph."""
    from flowvault.sandbox.server import Sandbox

    sb = Sandbox(flows_dir=flows_dir).bind()
    try:
        dv = next(m for m in sb.modules if m.__name__.endswith(".davinci"))
        # The route closes over a DaVinci view; rebuild one over the same seed to time flow() alone.
        view = dv.DaVinci(sb.ctx, dv.Store(sb.ctx))
        flows = view.store.flows()
        keep = {"_links", "id", *bench_stamp_fields()}
        now, lean = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            [{k: v for k, v in view.flow(f).items() if k in keep} for f in flows]
            now.append(time.perf_counter() - start)
            start = time.perf_counter()
            [{k: v for k, v in _lean_flow(view, f).items() if k in keep} for f in flows]
            lean.append(time.perf_counter() - start)
        return median(now), median(lean)
    finally:
        sb.stop()


def bench_stamp_fields():
    from flowvault.sources.davinci import LIST_ATTRIBUTES

    return LIST_ATTRIBUTES.split(",")


def _lean_flow(view, flow):
    """view.flow(flow) without the content keys (what a listing with `attributes` keeps)."""
    content = view.store.current(flow)
    out = {"id": flow["id"], "name": content.get("name", ""), "createdAt": flow["createdAt"],
           "updatedAt": flow["updatedAt"], "currentVersion": flow["currentVersion"]}
    if flow.get("publishedVersion"):
        out["publishedVersion"] = flow["publishedVersion"]
        out["deployedAt"] = flow["deployedAt"]
    if "enabled" in content:
        out["enabled"] = content["enabled"]
    return out


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
        now, lean = sandbox_listing(tmp / "flows")
        print(f"sandbox GET /flows?attributes=... for {args.flows} flows: {now * 1000:.0f} ms to build as is, "
              f"{lean * 1000:.1f} ms without copying every graph", flush=True)
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
