"""Rows 1, 2 and 5: `flowvault backup` of N flows from the sandbox (a subprocess) at --latency-ms 50.

Every backup is a fresh `flowvault init` vault and a `flowvault --config FILE backup` child process; the sandbox
counts requests (GET /_sandbox/stats before and after each run). Full runs with --jobs 1 and with the default
are interleaved, so noise on this shared machine hits both alike.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks import corpus
from benchmarks.procs import FLOWVAULT, SandboxProcess, median, requests_between, run

MAX_UNCHANGED_PER_SOURCE = 8


def child_env() -> dict:
    env = dict(os.environ)
    env.update({
        "FLOWVAULT_SANDBOX_SECRET": "sandbox",
        "FLOWVAULT_REDACT_KEY": "flowvault-benchmark-key-0001",
        "NO_COLOR": "1",
        "GIT_AUTHOR_NAME": "flowvault bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "flowvault bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    })
    env.pop("FLOWVAULT_CONFIG", None)
    return env


def _new_vault(tmp: Path, name: str, sandbox: SandboxProcess, env: dict) -> Path:
    vault = tmp / name
    run([*FLOWVAULT, "init", str(vault)], env=env)
    (vault / "flowvault.toml").write_text(sandbox.config.read_text("utf-8"), encoding="utf-8")
    return vault


def _backup(vault: Path, sandbox: SandboxProcess, env: dict, *args: str):
    before = sandbox.stats()
    result = run([*FLOWVAULT, "--config", str(vault / "flowvault.toml"), "backup", *args], env=env, cwd=vault)
    return result, requests_between(before, sandbox.stats())


def measure(tmp: Path, *, flows: int, small: int, latency_ms: int, repeat: int) -> dict:
    """Timings, peak RSS and request counts of full and unchanged backups (see module docstring)."""
    env = child_env()
    out: dict = {"flows": flows, "small": small, "latency_ms": latency_ms, "repeat": repeat,
                 "jobs1": [], "default": [], "unchanged": [], "rss_mb": [], "requests": {}}
    for count in (small, flows):
        corpus.write_backup_flows(tmp / f"flows-{count}", count)
    with SandboxProcess(tmp / f"flows-{flows}", tmp / f"sandbox-{flows}.toml", latency_ms, env) as sb:
        for i in range(repeat):
            modes = ("jobs1", "default") if i % 2 == 0 else ("default", "jobs1")
            for mode in modes:
                vault = _new_vault(tmp, f"vault-{flows}-{mode}-{i}", sb, env)
                result, cost = _backup(vault, sb, env, *(["--jobs", "1"] if mode == "jobs1" else []))
                _expect(result.stdout, f"{flows} listed, {flows} exported")
                out[mode].append(result.seconds)
                out["rss_mb"].append(result.max_rss_mb)
                out["requests"].setdefault(f"full-{flows}", cost)
                if mode == "default":
                    again, cost = _backup(vault, sb, env)
                    _expect(again.stdout, "nothing changed")
                    out["unchanged"].append(again.seconds)
                    out["requests"][f"unchanged-{flows}"] = cost
                # The vault stays until the run's temporary folder goes, after the last measurement: deleting its
                # ~1,000 files here made the next run's file creation slower (ext4 without a journal skips every
                # inode freed in the last 30-180 s, one by one: `recently_deleted`), 0.5 s of kernel time per run.
    with SandboxProcess(tmp / f"flows-{small}", tmp / f"sandbox-{small}.toml", latency_ms, env) as sb:
        vault = _new_vault(tmp, f"vault-{small}", sb, env)
        result, out["requests"][f"full-{small}"] = _backup(vault, sb, env)
        _expect(result.stdout, f"{small} listed, {small} exported")
        again, out["requests"][f"unchanged-{small}"] = _backup(vault, sb, env)
        _expect(again.stdout, "nothing changed")
    return out


def _expect(stdout: str, text: str) -> None:
    if text not in stdout:
        raise RuntimeError(f"backup did not say {text!r}:\n{stdout[-2000:]}")


def rows(m: dict) -> list[dict]:
    n, small = m["flows"], m["small"]
    jobs1, default, unchanged = median(m["jobs1"]), median(m["default"]), median(m["unchanged"])
    speedup = jobs1 / default
    req = m["requests"]
    big, little = req[f"unchanged-{n}"], req[f"unchanged-{small}"]
    sources = sorted(set(big) | set(little))
    flat = all(big.get(s, 0) == little.get(s, 0) for s in sources)
    worst = max([*big.values(), *little.values(), 0])
    per_source = ", ".join(f"{s} {little.get(s, 0)} -> {big.get(s, 0)}" for s in sources)
    full = ", ".join(f"{s} {v}" for s, v in sorted(req[f"full-{n}"].items()))
    time_ratio = unchanged / default
    rss = max(m["rss_mb"])
    return [
        {"id": "1", "measure": f"backup of {n} flows from the sandbox at --latency-ms {m['latency_ms']}",
         "baseline": "the same backup with --jobs 1",
         "result": f"{default:.2f} s vs {jobs1:.2f} s",
         "ratio": speedup, "ratio_text": f"{speedup:.1f}x faster", "target": ">= 6x faster",
         "pass": speedup >= 6,
         "note": f"requests of a full run: {full}"},
        {"id": "2a", "measure": "unchanged re-run of that backup: requests",
         "baseline": f"same at {small} flows",
         "result": f"per source at {small} -> {n} flows: {per_source}",
         "ratio": float(worst), "ratio_text": "flat" if flat else "GROWS",
         "target": f"flat, <= {MAX_UNCHANGED_PER_SOURCE} per source",
         "pass": flat and worst <= MAX_UNCHANGED_PER_SOURCE},
        {"id": "2b", "measure": "unchanged re-run of that backup: time",
         "baseline": "the full run (default --jobs)",
         "result": f"{unchanged:.2f} s vs {default:.2f} s",
         "ratio": time_ratio, "ratio_text": f"{time_ratio:.2f}x", "target": "<= 0.35x",
         "pass": time_ratio <= 0.35},
        {"id": "5", "measure": f"peak RSS of the {n}-flow backup", "baseline": "-",
         "result": f"{rss:.0f} MB (max of {len(m['rss_mb'])} full runs)",
         "ratio": rss, "ratio_text": f"{rss:.0f} MB", "target": "<= 150 MB", "pass": rss <= 150},
    ]
