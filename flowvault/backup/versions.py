"""Every version saved since the vault's last one, each its own commit (issue 16; DESIGN.md "Versions").

One source's part of a backup run, before its ordinary exports (flowvault.backup.export): the listing says which
flows moved (currentVersion above what index.json records); for those, GET /flows/{id}/versions names the new
versions; each is exported (side by side, --jobs) and committed on its own through flowvault.vault.series, in time
order across the source's flows, with the version's date as author date. With --history, flows the vault does not
hold yet get every stored version the same way. The flow's newest version is written to the working tree too, so
the run's last commit (variables, applications, workflows, removals) has nothing left to say about it.

Each version commit also carries the source's index.json with that flow's record at that version, so HEAD always
says which version the vault holds: a run killed half-way continues from there. A version that fails to export
ends its flow's chain: no later version of that flow is committed, its files stay at the last committed version,
and the run ends with exit 4 naming the version. Exports stop there too: a flow's first new version is exported
alone, and no version of the flow starts exporting after one before it failed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from flowvault.backup.index import INDEX, item_paths
from flowvault.backup.records import Failure, SourceReport, Stopped, one_line
from flowvault.errors import first_line
from flowvault.ui import UI

if TYPE_CHECKING:  # the vault imports git: only for the annotations
    from flowvault.sources.base import Entry, ListedItem, Source
    from flowvault.vault.repo import Vault
    from flowvault.vault.series import Series
    from flowvault.vault.slug import SlugMap


@dataclasses.dataclass
class Phase:
    """What one source's versions phase works with; `final`, `failed_ids` and `index_doc` are shared with the rest
    of the source's run (flowvault.backup.export), under `lock`."""

    vault: Vault
    source: Source
    series: Series
    report: SourceReport
    kind: str
    listed: dict
    prev: dict
    slugs: SlugMap
    lock: threading.Lock
    final: dict
    failed_ids: set
    index_doc: dict  # index.json as the version commits carry it: the last run's, with each flow's record updated
    store: Callable[[list[Entry]], None]  # stores an export's entries (embedded subflows) as the ordinary path does
    history: bool = False
    jobs: int = 16
    ui: UI | None = None
    stop: threading.Event | None = None
    start_workers: Callable[[int], None] | None = None


@dataclasses.dataclass
class _Chain:
    item: ListedItem  # at the version the listing names
    slug: str
    held: int | None  # the version the vault holds, None for a flow it does not hold yet
    todo: list  # version docs to commit, oldest first
    last_flow: bytes | None = None  # flow.json as last committed (settle compares the next one with it)
    record: dict | None = None  # index.json record of the last version committed
    blocked: bool = False
    unwritten: dict | None = None  # {path: bytes} committed but not yet in the working tree (see _write)
    # Exports stop at the chain's first failure (see record_versions.export): the first version to export goes
    # alone, and a version whose export starts after an earlier one of the flow failed is not exported.
    first: int | None = None  # place in the run's work list of the flow's first version to export
    probed: threading.Event = dataclasses.field(default_factory=threading.Event)  # set once that one has settled
    failed_at: int | None = None  # place of the earliest version whose export failed


class _Skipped(Exception):
    """An earlier version of the flow failed to export: this one is not exported (its chain has ended)."""


def _number(value) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def held_versions(vault, root: str, kind: str, prev: dict) -> dict[str, int]:
    """{flow id: the newest version the vault holds}: from index.json in the working tree and at HEAD, whichever
    is newer (a run killed after some version commits left HEAD's index.json ahead of the working tree's)."""
    from flowvault.vault.files import SNAPSHOTS

    sources = [prev]
    head = vault.head()
    if head:
        with contextlib.suppress(Exception):
            for data in vault.read_tree(head, prefix=f"{SNAPSHOTS}/{root}/{INDEX}").values():
                records = json.loads(data).get(kind)
                if isinstance(records, dict):
                    sources.append(records)
    held: dict[str, int] = {}
    for records in sources:
        for item_id, record in records.items():
            version = _number(((record or {}).get("stamp") or {}).get("currentVersion"))
            if version is not None and version >= held.get(item_id, version):
                held[item_id] = version
    return held


