"""Row 7: `flowvault log` over a vault's history against one `flowvault diff HEAD~1 HEAD` (issue 15).

The vault: one commit holding N real DaVinci flows (tests/fixtures/davinci, names and ids varied), the 9 real
PingIDM workflows the sandbox serves and an environment's variables.json; then one commit per edit, each changing
one flow's description, as nightly backups of a quiet environment do. `log` should cost what changed, not what the
vault holds: the target is `log` over every commit within 4x one `diff HEAD~1 HEAD`, process start included.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from benchmarks import corpus
from benchmarks.procs import FLOWVAULT, interleaved, median

IDM = corpus.ROOT / "flowvault" / "sandbox" / "data" / "idm"  # the sandbox's 9 workflows (real BPMN files)
GIT_ENV = {"GIT_AUTHOR_NAME": "flowvault bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "flowvault bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}


def _dump(path: Path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _git(vault: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(vault), *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def build_vault(folder: Path, *, flows: int = 100, edits: int = 30) -> Path:
    """A git vault with 1 + `edits` commits: all flows, workflows and variables, then one description per commit."""
    from flowvault.normalize import davinci

    src = folder / "snapshots" / "prod"
    folder.mkdir(parents=True, exist_ok=True)
    _git(folder, "init", "-q")
    originals = [corpus.load(name) for name in corpus.BACKUP_SOURCES]
    slugs = []
    for i in range(flows):
        raw = json.loads(json.dumps(originals[i % len(originals)]))
        raw["flowId"] = corpus.fresh_id("bench-log-flow", i)
        raw["name"] = f"{raw.get('name') or 'flow'} #{i:03d}"
        (flow,) = davinci.split_export(raw).flows[:1]
        slug = f"flow-{i:03d}"
        for name, doc in (("flow.json", flow.flow), ("layout.json", flow.layout or {}), ("meta.json", flow.meta or {})):
            _dump(src / "flows" / slug / name, doc)
        slugs.append(slug)
    for bpmn in sorted(IDM.glob("*.bpmn20.xml")):
        key = bpmn.name[: -len(".bpmn20.xml")]
        (src.parent / "idm" / "workflows").mkdir(parents=True, exist_ok=True)
        (src.parent / "idm" / "workflows" / f"{key}.bpmn20.xml").write_bytes(bpmn.read_bytes())
        _dump(src.parent / "idm" / "workflows" / f"{key}.json", {"key": key, "name": key})
    _dump(src / "variables.json", {"variables": {"company/companyName": {
        "context": "company", "dataType": "string", "name": "companyName", "value": "Bench Inc."}}})
    _git(folder, "add", "snapshots")
    _git(folder, "commit", "-q", "-m", "backup: everything")
    for i in range(edits):
        path = src / "flows" / slugs[(i * 7) % len(slugs)] / "flow.json"
        doc = json.loads(path.read_text("utf-8"))
        doc["description"] = f"edited in nightly backup {i}"
        _dump(path, doc)
        _git(folder, "commit", "-q", "-a", "-m", f"backup {i}: one description")
    return folder


def measure(tmp: Path, *, flows: int, edits: int, repeat: int) -> dict:
    vault = build_vault(tmp / f"log-vault-{flows}", flows=flows, edits=edits)
    runs = interleaved({
        "log": [*FLOWVAULT, "--vault", str(vault), "log"],
        "diff": [*FLOWVAULT, "--vault", str(vault), "diff", "HEAD~1", "HEAD"],
    }, repeat)
    lines = runs["log"][0].stdout.splitlines()
    return {"flows": flows, "commits": edits + 1, "lines": lines,
            "log": [r.seconds for r in runs["log"]], "diff": [r.seconds for r in runs["diff"]]}


def row(m: dict) -> dict:
    log, diff = median(m["log"]), median(m["diff"])
    ratio = log / diff
    right = len(m["lines"]) == m["commits"] and all("1 flow changed" in line for line in m["lines"][:-1]) \
        and "9 workflows added" in m["lines"][-1]
    return {"id": "7",
            "measure": f"`flowvault log` over {m['commits']} commits of a {m['flows']}-flow vault (one flow's "
                       "description changed per commit), process start included",
            "baseline": "one `flowvault diff HEAD~1 HEAD` on the same vault",
            "result": f"{log:.2f} s vs {diff:.2f} s", "ratio": ratio, "ratio_text": f"{ratio:.2f}x",
            "target": "<= 4x", "pass": ratio <= 4 and right,
            "note": f"log lines as expected: {right} (each edit '1 flow changed', the first commit "
                    "'... 9 workflows added ...'); log reads only the blobs of changed paths (git log --raw + "
                    "cat-file --batch), diff reads both whole trees"}
