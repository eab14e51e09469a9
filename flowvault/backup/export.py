"""One source of a backup run: list, export what changed (threads; worker processes for the CPU part), write each
item as it arrives, remove only what a successful listing no longer has, write index.json last.

flowvault.backup.run calls `start` for every source at once, then `backup_source` for each.
"""

from __future__ import annotations

import concurrent.futures
import threading
from pathlib import Path

from flowvault.backup.index import (
    FORMAT,
    INDEX,
    damaged_files,
    is_stale,
    item_paths,
    load_index,
    read_index_doc,
    redaction_stamp,
    remove_orphans,
)
from flowvault.backup.records import Entry, Failure, SourceReport, Stopped
from flowvault.backup.versions import Phase, record_versions
from flowvault.errors import FlowvaultError, first_line
from flowvault.ui import UI
from flowvault.vault.slug import SlugMap

# Exports in flight per source. A backup is one short burst (PingOne allows at most 100 flows per environment), so
# the cap sets how long the burst lasts, not a sustained rate. 16 keeps a 100-flow backup from waiting on round
# trips (8 left it latency-bound: issue 8's >= 6x target was out of reach) while staying well under what one
# client can hold open. PingOne's rate limits are per licence and shared (davinci-api.md 1.3): a 429 pauses every
# thread of the client until its Retry-After (retry.Gate), so a busy licence slows the burst down rather than
# failing it; --jobs lowers the cap for a licence that other tools use heavily.
WORKERS_FROM = 16  # exports of one source from which worker processes are started (flowvault.backup.workers)



def start(pool, source, stored) -> tuple:
    """(listing future, extras future) of `source`, both started on `pool`. The environment-wide files (variables,
    applications) need no listing: they are read while the listing and the exports run (they were ~0.4 s of round
    trips one after another at the end), and written after the exports. `stored` reads what the last run stored
    of them, a hint (DaVinci asks for the policies of the applications it knew without waiting for the list)."""
    return pool.submit(source.list), pool.submit(lambda: list(source.extras(stored=stored)))


def stored_reader(vault_dir, root: str):
    """fname -> bytes of snapshots/<root>/<fname> as the last run left it, or None: read before the vault is
    opened (only a hint: a wrong folder reads as nothing)."""
    from flowvault.vault.files import SNAPSHOTS, SnapshotFiles

    files = SnapshotFiles(Path(vault_dir) / SNAPSHOTS)

    def read(fname: str) -> bytes | None:
        try:
            return files.read(f"{root}/{fname}")
        except (OSError, FlowvaultError):
            return None

    return read


def _verify_kept(vault, root, kind, nested, prev, listed, todo_ids, final) -> dict[str, list[str]]:
    """{id of a listed item to re-export: its damaged paths}: every file kept as it is (an unchanged item's, an
    embedded subflow's) must be what index.json recorded; a damaged subflow's parent is re-exported."""
    damaged: dict[str, list[str]] = {}
    for item_id, entry in prev.items():
        owner = item_id if item_id in listed else entry.get("parent")
        if owner not in listed or owner in todo_ids or (item_id not in listed and item_id not in final):
            continue
        bad = damaged_files(vault, root, kind, nested, entry)
        if bad:
            damaged.setdefault(owner, []).extend(bad)
    return damaged


def backup_source(vault, source, report: SourceReport, started: tuple, *, redactor, full: bool, jobs: int,
                   ui: UI, workers=None, stop=None, series=None, history: bool = False) -> None:
    """Back up one source into the vault's working tree (and, given a `series`, each new flow version as its own
    commit: flowvault.backup.versions); its index.json last."""
    try:
        _export_source(vault, source, report, *started, redactor=redactor, full=full, jobs=jobs, ui=ui,
                       workers=workers, stop=stop, series=series, history=history)
    except BaseException:
        for future in started:
            future.cancel()
        concurrent.futures.wait(started)  # the caller closes the source's client next
        raise