def author_time(date: object) -> int | None:
    """Seconds since the epoch of an ISO 8601 date as the API gives it ("2026-12-01T10:00:00.000Z"), or None."""
    if not isinstance(date, str) or not date:
        return None
    try:
        return int(datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def subject(name: str, version: dict) -> str:
    """`PingOne Sign On: version 12 "hotfix" saved 2026-12-01`: the subject of one version's commit."""
    text = f"{one_line(name)}: version {version['version']}"
    if version.get("alias"):
        text += f' "{one_line(version["alias"])}"'
    date = version.get("createdAt") or version.get("updatedAt")
    if isinstance(date, str) and len(date) >= 10:
        text += f" saved {one_line(date[:10])}"
    return text


def record_versions(p: Phase, todo: list) -> set[str]:
    """Commit the new versions of the flows of `todo` that moved (and, with history, of those the vault does not
    hold yet); the ids of the flows it took care of, whose ordinary export the run skips."""
    source = p.source
    versions = getattr(source, "versions", None)  # a Versioned source (flowvault.sources.base)
    if not todo or not getattr(source, "saves_versions", False) or not callable(versions):
        return set()
    root = p.report.name
    held = held_versions(p.vault, root, p.kind, p.prev)
    wanted = []
    for item in todo:
        current = _number(item.extra.get("version"))
        have = held.get(item.id)
        if current is None or (have is None and (not p.history or item.id in p.prev)) \
                or (have is not None and current <= have):
            continue
        wanted.append((item, have, current))
    if not wanted:
        return set()
    handled = {item.id for item, _, _ in wanted}
    chains: list[_Chain] = []
    with concurrent.futures.ThreadPoolExecutor(max(1, min(p.jobs, len(wanted))), thread_name_prefix=root) as pool:
        listings = [(item, have, current, pool.submit(versions, item)) for item, have, current in wanted]
        for item, have, current, future in listings:
            try:
                stored = future.result()
            except Exception as e:  # noqa: BLE001 - one flow's listing: that flow keeps its previous copy
                _keep_previous(p, item, f"{item.name} (versions)", e)
                continue
            new = [v for v in stored if (have is None or v["version"] > have) and v["version"] <= current]
            if not any(v["version"] == current for v in new):  # the listing names it: export it whatever
                new.append({"version": current, "updatedAt": item.stamp.get("updatedAt")})
            with p.lock:
                slug = p.slugs.get(item.id) or p.slugs.assign(item.id, item.name)
            chain = _Chain(item, slug, have, new)
            if have is not None:
                chain.last_flow = p.vault.read(item_paths(root, p.kind, True, slug, ["flow.json"])["flow.json"])
            chains.append(chain)

    def when(version: dict) -> str:
        return str(version.get("createdAt") or version.get("updatedAt") or "")

    work = sorted(((chain, v) for chain in chains for v in chain.todo),
                  key=lambda cv: (when(cv[1]), cv[0].item.id, cv[1]["version"]))
    for place, (chain, _) in enumerate(work):
        if chain.first is None:
            chain.first = place
    if p.start_workers is not None:
        p.start_workers(len(work))

    def export(place: int, chain: _Chain, version: dict):
        """One version's export; none once an earlier version of the flow failed. A flow's first version goes
        alone: a flow whose every export fails (a fault on the service's side) costs the retries of one export,
        not of each of its versions. The others go side by side, and one that starts after an earlier one
        failed is skipped: a version in flight when that happens is exported, but never committed."""
        if p.stop is not None and p.stop.is_set():
            raise Stopped
        if place != chain.first:
            chain.probed.wait()  # the first was queued before (FIFO pool): it is running, no deadlock
        if chain.failed_at is not None and chain.failed_at < place:
            raise _Skipped
        item = chain.item
        if version["version"] != _number(item.extra.get("version")):
            item = dataclasses.replace(item, stamp={**item.stamp, "currentVersion": version["version"]},
                                       extra={**item.extra, "version": version["version"]})
        try:
            return source.export(item)
        except BaseException:
            with p.lock:
                chain.failed_at = place if chain.failed_at is None else min(chain.failed_at, place)
            raise
        finally:
            if place == chain.first:
                chain.probed.set()

    ui = p.ui or UI()
    with ui.progress(f"{root} versions", total=len(work)) as task:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, p.jobs), thread_name_prefix=root) as pool:
            # in commit order: the head comes first, and each flow's first version before its others
            futures = [pool.submit(export, place, chain, v) for place, (chain, v) in enumerate(work)]
            try:
                for (chain, version), future in zip(work, futures, strict=True):
                    label = f"{chain.item.name} version {version['version']}"
                    if chain.blocked:
                        future.cancel()
                        task.advance(f"SKIPPED {label}")
                        continue
                    try:
                        entries = future.result()
                    except Stopped:
                        raise
                    except Exception as e:  # noqa: BLE001 - this version failed: the flow's chain ends here
                        chain.blocked = True
                        p.report.failed.append(Failure(root, label, chain.item.id, first_line(e)))
                        task.advance(f"FAILED {label}")
                        continue
                    if chain.record is None:  # the flow's first version committed: one flow exported
                        p.report.exported += 1
                    _commit(p, chain, version, entries)
                    if version is chain.todo[-1]:
                        _write(p, chain)
                    task.advance(label)
            except BaseException:
                for future in futures:
                    future.cancel()
                for chain in chains:  # a worker waiting for a first version cancelled meanwhile: export nothing
                    chain.failed_at = -1
                    chain.probed.set()
                raise
            finally:
                for chain in chains:
                    _write(p, chain)
    p.series.checkpoint()
    with p.lock:
        for chain in chains:
            if chain.record is not None:
                p.final[chain.item.id] = chain.record
            else:
                p.failed_ids.add(chain.item.id)
                if chain.item.id in p.prev:
                    p.final[chain.item.id] = p.prev[chain.item.id]
    return handled


