"""Rows 8a, 8b and 8c (issue 16): `backup --history` of F flows x V stored versions, and the cost of one version commit.

8a/8b: the sandbox (a subprocess, --latency-ms 50) serves F flows; each is saved V-1 more times through the edit
hook, so it stores V versions. Each run is a fresh vault and a `flowvault --config FILE backup --source davinci
--history` child process, default --jobs against --jobs 1, interleaved; 8b is the peak RSS of those children.
8c: in process, V versions of F flows committed one by one through flowvault.vault.series (one `git fast-import`)
against the same versions committed the way a run commits (write the files, Vault.commit: git add, write-tree,
commit-tree, update-ref per version).
"""

from __future__ import annotations

import concurrent.futures
import json
import time
import urllib.request
from pathlib import Path

from benchmarks import corpus
from benchmarks.bench_backup import _backup, _expect, _new_vault, child_env
from benchmarks.procs import SandboxProcess, median


def _save_versions(sb: SandboxProcess, ids: list[str], more: int) -> None:
    def edit(flow_id: str, n: int) -> None:
        req = urllib.request.Request(f"{sb.url}/_sandbox/flows/{flow_id}/edit", method="POST",
                                     data=json.dumps({"/description": f"saved {n}"}).encode(),
                                     headers={"Content-Type": "application/json"})
        for attempt in range(5):  # a burst of hook calls can meet a full listen backlog: try again
            try:
                urllib.request.urlopen(req, timeout=30).read()
                return
            except OSError:
                if attempt == 4:
                    raise
                time.sleep(0.2)

    with concurrent.futures.ThreadPoolExecutor(min(8, len(ids) or 1)) as pool:
        for n in range(more):  # one save per flow at a time: a flow's versions keep their order
            list(pool.map(lambda flow_id, n=n: edit(flow_id, n), ids))


def measure(tmp: Path, *, flows: int, versions: int, latency_ms: int, repeat: int) -> dict:
    env = child_env()
    out: dict = {"flows": flows, "versions": versions, "latency_ms": latency_ms, "jobs1": [], "default": [],
                 "rss_mb": [], "commits": {}}
    folder = tmp / f"history-flows-{flows}"
    ids = corpus.write_backup_flows(folder, flows)
    with SandboxProcess(folder, tmp / f"history-sandbox-{flows}.toml", latency_ms, env) as sb:
        _save_versions(sb, ids, versions - 1)
        for i in range(repeat):
            for mode in (("jobs1", "default") if i % 2 == 0 else ("default", "jobs1")):
                vault = _new_vault(tmp, f"history-{mode}-{i}", sb, env)
                args = ["--source", "davinci", "--history", *(["--jobs", "1"] if mode == "jobs1" else [])]
                result, _ = _backup(vault, sb, env, *args)
                _expect(result.stdout, f"committed {flows * versions} flow version(s), one commit each")
                out[mode].append(result.seconds)
                out["rss_mb"].append(result.max_rss_mb)
                out["vault"] = str(vault)
    out["commits"] = measure_commits(tmp, Path(out["vault"]), flows=flows, versions=versions)
    return out


def measure_commits(tmp: Path, source_vault: Path, *, flows: int, versions: int) -> dict:
    """Seconds per version commit: a Series against Vault.commit per version, on the same files."""
    import subprocess

    from flowvault.vault.repo import Vault
    from flowvault.vault.series import Series

    folders = sorted(p for p in (source_vault / "snapshots/davinci/flows").iterdir() if p.is_dir())[:flows]
    base = {f.name: {n: (f / n).read_bytes() for n in ("flow.json", "layout.json", "meta.json")} for f in folders}

    def version_files(slug: str, v: int) -> dict[str, bytes]:
        files = base[slug]
        return {f"davinci/flows/{slug}/{n}": (data + f"\n{{\"v\": {v}}}\n".encode() if n == "flow.json" else data)
                for n, data in files.items()}

    out = {}
    for mode in ("series", "per-version"):
        repo = tmp / f"commits-{mode}"
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        vault, _ = Vault.init(repo)
        work = [(slug, v) for v in range(versions) for slug in base]
        if mode == "per-version":
            work = work[: max(10, len(work) // 3)]  # one git chain per version is slow: a third is enough to time
        start = time.perf_counter()
        if mode == "series":
            series = Series(vault)
            for slug, v in work:
                files = version_files(slug, v)
                series.commit(f"{slug}: version {v}", files, 1700000000 + v)
                for rel, data in files.items():
                    vault.write(rel, data)
            series.close()
        else:
            with vault.lock():
                for slug, v in work:
                    for rel, data in version_files(slug, v).items():
                        vault.write(rel, data)
                    vault.commit(f"{slug}: version {v}")
        out[mode] = (time.perf_counter() - start) / len(work)
        out[f"{mode}-n"] = len(work)
    return out


def rows(m: dict) -> list[dict]:
    default, jobs1 = median(m["default"]), median(m["jobs1"])
    speedup = jobs1 / default
    rss = max(m["rss_mb"])
    c = m["commits"]
    per, series = c["per-version"], c["series"]
    n = m["flows"] * m["versions"]
    return [
        {"id": "8a", "measure": f"backup --history of {m['flows']} flows x {m['versions']} stored versions "
                                f"({n} version commits) at --latency-ms {m['latency_ms']}",
         "baseline": "the same backfill with --jobs 1",
         "result": f"{default:.2f} s vs {jobs1:.2f} s", "ratio": speedup, "ratio_text": f"{speedup:.1f}x faster",
         "target": ">= 5x faster", "pass": speedup >= 5},
        {"id": "8b", "measure": "peak RSS of that backfill", "baseline": "-",
         "result": f"{rss:.0f} MB (max of {len(m['rss_mb'])} runs)", "ratio": rss, "ratio_text": f"{rss:.0f} MB",
         "target": "<= 200 MB", "pass": rss <= 200},
        {"id": "8c", "measure": "one flow version's commit (3 files + index), in process",
         "baseline": "write + Vault.commit per version (git add, write-tree, commit-tree, update-ref)",
         "result": f"{series * 1000:.2f} ms vs {per * 1000:.1f} ms per version "
                   f"({c['series-n']} vs {c['per-version-n']} versions)",
         "ratio": series / per, "ratio_text": f"{series / per:.2f}x", "target": "<= 0.2x", "pass": series / per <= 0.2},
    ]