def _export_source(vault, source, report: SourceReport, listing, extras_future, *, redactor, full: bool, jobs: int,
                   ui: UI, workers=None, stop=None, series=None, history: bool = False) -> None:
    from flowvault.canonical import content_hash, dumpb

    root, kind, nested = report.name, source.kind, source.nested
    index_doc = read_index_doc(vault, root)
    prev = load_index(vault, root, kind)
    redaction = redaction_stamp(redactor)
    if index_doc.get("redaction") not in (None, redaction) or index_doc.get("format") not in (None, FORMAT):
        full = True  # fingerprints made with another key (or another format) would be stale: re-export all

    listed = listing.result()  # raises: a failed listing changes nothing
    report.listed = len(listed)
    failed_files = source.failed_files() if hasattr(source, "failed_files") else {}

    # Entries to keep regardless of the listing: embedded subflows whose parent is still listed, and items whose
    # file could not be read this time (their key is unknown until it can).
    def protected(item_id: str, entry: dict) -> str | None:
        if entry.get("parent") and entry["parent"] in listed:
            return "embedded"
        where = str((entry.get("stamp") or {}).get("file") or "")
        for bad, why in failed_files.items():
            if where and (where == bad or where.startswith(bad + "!")):
                return why
        return None

    final: dict[str, dict] = {}
    slugs = SlugMap({i: e["slug"] for i, e in prev.items() if isinstance(e.get("slug"), str)},
                    lower=getattr(source, "lower_slugs", True))
    removed_ids = []
    for item_id, entry in prev.items():
        if item_id in listed:
            continue
        why = protected(item_id, entry)
        if why is None:
            removed_ids.append(item_id)
            slugs.release(item_id)
        else:
            final[item_id] = entry
            if why != "embedded":
                report.failed.append(Failure(root, entry.get("name", item_id), item_id, why))
    for bad, why in failed_files.items():
        if not any(str((e.get("stamp") or {}).get("file", "")).split("!")[0] == bad for e in prev.values()):
            report.failed.append(Failure(root, bad, "", why))
    slugs.assign_all((i, it.slug_name) for i, it in listed.items())

    present = set(vault.list_files(f"{root}/{kind}"))  # one listing, not a path check per file (~10 ms / 300)
    todo = [it for i, it in sorted(listed.items()) if full or is_stale(present, prev.get(i), it, root, kind, nested)]
    damaged = _verify_kept(vault, root, kind, nested, prev, listed, {it.id for it in todo}, final)
    todo += [listed[i] for i in sorted(damaged)]
    todo_ids = {it.id for it in todo}
    for item_id in listed:
        if item_id in prev and item_id not in todo_ids:
            final[item_id] = prev[item_id]
    report.unchanged = len(listed) - len(todo)
    failed_ids: set[str] = set()

    settled = source.settled  # files the source may keep as stored (Source.settle)

    lock = threading.Lock()  # guards slugs, final and failed_ids: workers store side by side

    def write_files(entry: Entry, slug: str) -> dict:
        """Write one flow's (or workflow's) files; its index.json record."""
        paths = item_paths(root, kind, nested, slug, entry.files)
        # e.g. DaVinci: a rewrite by the service alone keeps the stored flow.json (never a damaged one)
        if entry.id in prev and entry.id not in damaged and entry.parent not in damaged:
            for fname in settled:
                if fname in entry.files:
                    entry.files[fname] = source.settle(fname, vault.read(paths[fname]), entry.files[fname])
        for fname, data in entry.files.items():
            vault.write(paths[fname], data)
        old = prev.get(entry.id) or {}
        if old.get("slug") == slug:  # a file the item no longer has (e.g. a BPMN file removed from workflow_dir)
            for fname, path in item_paths(root, kind, nested, slug, old.get("files") or {}).items():
                if fname not in entry.files:
                    vault.remove(path)
        record = {"name": entry.name, "slug": slug, "stamp": entry.stamp or {},
                  "files": {f: content_hash(d) for f, d in sorted(entry.files.items())}}
        if entry.parent:
            record["parent"] = entry.parent
        return record

    def export_and_store(item) -> Exception | None:
        """Export `item` and write its files, on the worker that exported it, so that files are on disk as soon as
        their export arrives (one collecting thread fell 0.35 s behind 16 exports: issue 8). Returns the error of
        an export that failed; a write that fails raises, and fails the source (a full disk is not one item's)."""
        if stop is not None and stop.is_set():
            raise Stopped
        try:
            entries = source.export(item)
        except Exception as e:  # noqa: BLE001 - any failure of one item: keep its previous copy
            return e
        store(entries)
        return None

    def store(entries) -> None:
        for entry in entries:
            with lock:
                if entry.parent and entry.id in listed:
                    continue  # a listed subflow is stored from its own export, once
                if entry.parent and entry.id in final and not final[entry.id].get("parent"):
                    continue
                slug = slugs.assign(entry.id, entry.name)
            record = write_files(entry, slug)
            with lock:
                final[entry.id] = record

    if series is not None and todo:
        # Saved versions first, each its own commit; the flows they cover are not exported again below.
        def start_workers(exports: int) -> None:
            if exports >= WORKERS_FROM and workers is not None:
                workers.start()

        versions_doc = {"format": FORMAT, "source": root, "type": report.type, "redaction": redaction,
                        kind: dict(prev), "extras": dict(index_doc.get("extras") or {})}
        done = record_versions(Phase(vault, source, series, report, kind, listed, prev, slugs, lock, final,
                                     failed_ids, versions_doc, store, history=history, jobs=jobs, ui=ui, stop=stop,
                                     start_workers=start_workers), todo)
        todo = [item for item in todo if item.id not in done]
    if len(todo) >= WORKERS_FROM and workers is not None:
        workers.start()  # their ~0.1 s start-up pays off from a few dozen exports; a nightly run with few has none

    with ui.progress(root, total=len(todo)) as task:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix=root) as pool:
            futures = {pool.submit(export_and_store, item): item for item in todo}
            try:
                for future in concurrent.futures.as_completed(futures):
                    item = futures[future]
                    error = future.result()
                    if error is not None:
                        reason = first_line(error)
                        report.failed.append(Failure(root, item.name, item.id, reason))
                        with lock:
                            failed_ids.add(item.id)
                            if item.id in prev:
                                final[item.id] = prev[item.id]
                        task.advance(f"FAILED {item.name}")
                        continue
                    report.exported += 1
                    task.advance(item.name)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    for item_id, paths in sorted(damaged.items()):
        how = "could not be re-exported (see below); left out of the commit" if item_id in failed_ids else \
            "restored from the service"
        for path in paths:
            ui.info(f"snapshots/{path}: damaged on disk, {how}")
    for item_id in removed_ids:
        entry = prev[item_id]
        for path in item_paths(root, kind, nested, entry["slug"], entry.get("files") or {}).values():
            vault.remove(path)
        if nested:
            vault.remove(f"{root}/{kind}/{entry['slug']}")
        report.removed.append(entry.get("name", item_id))
    remove_orphans(vault, root, kind, nested, final, {slugs.get(i) for i in failed_ids} - {None})

    extras = dict(index_doc.get("extras") or {})
    for fname, data in extras_future.result():
        if isinstance(data, BaseException):
            reason = first_line(data)
            report.failed.append(Failure(root, fname, "", reason))
            continue
        vault.write(f"{root}/{fname}", data)
        extras[fname] = content_hash(data)

    doc = {"format": FORMAT, "source": root, "type": report.type, "redaction": redaction,
           kind: dict(sorted(final.items())), "extras": dict(sorted(extras.items()))}
    vault.write(f"{root}/{INDEX}", dumpb(doc))  # last: a run killed before this re-exports what it had started
    # the source's summary line is the command's output (stdout), said once (issue 19): not repeated here
    report.failed.sort(key=lambda f: (f.name, f.id))
    report.removed.sort()