def _write(p: Phase, chain: _Chain) -> None:
    """Put the flow's last committed files in the working tree: once per flow, when its chain ends (writing every
    version was half of a backfill's time). Until then the working tree lags HEAD, which a run killed in between
    heals: its index.json (in the working tree) still says the older version, so the next run exports the flow."""
    if chain.unwritten:
        for path, data in chain.unwritten.items():
            p.vault.write(path, data)
        chain.unwritten = None


def _keep_previous(p: Phase, item, label: str, error: Exception) -> None:
    p.report.failed.append(Failure(p.report.name, label, item.id, first_line(error)))
    with p.lock:
        p.failed_ids.add(item.id)
        if item.id in p.prev:
            p.final[item.id] = p.prev[item.id]


def _commit(p: Phase, chain: _Chain, version: dict, entries: list) -> None:
    """One version's commit (its flow's files and index.json), then the same files in the working tree."""
    from flowvault.canonical import content_hash, dumpb

    root, main = p.report.name, entries[0]
    files = dict(main.files)
    if "flow.json" in files and chain.last_flow is not None:  # a rewrite by the service alone is no change
        files["flow.json"] = p.source.settle("flow.json", chain.last_flow, files["flow.json"])
    paths = item_paths(root, p.kind, True, chain.slug, files)
    record = {"name": main.name, "slug": chain.slug, "stamp": main.stamp or {},
              "files": {f: content_hash(d) for f, d in sorted(files.items())}}
    with p.lock:
        p.index_doc[p.kind][chain.item.id] = record
        index = dumpb(p.index_doc)
    action = "added" if chain.held is None and chain.record is None else "changed"
    body = f"{root}: {action} {one_line(main.name)} ({p.kind}/{chain.slug})"
    deployed = _number((main.stamp or {}).get("publishedVersion"))
    if deployed:
        body += f"\n{root}: version {deployed} of {one_line(main.name)} is deployed"
    p.series.commit(f"{subject(main.name, version)}\n\n{body}\n",
                    {**{paths[f]: d for f, d in files.items()}, f"{root}/{INDEX}": index},
                    author_time(version.get("createdAt") or version.get("updatedAt")))
    chain.unwritten = {paths[fname]: data for fname, data in files.items()}
    chain.last_flow, chain.record = files.get("flow.json"), record
    p.report.versions += 1
    if version["version"] == _number(chain.item.extra.get("version")):
        p.store(entries[1:])  # embedded subflows: stored as an ordinary export stores them
