"""The records of a backup run and the commit message made from them.

A source lists ListedItems and exports Entries (flowvault.sources.base); each source's outcome is a SourceReport (with
its Failures), the run's is a BackupResult; commit_message turns the result and the changed paths into the
vault commit's text.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

from flowvault.backup.index import INDEX
from flowvault.sources.base import Entry, ListedItem

__all__ = ["BackupResult", "Entry", "Failure", "ListedItem", "SourceReport", "Stopped", "commit_message",
           "item_labels", "one_line"]


class Stopped(Exception):
    """The run was interrupted: an export not yet started is not started (run_backup's `stop`)."""


@dataclass
class Failure:
    source: str
    name: str
    id: str
    reason: str

    def line(self) -> str:
        ident = f" ({self.id})" if self.id and self.id != self.name else ""
        return f"{self.source}: FAILED {one_line(self.name)}{ident}: {one_line(self.reason)}; previous copy kept"


def one_line(text: object) -> str:
    """An untrusted name made fit for one line of a log or commit message (no control characters, trimmed)."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(text)).split()) or "?"


@dataclass
class SourceReport:
    name: str
    type: str
    listed: int = 0
    exported: int = 0  # items exported (a flow whose new versions were committed counts once)
    unchanged: int = 0
    versions: int = 0  # saved versions committed on their own (flowvault.backup.versions)
    removed: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    error: str | None = None  # the whole source failed (listing, auth): nothing of it was changed

    def count_line(self) -> str:
        """`prod: 9 listed, 2 exported (4 versions), 7 unchanged`: items, so that exported + unchanged add up to
        listed (failed ones aside), and the saved versions those flows were exported in (issue 16)."""
        line = f"{self.name}: {self.listed} listed, {self.exported} exported"
        if self.versions:
            line += f" ({self.versions} version{'s' if self.versions != 1 else ''})"
        line += f", {self.unchanged} unchanged"
        if self.removed:
            line += f", {len(self.removed)} removed"
        if self.failed:
            line += f", {len(self.failed)} failed"
        return line


@dataclass
class BackupResult:
    sources: list[SourceReport]
    commit: str | None = None
    changes: list = field(default_factory=list)  # vault.PathChange
    pushed: bool = False
    committed: bool = False
    replayed_onto: str | None = None  # "origin/main" when --push replayed the commits onto the moved remote branch

    @property
    def push_note(self) -> str:
        """", pushed" (with where the commits were replayed onto, if they were) after a push, else ""."""
        if not self.pushed:
            return ""
        return f", pushed (replayed onto {self.replayed_onto})" if self.replayed_onto else ", pushed"

    @property
    def failures(self) -> list[Failure]:
        return [f for s in self.sources for f in s.failed]

    def to_dict(self) -> dict:
        return {
            "commit": self.commit,
            "committed": self.committed,
            "pushed": self.pushed,
            "replayed_onto": self.replayed_onto,
            "sources": [
                {**{k: v for k, v in asdict(s).items() if k != "failed"},
                 "failed": [{"name": f.name, "id": f.id, "reason": f.reason} for f in s.failed]}
                for s in self.sources
            ],
            "changes": [{"status": c.status, "path": c.path} for c in self.changes],
        }


def item_labels(vault, changes) -> dict[tuple[str, str], str]:
    """(source, slug) -> item name, from the index.json (at HEAD and in the working tree, so removed items too) of
    each source the changes touch: two small reads per source, not every file of the vault."""
    from flowvault.vault.files import SNAPSHOTS

    labels: dict[tuple[str, str], str] = {}
    roots = sorted({PurePosixPath(c.path).parts[0] for c in changes if len(PurePosixPath(c.path).parts) > 1})
    head = vault.head()
    for root in roots:
        docs = []
        with contextlib.suppress(Exception):
            if head:
                docs += vault.read_tree(head, prefix=f"{SNAPSHOTS}/{root}/{INDEX}").values()
        with contextlib.suppress(Exception):
            data = vault.read(f"{root}/{INDEX}")
            if data is not None:
                docs.append(data)
        for data in docs:
            with contextlib.suppress(Exception):
                doc = json.loads(data)
                for key in ("flows", "workflows"):
                    for entry in (doc.get(key) or {}).values():
                        labels[(root, entry["slug"])] = entry.get("name") or entry["slug"]
    return labels


def commit_message(changes, result: BackupResult, labels: dict, message: str | None = None) -> str:
    """One-line summary + one line per changed item (+ one per failed item)."""
    per_item: dict[tuple[str, str], set] = {}
    for change in changes:
        parts = PurePosixPath(change.path).parts
        if len(parts) < 2 or parts[-1] == INDEX and len(parts) == 2:
            continue
        root = parts[0]
        if parts[1] in ("flows", "workflows") and len(parts) >= 3:
            slug = parts[2] if parts[1] == "flows" else parts[2].split(".")[0]
            key = (root, f"{parts[1]}/{slug}")
        else:
            key = (root, "/".join(parts[1:]))
        per_item.setdefault(key, set()).add(change.status)
    counts: dict[tuple[str, str], int] = {}  # (kind, action) -> items, kind: flow | workflow | file
    lines = []
    for (root, what), statuses in sorted(per_item.items()):
        action = "added" if statuses == {"A"} else "removed" if statuses == {"D"} else "changed"
        kind = {"flows": "flow", "workflows": "workflow"}.get(what.split("/", 1)[0], "file")
        counts[(kind, action)] = counts.get((kind, action), 0) + 1
        item = what.split("/", 1)[1] if what.startswith(("flows/", "workflows/")) else None
        label = one_line(labels.get((root, item), item)) if item else what
        lines.append(f"{root}: {action} {label}" + (f" ({what})" if item else ""))
    failures = result.failures
    lines += [f.line() for f in failures]
    lines += [f"{s.name}: FAILED as a whole: {s.error}; nothing of it changed" for s in result.sources if s.error]
    if message:
        summary = one_line(message)
    else:
        bits = [f"{n} {kind}{'s' if n > 1 else ''} {action}"  # as `flowvault log` counts them
                for kind in ("flow", "workflow", "file") for action in ("added", "changed", "removed")
                if (n := counts.get((kind, action)))]
        if failures:
            bits.append(f"{len(failures)} failed")
        summary = "flowvault backup: " + (", ".join(bits) or "index updated")
        names = sorted({root for root, _ in per_item})
        if names:
            summary += f" ({', '.join(names)})"
    return summary + "\n\n" + "\n".join(lines) + "\n" if lines else summary + "\n"
